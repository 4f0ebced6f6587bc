"""The new-request form, its as-you-type suggestions, and 'this solved my problem'."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import SelectChoice

from articles.lifecycle import may_read
from articles.models import Article, ArticleState, Category
from articles.service import categories_to_choose, learn_phrasing
from portal.auth.models import User
from portal.db import get_session
from portal.i18n import locale_code
from portal.intake.models import Deflection
from portal.kb.queries import suggest_articles
from portal.kb.views import MAX_QUERY_CHARS, is_staff
from portal.security import limiter
from portal.tickets.forms import RequestForm
from portal.tickets.service import Intake, open_ticket

bp = Blueprint("intake", __name__)


def _suggest_limit() -> str:
    return str(current_app.config["SUGGEST_RATE_LIMIT"])


def _user_key() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else request.remote_addr or ""


def request_form() -> RequestForm:
    """Return the request form with the category choices in the UI language."""
    form = RequestForm()
    locale = locale_code()
    form.category.choices = [SelectChoice("", _("Not sure"))] + [
        SelectChoice(c.slug, c.name(locale)) for c in categories_to_choose(get_session())
    ]
    if request.method == "GET" and not form.contact.data:
        form.contact.data = current_user.email or current_user.phone
    return form


def _local_time(value: datetime | None) -> datetime | None:
    """Read a date-time typed without a zone in the portal's time zone."""
    if value is None:
        return None
    zone = get_timezone()  # a pytz zone: localize, never replace (that gives its LMT offset)
    return zone.localize(value) if zone is not None else value.replace(tzinfo=UTC)


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def new_request() -> ResponseReturnValue:
    """Type a request, see matching articles; submit only if none of them helps."""
    form = request_form()
    if request.method == "GET" and request.args.get("q"):
        form.subject.data = request.args["q"][:200]
    if form.validate_on_submit():
        db = get_session()
        category = db.scalar(select(Category).where(Category.slug == form.category.data))
        requester = db.get(User, current_user.id)
        assert requester is not None
        ticket = open_ticket(
            db,
            Intake(
                subject=form.subject.data,
                symptom=form.symptom.data,
                started=form.started.data or "",
                started_at=_local_time(form.started_at.data),
                impact=form.impact.data,
                urgency=form.urgency.data,
                core_system_down=form.core_system_down.data,
                contact=form.contact.data,
                category_id=category.id if category else None,
            ),
            requester,
        )
        db.commit()
        flash(
            _("Your request is ticket #%(id)s. We will keep you informed here.", id=ticket.id),
            "info",
        )
        return redirect(url_for("tickets.show", ticket_id=ticket.id))
    status = 422 if form.is_submitted() else 200
    return render_template("intake/new.html", form=form), status


@bp.get("/requests/suggest")
@login_required
@limiter.limit(_suggest_limit, key_func=_user_key)
def suggest() -> ResponseReturnValue:
    """The suggestion list for what the user has typed so far (an htmx fragment)."""
    text = (request.args.get("q") or request.args.get("subject") or "")[:MAX_QUERY_CHARS]
    found = suggest_articles(get_session(), text, is_staff())
    return render_template("intake/suggestions.html", found=found, query=text)


@bp.post("/requests/solved")
@login_required
def solved() -> ResponseReturnValue:
    """Record a deflection: the article solved the problem, no ticket is opened."""
    raw = request.form.get("article_id", "")
    if not raw.isdigit():
        abort(400, description=_("Which article solved it? The article is missing."))
    db = get_session()
    article = db.get(Article, int(raw))
    if (
        article is None
        or article.state is not ArticleState.PUBLISHED
        or not may_read(article.state, article.visibility, is_staff())
    ):
        abort(404)
    db.add(
        Deflection(
            user_id=current_user.id,
            article_id=article.id,
            query=request.form.get("q", "")[:MAX_QUERY_CHARS],
        )
    )
    article.helpful_count += 1
    user = db.get(User, current_user.id)
    names = user.identifiers() if user else []
    learn_phrasing(db, article, request.form.get("q", ""), "deflection", names)
    db.commit()
    flash(_("Glad that helped — no ticket was needed."), "info")
    return redirect(url_for("kb.article", article_id=article.id, solved=1))
