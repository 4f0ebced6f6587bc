"""Who hears about what happened to a ticket: one notification per person and occasion.

Notifications are planned from the ticket events a transaction adds, in the same
transaction, so none is lost and none is sent for work that rolled back. Each one shows
in the recipient's in-app list; those the recipient gets by mail wait in the table until
the mail job sends them (``portal.tickets.mail_out``). Internal notes never notify a
requester, and no one is told of their own action, except the requester's receipt.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, func, insert, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from articles.models import Article, Base, UTCDateTime, text_enum, utcnow
from articles.staleness import ArticleCheck
from portal.auth.models import Role, User
from portal.tickets.models import EventKind, Status, SupportGroup, Ticket, TicketEvent


class Kind(enum.StrEnum):
    """What a notification tells its recipient."""

    # To the requester.
    RECEIVED = "received"  # with the ticket number and the targets
    REPLY = "reply"  # a public reply from the desk
    WAITING = "waiting"  # the desk asks something and waits
    RESOLVED = "resolved"  # please confirm the fix
    REMINDER = "reminder"  # still waiting for that confirmation
    CLOSED = "closed"  # with the rating link
    # To staff.
    NEW_IN_GROUP = "new_in_group"
    ASSIGNED = "assigned"
    USER_REPLIED = "user_replied"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    # To an article's owner: a reader flagged it as outdated or wrong.
    ARTICLE_FLAGGED = "article_flagged"


REQUESTER_KINDS = (
    Kind.RECEIVED,
    Kind.REPLY,
    Kind.WAITING,
    Kind.RESOLVED,
    Kind.REMINDER,
    Kind.CLOSED,
)
STAFF_KINDS = (
    Kind.NEW_IN_GROUP,
    Kind.ASSIGNED,
    Kind.USER_REPLIED,
    Kind.SLA_WARNING,
    Kind.SLA_BREACH,
)
# About an article rather than a ticket (to its owner, who is staff).
ARTICLE_KINDS = (Kind.ARTICLE_FLAGGED,)
# Mails that ask the requester to act cannot be switched off; the others can.
REQUIRED = frozenset({Kind.WAITING, Kind.RESOLVED, Kind.REMINDER})
# When one transaction gives a person several reasons to hear about one ticket, the
# first of these is the one they get.
PRECEDENCE = (
    Kind.SLA_BREACH,
    Kind.SLA_WARNING,
    Kind.WAITING,
    Kind.RESOLVED,
    Kind.CLOSED,
    Kind.REMINDER,
    Kind.REPLY,
    Kind.USER_REPLIED,
    Kind.ASSIGNED,
    Kind.NEW_IN_GROUP,
    Kind.RECEIVED,
)
# Priorities whose service-level warnings and breaches also go to every admin.
ADMIN_PRIORITIES = frozenset({"P1", "P2"})


class MailStatus(enum.StrEnum):
    """Where a notification's mail is."""

    NONE = "none"  # in-app only: no address, switched off, or an inactive account
    PENDING = "pending"  # waiting for the mail job (``next_attempt_at``)
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt; admins see it


class Notification(Base):
    """One thing one person is told about one ticket (or article), in the app and perhaps
    by mail."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_mail_due", "mail_status", "next_attempt_at"),
        Index("ix_notifications_user_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # A ticket's notification names the ticket; an article's (ARTICLE_FLAGGED) the article.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    # The event that caused it (its time and, for replies, its text).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_events.id"))
    # An article's: the reader's flag it tells of (its kind and comment).
    check_id: Mapped[int | None] = mapped_column(
        ForeignKey("article_checks.id", ondelete="CASCADE")
    )
    kind: Mapped[Kind] = mapped_column(text_enum(Kind))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mail_status: Mapped[MailStatus] = mapped_column(text_enum(MailStatus), default=MailStatus.NONE)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str] = mapped_column(String(250), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
    article: Mapped[Article | None] = relationship()
    event: Mapped[TicketEvent | None] = relationship()
    check: Mapped[ArticleCheck | None] = relationship()


def wants_mail(user: User, kind: Kind) -> bool:
    """Return whether ``user`` gets ``kind`` by mail (an address, active, not switched off)."""
    if not user.active or not user.email:
        return False
    return kind in REQUIRED or kind.value not in (user.mail_off or [])


def group_staff(group: SupportGroup | None) -> list[User]:
    """Return the group's active staff members."""
    if group is None:
        return []
    return [member for member in group.members if member.active and member.is_staff]


def active_admins(session: Session) -> list[User]:
    """Return the active admins, by id."""
    query = select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    return list(session.scalars(query))


def _staff_on(ticket: Ticket) -> list[User]:
    """The assignee, or the whole group while no one is assigned."""
    if ticket.assignee is not None:
        return [ticket.assignee]
    return group_staff(ticket.group)


ALERTS = {EventKind.SLA_WARNING: Kind.SLA_WARNING, EventKind.SLA_BREACH: Kind.SLA_BREACH}


def alert_recipients(
    assignee: User | None,
    members: list[User],
    priority: str,
    admins: Callable[[], list[User]],
) -> list[User]:
    """Return who hears of a service-level warning or breach: the assignee and the whole
    group (its active staff, ``members``), each once, and for P1/P2 every admin."""
    staff = [assignee] if assignee is not None else []
    staff += [m for m in members if m is not assignee]
    if priority in ADMIN_PRIORITIES:
        staff += admins()
    return staff


def recipients(
    session: Session, event: TicketEvent, admins: Callable[[], list[User]] | None = None
) -> list[tuple[User, Kind]]:
    """Return who hears about ``event``, and as what (the actor is left out later);
    ``admins`` returns the active admins (read once per plan, not once per event)."""
    if (event.detail or {}).get("imported"):
        return []  # history loaded from another desk: it all happened long ago
    ticket = event.ticket
    kind = event.kind
    if kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACH):
        staff = alert_recipients(
            ticket.assignee,
            group_staff(ticket.group),
            ticket.priority,
            admins or partial(active_admins, session),
        )
        return [(user, ALERTS[kind]) for user in staff]
    requester = ticket.requester
    by_requester = event.actor_id is not None and event.actor_user is requester
    if kind is EventKind.CREATED:
        return [(requester, Kind.RECEIVED)]
    if kind is EventKind.FIELD_CHANGED and event.field == "group" and event.new_value is not None:
        return [(member, Kind.NEW_IN_GROUP) for member in group_staff(ticket.group)]
    if kind is EventKind.FIELD_CHANGED and event.field == "assignee" and ticket.assignee:
        return [(ticket.assignee, Kind.ASSIGNED)]
    if kind is EventKind.REPLY:
        if by_requester:
            return [(user, Kind.USER_REPLIED) for user in _staff_on(ticket)]
        return [(requester, Kind.REPLY)]
    if kind is EventKind.USER_REOPENED:
        return [(user, Kind.USER_REPLIED) for user in _staff_on(ticket)]
    if kind is EventKind.REMINDER_SENT:
        return [(requester, Kind.REMINDER)]
    if event.field == "status" and not event.internal:
        told_as = {
            Status.WAITING.value: Kind.WAITING,
            Status.RESOLVED.value: Kind.RESOLVED,
            Status.CLOSED.value: Kind.CLOSED,
        }.get(event.new_value)
        if told_as is not None:
            return [(requester, told_as)]
    return []


def plan(session: Session, events: Iterable[TicketEvent]) -> int:
    """Write the notifications that ``events`` (flushed, so they have ids) call for: per
    person and ticket, the one that matters most; none to the person who acted, except
    the requester's receipt. Return how many wait for the mail job.

    They are inserted in one statement: a sweep's alerts call for thousands."""
    admins: list[User] | None = None

    def admins_once() -> list[User]:
        nonlocal admins
        if admins is None:
            admins = active_admins(session)
        return admins

    rank = {kind: position for position, kind in enumerate(PRECEDENCE)}
    chosen: dict[tuple[int, int], tuple[Kind, User, TicketEvent]] = {}
    with session.no_autoflush:
        for happened in events:
            for user, kind in recipients(session, happened, admins_once):
                if user.id == happened.actor_id and kind is not Kind.RECEIVED:
                    continue
                if kind in REQUESTER_KINDS and user is not happened.ticket.requester:
                    continue
                key = (user.id, happened.ticket_id)
                held = chosen.get(key)
                if held is None or rank[kind] < rank[held[0]]:
                    chosen[key] = (kind, user, happened)
    now = utcnow()
    return write(
        session,
        [notification_row(user, kind, e.ticket_id, e.id, now) for kind, user, e in chosen.values()],
    )


def notification_row(
    user: User,
    kind: Kind,
    ticket_id: int,
    event_id: int,
    now: datetime,
    mail: bool | None = None,
) -> dict[str, Any]:
    """Return the ``notifications`` row telling ``user`` of an event as ``kind``
    (``mail``: whether it goes by mail too, when the caller already knows)."""
    if mail is None:
        mail = wants_mail(user, kind)
    return {
        "user_id": user.id,
        "ticket_id": ticket_id,
        "event_id": event_id,
        "kind": kind,
        "created_at": now,
        "read_at": None,
        "mail_status": MailStatus.PENDING if mail else MailStatus.NONE,
        "attempts": 0,
        "next_attempt_at": now if mail else None,
        "last_error": "",
        "message_id": "",
        "sent_at": None,
    }


def write(session: Session, rows: list[dict[str, Any]]) -> int:
    """Insert notification rows in one statement; return how many wait for the mail job."""
    if not rows:
        return 0
    session.execute(insert(Notification.__table__), rows)
    return sum(row["mail_status"] is MailStatus.PENDING for row in rows)


def notify_article_flagged(
    session: Session, article: Article, reader: User, check: ArticleCheck
) -> Notification | None:
    """Tell the article's owner that a reader flagged it (``check``): in the app, and by
    mail unless they switched it off; None without an active owner or when the owner
    flagged it themselves. The mail job sends it like a ticket's."""
    owner = session.get(User, article.owner_id) if article.owner_id is not None else None
    if owner is None or not owner.active or owner.id == reader.id:
        return None
    now = utcnow()
    mail = wants_mail(owner, Kind.ARTICLE_FLAGGED)
    notification = Notification(
        user=owner,
        article_id=article.id,
        check_id=check.id,
        kind=Kind.ARTICLE_FLAGGED,
        created_at=now,
        mail_status=MailStatus.PENDING if mail else MailStatus.NONE,
        next_attempt_at=now if mail else None,
    )
    session.add(notification)
    return notification


def unread_count(session: Session, user: User) -> int:
    """Return how many of ``user``'s notifications are unread."""
    query = select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    return int(session.scalar(query) or 0)


def latest(session: Session, user: User, limit: int = 50) -> list[Notification]:
    """Return ``user``'s latest notifications, newest first."""
    query = (
        select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def mark_read(session: Session, user: User, ids: Iterable[int] | None = None) -> int:
    """Mark ``user``'s notifications (all, or those of ``ids``) read; return how many."""
    query = select(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)
    )
    if ids is not None:
        query = query.where(Notification.id.in_(list(ids)))
    now = utcnow()
    marked = 0
    for notification in session.scalars(query):
        notification.read_at = now
        marked += 1
    return marked
