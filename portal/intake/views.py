"""The new-request form, its as-you-type suggestions, and 'this solved my problem'."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_timezone
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from wtforms import SelectChoice

from articles.feedback import record_deflection
from articles.lifecycle import may_read
from articles.models import Article, ArticleState, Category
from articles.service import categories_to_choose, learn_phrasing
from portal.auth import role_required
from portal.auth.contacts import create_contact, exact_people, people_like
from portal.auth.models import Role, User
from portal.db import get_session
from portal.i18n import locale_code
from portal.intake.forms import CallForm
from portal.intake.models import Deflection
from portal.kb.queries import suggest_articles
from portal.kb.views import MAX_QUERY_CHARS, is_staff
from portal.security import limiter
from portal.tickets.attachment_views import (
    accept_attribute,
    megabytes,
    read_uploads,
    refusal_message,
    rules_of,
    status_for,
    store_of,
)
from portal.tickets.attachments import AttachmentRefused, Upload, attach, check_all
from portal.tickets.forms import RequestForm
from portal.tickets.models import Channel, Ticket
from portal.tickets.service import Intake, open_ticket, record_resolution
from portal.tickets.workflow import TransitionRefused

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


def _intake(form: RequestForm, channel: Channel, contact: str) -> Intake:
    category = get_session().scalar(select(Category).where(Category.slug == form.category.data))
    return Intake(
        subject=form.subject.data,
        symptom=form.symptom.data,
        started=form.started.data or "",
        started_at=_local_time(form.started_at.data),
        impact=form.impact.data,
        urgency=form.urgency.data,
        core_system_down=form.core_system_down.data,
        contact=contact,
        category_id=category.id if category else None,
        channel=channel,
    )


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
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        uploads, refused = _uploads(form)
        if refused is None:
            db = get_session()
            requester = db.get(User, current_user.id)
            assert requester is not None
            ticket = open_ticket(db, _intake(form, Channel.WEB, form.contact.data), requester)
            _attach(ticket, requester, uploads)
            db.commit()
            flash(
                _("Your request is ticket #%(id)s. We will keep you informed here.", id=ticket.id),
                "info",
            )
            return redirect(url_for("tickets.show", ticket_id=ticket.id))
        status = refused
    return render_template("intake/new.html", form=form, **_upload_hints()), status


def _uploads(form: RequestForm) -> tuple[list[Upload], int | None]:
    """Return the form's files, checked, and None; or no files and the status code (413,
    422) with the reason on the file field, the rest of the form as it was typed."""
    rules = rules_of(current_app)
    try:
        uploads = read_uploads(form.files.data, rules)
        check_all(uploads, rules)
    except AttachmentRefused as refused:
        form.files.errors = [refusal_message(refused), _("Choose the files again.")]
        return [], status_for(refused)
    return uploads, None


def _attach(ticket: Ticket, uploader: User, uploads: list[Upload]) -> None:
    """Store the request's files with its 'created' event."""
    if uploads:
        attach(
            get_session(),
            store_of(current_app),
            ticket,
            ticket.events[0],
            uploader,
            uploads,
            rules_of(current_app),
        )


def _upload_hints() -> dict[str, object]:
    rules = rules_of(current_app)
    return {
        "accept": accept_attribute(rules),
        "max_files": rules.max_files,
        "max_megabytes": megabytes(rules.max_bytes),
        "max_bytes": rules.max_bytes,
    }


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
    record_deflection(article)
    user = db.get(User, current_user.id)
    names = user.identifiers() if user else []
    learn_phrasing(db, article, request.form.get("q", ""), "deflection", names)
    db.commit()
    flash(_("Glad that helped — no ticket was needed."), "info")
    return redirect(url_for("kb.article", article_id=article.id, solved=1))


def _caller(form: CallForm) -> tuple[User | None, list[User]]:
    """Return the caller the form names (or None) and the accounts to choose from."""
    db = get_session()
    if form.caller_id.data and form.caller_id.data.isdigit():
        chosen = db.get(User, int(form.caller_id.data))
        if chosen is not None and chosen.active:
            return chosen, []
    if form.create_caller.data:
        name = (form.new_name.data or "").strip() or form.caller.data.strip()
        email = (form.new_email.data or "").strip().lower()
        taken = (
            list(db.scalars(select(User).where(func.lower(User.email) == email))) if email else []
        )
        if taken:
            form.new_email.errors = [_("This address already belongs to someone listed.")]
            return None, taken
        return create_contact(db, name[:120], email, (form.new_phone.data or "").strip()), []
    exact = exact_people(db, form.caller.data)
    if len(exact) == 1:
        return exact[0], []
    matches = exact or people_like(db, form.caller.data)
    if matches:
        form.caller_id.errors = [_("Choose the caller from the people who match.")]
    else:
        form.caller.errors = [_("Nobody matches; check the spelling or add a new contact.")]
        typed = form.caller.data.strip()
        field = form.new_email if "@" in typed else form.new_name
        field.data = field.data or typed
    return None, matches


@bp.route("/tickets/call", methods=["GET", "POST"])
@role_required(Role.TECHNICIAN)
def record_call() -> ResponseReturnValue:
    """Record a phone call: find or add the caller, capture the request, open the ticket."""
    form = CallForm()
    form.category.choices = [SelectChoice("", _("Not sure"))] + [
        SelectChoice(c.slug, c.name(locale_code())) for c in categories_to_choose(get_session())
    ]
    candidates: list[User] = []
    status = 422 if form.is_submitted() else 200
    if form.validate_on_submit():
        solved = bool(form.solved_on_call.data)
        diagnosis, solution = (form.diagnosis.data or "").strip(), (form.solution.data or "")
        uploads, refused = _uploads(form)
        if refused is not None:
            status = refused
        elif solved and not (diagnosis and solution.strip()):
            form.solution.errors = [
                _("A call solved on the spot needs a diagnosis and a solution.")
            ]
        else:
            caller, candidates = _caller(form)
            if caller is not None:
                db = get_session()
                me = db.get(User, current_user.id)
                assert me is not None
                contact = (form.contact.data or "").strip() or caller.phone or caller.email
                ticket = open_ticket(db, _intake(form, Channel.PHONE, contact), caller, me)
                _attach(ticket, me, uploads)
                if solved:
                    try:
                        record_resolution(ticket, me, diagnosis, "", solution)
                    except TransitionRefused as exc:
                        abort(422, description=str(exc.message))
                db.commit()
                flash(
                    _(
                        "Call recorded as ticket #%(id)s for %(name)s.",
                        id=ticket.id,
                        name=caller.display_name,
                    ),
                    "info",
                )
                return redirect(url_for("tickets.show", ticket_id=ticket.id))
    form.caller_id.choices = [SelectChoice(str(u.id), _label(u)) for u in candidates]
    return render_template(
        "intake/call.html", form=form, candidates=candidates, **_upload_hints()
    ), status


def _label(user: User) -> str:
    details = " · ".join(v for v in (user.username, user.email, user.phone) if v)
    return f"{user.display_name} ({details})"
