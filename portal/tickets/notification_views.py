"""The reader's notifications: the in-app list, opening one, and which mails they get."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.auth.models import User
from portal.db import get_session
from portal.tickets.notifications import (
    ARTICLE_KINDS,
    REQUESTER_KINDS,
    REQUIRED,
    STAFF_KINDS,
    Kind,
    Notification,
    latest,
    mark_read,
    unread_count,
)

bp = Blueprint("notifications", __name__)


def _me() -> User:
    user = get_session().get(User, current_user.id)
    assert user is not None
    return user


def kinds_for(user: User) -> list[Kind]:
    """Return the notification kinds ``user`` can receive (staff get both sets)."""
    return list(REQUESTER_KINDS) + (
        list(STAFF_KINDS) + list(ARTICLE_KINDS) if user.is_staff else []
    )


@bp.get("/notifications")
@login_required
def inbox() -> ResponseReturnValue:
    """The reader's latest notifications, unread first marked."""
    return render_template("notifications/inbox.html", notifications=latest(get_session(), _me()))


@bp.get("/notifications/<int:notification_id>")
@login_required
def open_one(notification_id: int) -> ResponseReturnValue:
    """Mark one notification read and go to its ticket, or to the review queue for an
    article's (404 for someone else's)."""
    db = get_session()
    notification = db.get(Notification, notification_id)
    if notification is None or notification.user_id != current_user.id:
        abort(404)
    mark_read(db, _me(), [notification.id])
    db.commit()
    if notification.ticket_id is None:
        return redirect(url_for("staleness.queue", _anchor=f"article-{notification.article_id}"))
    return redirect(url_for("tickets.show", ticket_id=notification.ticket_id))


@bp.post("/notifications/read")
@login_required
def read_all() -> ResponseReturnValue:
    """Mark all of the reader's notifications read."""
    db = get_session()
    mark_read(db, _me())
    db.commit()
    return redirect(url_for("notifications.inbox"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@login_required
def mail_settings() -> ResponseReturnValue:
    """Which optional notifications the reader also gets by mail."""
    me = _me()
    kinds = kinds_for(me)
    if request.method == "POST":
        known = {k.value for k in kinds}
        wanted = set(request.form.getlist("mail"))
        if not wanted <= known:
            abort(422, description=_("That choice does not exist; reload the page."))
        me.mail_off = sorted(k.value for k in kinds if k not in REQUIRED and k.value not in wanted)
        get_session().commit()
        flash(_("Your mail choices are saved."), "info")
        return redirect(url_for("notifications.mail_settings"))
    return render_template(
        "notifications/settings.html",
        kinds=kinds,
        required=REQUIRED,
        off=set(me.mail_off or []),
        has_address=bool(me.email),
    )


def unread_for_nav() -> int:
    """Return the signed-in reader's unread count for the navigation (0 if unreadable)."""
    if not current_user.is_authenticated:
        return 0
    try:
        return unread_count(get_session(), current_user)
    except Exception:
        return 0


@bp.app_context_processor
def _nav() -> dict[str, Any]:
    return {"unread_notifications": unread_for_nav}
