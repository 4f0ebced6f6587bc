"""Keeping articles correct: readers flag an article, owners and admins work the queue of
articles due for a check, confirm them or hand them to another owner."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select
from wtforms import RadioField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from articles.lifecycle import may_read
from articles.models import Article, ArticleState, utcnow
from articles.staleness import (
    MAX_FLAG_COMMENT,
    ArticleCheck,
    CheckKind,
    InvalidCheck,
    change_owner,
    confirm_correct,
    flag_article,
    history,
    open_flags,
    review_due,
    review_queue,
)
from portal.admin.settings import review_periods
from portal.auth import role_required
from portal.auth.models import Role, User
from portal.db import get_session
from portal.forms import StrictForm
from portal.jobs import jobs_of
from portal.tickets.notifications import MailStatus, notify_article_flagged
from portal.tickets.routing import active_staff

bp = Blueprint("staleness", __name__)


class FlagForm(StrictForm):
    """A reader says an article is outdated or wrong, and what."""

    kind = RadioField(
        _l("This article is"),
        choices=[
            SelectChoice(CheckKind.OUTDATED.value, _l("outdated")),
            SelectChoice(CheckKind.WRONG.value, _l("wrong")),
        ],
        validators=[DataRequired()],
    )
    comment = TextAreaField(
        _l("What is outdated or wrong?"),
        validators=[DataRequired(), Length(max=MAX_FLAG_COMMENT)],
    )


class ConfirmForm(StrictForm):
    """The owner or an admin checked the article: still correct."""

    comment = TextAreaField(
        _l("Note (optional)"), validators=[Optional(), Length(max=MAX_FLAG_COMMENT)]
    )


class OwnerForm(StrictForm):
    """An admin, or the article's owner, hands it to another technician or admin."""

    owner = SelectField(_l("Owner"), validators=[DataRequired()])


def _article(article_id: int) -> Article:
    found = get_session().get(Article, article_id)
    if found is None or found.state is not ArticleState.PUBLISHED:
        abort(404)
    return found


def _owner_choices(form: OwnerForm) -> None:
    form.owner.choices = [
        SelectChoice(str(u.id), f"{u.display_name} ({u.username})")
        for u in active_staff(get_session())
    ]


def _back(article: Article) -> ResponseReturnValue:
    target = request.form.get("next", "")
    if target == "queue":
        return redirect(url_for("staleness.queue", _anchor=f"article-{article.id}"))
    return redirect(url_for("kb.article", article_id=article.id, _anchor="staleness"))


@bp.post("/articles/<int:article_id>/flag")
@login_required
def flag(article_id: int) -> ResponseReturnValue:
    """Flag a published article as outdated or wrong; its owner hears of it at once."""
    article = _article(article_id)
    if not may_read(article.state, article.visibility, current_user.is_staff):
        abort(404)
    form = FlagForm()
    if not form.validate_on_submit():
        abort(
            422,
            description=_(
                "Choose outdated or wrong and say what, in up to %(n)s characters.",
                n=MAX_FLAG_COMMENT,
            ),
        )
    db = get_session()
    reader = db.get(User, current_user.id)
    assert reader is not None
    try:
        check = flag_article(
            db, article, reader.id, CheckKind(form.kind.data), form.comment.data or ""
        )
    except InvalidCheck as exc:
        db.rollback()
        abort(422, description=str(exc))
    notice = notify_article_flagged(db, article, reader, check)
    db.commit()
    if notice is not None and notice.mail_status is MailStatus.PENDING:
        jobs_of(current_app).poke_mail()  # the minutely job would send it anyway
    flash(_("Thank you: the article's owner will check it."), "info")
    return redirect(url_for("kb.article", article_id=article.id, _anchor="staleness"))


def _may_confirm(article: Article) -> bool:
    return current_user.has_role(Role.ADMIN) or article.owner_id == current_user.id


@bp.post("/articles/<int:article_id>/confirm")
@role_required(Role.TECHNICIAN)
def confirm(article_id: int) -> ResponseReturnValue:
    """The owner or an admin confirms the article is still correct: its flags close and
    its review date moves a review period on."""
    article = _article(article_id)
    if not _may_confirm(article):
        abort(403, description=_("Only the article's owner or an admin can confirm it."))
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(422, description=_("A note may have %(n)s characters.", n=MAX_FLAG_COMMENT))
    db = get_session()
    periods = review_periods(db)
    confirm_correct(db, article, current_user.id, periods, utcnow(), form.comment.data or "")
    db.commit()
    flash(
        _("Confirmed as still correct; next check by %(date)s.", date=article.review_by.date()),
        "info",
    )
    return _back(article)


def _may_change_owner(article: Article) -> bool:
    return current_user.has_role(Role.ADMIN) or article.owner_id == current_user.id


@bp.post("/articles/<int:article_id>/owner")
@role_required(Role.TECHNICIAN)
def set_owner(article_id: int) -> ResponseReturnValue:
    """An admin, or the owner, hands the article to another technician or admin (recorded)."""
    article = _article(article_id)
    if not _may_change_owner(article):
        abort(403, description=_("Only the article's owner or an admin can hand it over."))
    form = OwnerForm()
    _owner_choices(form)
    if not form.validate_on_submit():
        abort(422, description=_("Choose an active technician or admin as the owner."))
    db = get_session()
    owner = db.get(User, int(form.owner.data))
    assert owner is not None  # the choices are active staff
    if change_owner(db, article, owner.id, current_user.id) is not None:
        db.commit()
        flash(_("%(name)s now owns this article.", name=owner.display_name), "info")
    return _back(article)


@bp.get("/review-queue")
@role_required(Role.TECHNICIAN)
def queue() -> ResponseReturnValue:
    """Published articles due for a check or flagged by a reader: the reader's own, or for
    admins everyone's (``?who=all``, their default)."""
    admin = current_user.has_role(Role.ADMIN)
    who = request.args.get("who", "all" if admin else "mine")
    if who not in ("mine", "all"):
        abort(400, description=_("Show mine or all."))
    if who == "all" and not admin:
        abort(403)
    db = get_session()
    entries = review_queue(
        db, review_periods(db), utcnow(), owner_id=None if who == "all" else current_user.id
    )
    owner_form = OwnerForm(formdata=None)
    _owner_choices(owner_form)
    owners = {u.id: u for u in active_staff(db)}
    return render_template(
        "staleness/queue.html",
        entries=entries,
        who=who,
        admin=admin,
        owners=owners,
        owner_form=owner_form,
        confirm_form=ConfirmForm(formdata=None),
        may_confirm=_may_confirm,
    )


def staleness_of(article: Article) -> dict[str, Any]:
    """What the article page shows about the article's correctness: owner, due date,
    open flags, the latest checks, and the forms."""
    db = get_session()
    due = review_due(article, review_periods(db))
    owner = db.get(User, article.owner_id) if article.owner_id is not None else None
    checks = history(db, article.id, limit=5)
    staff_view = current_user.is_authenticated and current_user.is_staff
    owner_form = OwnerForm(formdata=None)
    if staff_view and _may_change_owner(article):
        _owner_choices(owner_form)
        owner_form.owner.data = str(article.owner_id or "")
    return {
        "owner": owner,
        "due": due,
        "overdue": due is not None and due <= utcnow(),
        "flags": open_flags(db, [article.id]).get(article.id, []),
        "checks": checks,
        "owner_changes": _owner_changes(checks),
        "flag_form": FlagForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None),
        "may_confirm": staff_view and _may_confirm(article),
        "owner_form": owner_form,
        "may_change_owner": staff_view and _may_change_owner(article),
    }


def _owner_changes(checks: list[ArticleCheck]) -> list[dict[str, Any]]:
    """The owner changes among ``checks``, each with the people it names (None: gone)."""
    changes = [c for c in checks if c.kind is CheckKind.OWNER_CHANGED]
    ids = {i for c in changes for i in (c.actor_id, c.old_value, c.new_value) if type(i) is int}
    people = {u.id: u for u in get_session().scalars(select(User).where(User.id.in_(ids)))}
    return [
        {
            "when": c.created_at,
            "by": people.get(c.actor_id) if c.actor_id is not None else None,
            "old": people.get(c.old_value) if type(c.old_value) is int else None,
            "new": people.get(c.new_value) if type(c.new_value) is int else None,
        }
        for c in changes
    ]


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"staleness_of": staleness_of}
