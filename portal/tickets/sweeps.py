"""What the desk does on its own, every minute: service-level warnings and breaches, and
the confirmation reminder and auto-close of resolved tickets.

Each step is recorded once as an event (the notifications follow from the events), so a
sweep can run as often as it likes, and two sweeps at once do no harm beyond the lease of
the transaction that runs them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.util import identity_key

from articles.models import utcnow
from portal.admin import settings
from portal.auth.models import User
from portal.tickets import notifications, service
from portal.tickets.clocks import RUNNING, WARNING_SHARE, Rules, alerted, deadlines, running_clocks
from portal.tickets.models import Actor, EventKind, Status, SupportGroup, Ticket, TicketEvent
from portal.tickets.sla import Calendar, NoWorkingTime, add_working_days

DST_MARGIN = timedelta(hours=2)


@dataclass
class Swept:
    """What one sweep recorded."""

    warnings: int = 0
    breaches: int = 0
    reminders: int = 0
    closed: int = 0


@dataclass
class _Open:
    """What the service-level sweep reads of an open ticket, from plain rows."""

    id: int
    status: Status
    priority: str
    created_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    group_id: int | None
    assignee_id: int | None
    events: list[_Recorded] = field(default_factory=list)


@dataclass(frozen=True)
class _Recorded:
    """What the clocks read of one of its events."""

    kind: EventKind
    field: str
    old_value: Any
    new_value: Any
    detail: dict[str, Any]
    created_at: datetime


# The events the clocks read: status changes (pauses), reopens and earlier alerts.
_CLOCK_EVENTS = (EventKind.SLA_WARNING, EventKind.SLA_BREACH, EventKind.USER_REOPENED)
_IN_BATCHES = 500


def _due_tickets(session: Session, now: datetime) -> list[_Open]:
    """Return the open tickets whose stored next check has come, with the events their
    clocks read, in two queries over plain rows (``ix_tickets_sla_check_at``)."""
    t = Ticket.__table__.c
    rows = session.execute(
        select(
            t.id,
            t.status,
            t.priority,
            t.created_at,
            t.first_response_at,
            t.resolved_at,
            t.group_id,
            t.assignee_id,
        )
        .where(t.sla_check_at <= now, t.status.in_(RUNNING))
        .order_by(t.sla_check_at, t.id)
    ).all()
    tickets = {row.id: _Open(*row) for row in rows}
    e = TicketEvent.__table__.c
    ids = list(tickets)
    for start in range(0, len(ids), _IN_BATCHES):
        events = session.execute(
            select(e.ticket_id, e.kind, e.field, e.old_value, e.new_value, e.detail, e.created_at)
            .where(
                e.ticket_id.in_(ids[start : start + _IN_BATCHES]),
                or_(e.field == "status", e.kind.in_(_CLOCK_EVENTS)),
            )
            .order_by(e.id)
        )
        for ticket_id, *values in events:
            tickets[ticket_id].events.append(_Recorded(*values))
    return list(tickets.values())


def sweep_service_levels(session: Session, now: datetime, swept: Swept) -> None:
    """Record a warning at 75% and a breach at 100% of each running clock, once each
    (after a reopen, once more for the resolution clock), notify the staff, and store
    each ticket's next deadline and check. Only tickets whose stored next check has come
    are read; a sweep where thousands cross a threshold writes its events, tickets and
    notifications in a few bulk statements rather than object by object."""
    session.flush()
    due_tickets = _due_tickets(session, now)
    if not due_tickets:
        return
    rules = Rules.read(session)
    recorded = utcnow()
    alerts: list[tuple[_Open, EventKind, dict[str, Any]]] = []
    stored = []
    for ticket in due_tickets:
        clocks = running_clocks(session, ticket, now, rules)
        before = len(alerts)
        for name, clock in clocks.items():
            used = clock.used / clock.target if clock.target else 1.0
            if used >= 1 and not alerted(ticket, EventKind.SLA_BREACH, name):
                kind = EventKind.SLA_BREACH
                swept.breaches += 1
            elif (
                used >= WARNING_SHARE
                and not alerted(ticket, EventKind.SLA_WARNING, name)
                and not alerted(ticket, EventKind.SLA_BREACH, name)
            ):
                kind = EventKind.SLA_WARNING
                swept.warnings += 1
            else:
                continue
            detail = service.service_level_detail(ticket.priority, name, clock.due_at)
            ticket.events.append(_Recorded(kind, "", None, None, detail, recorded))
            alerts.append((ticket, kind, detail))
        due_at, warn_at, check_at = deadlines(ticket, clocks)
        stored.append(
            {
                "ticket": ticket.id,
                "due": due_at,
                "warn": warn_at,
                "check": check_at,
                "updated": recorded if len(alerts) > before else None,
            }
        )
    _write_alerts(session, alerts, recorded)
    _store(session, stored)


def _write_alerts(
    session: Session, alerts: list[tuple[_Open, EventKind, dict[str, Any]]], recorded: datetime
) -> None:
    """Insert the alerts' events and the notifications they call for."""
    if not alerts:
        return
    events = TicketEvent.__table__
    ids = session.scalars(
        insert(events).returning(events.c.id, sort_by_parameter_order=True),
        [
            {
                "ticket_id": ticket.id,
                "kind": kind,
                "actor": Actor.SYSTEM,
                "actor_id": None,
                "field": "",
                "old_value": None,
                "new_value": None,
                "detail": detail,
                "body": "",
                "internal": True,
                "created_at": recorded,
            }
            for ticket, kind, detail in alerts
        ],
    ).all()
    staff_of = {
        group.id: notifications.group_staff(group)
        for group in session.scalars(
            select(SupportGroup).options(selectinload(SupportGroup.members))
        )
    }
    admins: list[User] | None = None

    def admins_once() -> list[User]:
        nonlocal admins
        if admins is None:
            admins = notifications.active_admins(session)
        return admins

    rank = {kind: position for position, kind in enumerate(notifications.PRECEDENCE)}
    chosen: dict[tuple[int, int], tuple[notifications.Kind, User, int]] = {}
    for (ticket, kind, _detail), event_id in zip(alerts, ids, strict=True):
        assignee = session.get(User, ticket.assignee_id) if ticket.assignee_id else None
        staff = staff_of.get(ticket.group_id, []) if ticket.group_id else []
        told = notifications.ALERTS[kind]
        for user in notifications.alert_recipients(assignee, staff, ticket.priority, admins_once):
            key = (user.id, ticket.id)
            held = chosen.get(key)
            if held is None or rank[told] < rank[held[0]]:
                chosen[key] = (told, user, event_id)
    mails: dict[tuple[int, notifications.Kind], bool] = {}
    for told, user, _event_id in chosen.values():
        if (user.id, told) not in mails:
            mails[user.id, told] = notifications.wants_mail(user, told)
    rows = [
        notifications.notification_row(
            user, told, ticket_id, event_id, recorded, mails[user.id, told]
        )
        for (_user_id, ticket_id), (told, user, event_id) in chosen.items()
    ]
    if notifications.write(session, rows):
        session.info["mail"] = True


def _store(session: Session, stored: list[dict[str, Any]]) -> None:
    """Store each swept ticket's deadlines (and, when it got an alert, its update time),
    and forget any copy of those tickets the session holds."""
    tickets = Ticket.__table__
    plain = [row for row in stored if row["updated"] is None]
    alerted_rows = [row for row in stored if row["updated"] is not None]
    values = {
        "sla_due_at": bindparam("due"),
        "sla_warn_at": bindparam("warn"),
        "sla_check_at": bindparam("check"),
    }
    where = tickets.c.id == bindparam("ticket")
    if plain:
        session.execute(update(tickets).where(where).values(values), plain)
    if alerted_rows:
        session.execute(
            update(tickets).where(where).values({**values, "updated_at": bindparam("updated")}),
            alerted_rows,
        )
    for row in stored:
        held = session.identity_map.get(identity_key(Ticket, row["ticket"]))
        if held is not None:
            session.expire(held)


def _resolved_before(cutoff: datetime) -> Any:
    return (Ticket.status == Status.RESOLVED) & (Ticket.resolved_at <= cutoff)


def _reminded() -> Any:
    return (
        select(TicketEvent.id)
        .where(
            TicketEvent.ticket_id == Ticket.id,
            TicketEvent.kind == EventKind.REMINDER_SENT,
            TicketEvent.created_at >= Ticket.resolved_at,
        )
        .exists()
    )


def _no_later_than(now: datetime, days: int) -> datetime:
    """Return the latest resolution time that ``days`` working days can have passed
    since: each working day is a calendar day, less an hour where DST ends (two hours'
    margin)."""
    return now - timedelta(days=days) + DST_MARGIN


def sweep_confirmations(session: Session, now: datetime, swept: Swept) -> None:
    """Remind the requester of a resolved ticket after N-1 working days, close it after N.

    Only resolved tickets old enough in calendar days are read: those not reminded yet
    that may be due their reminder, and those that may be due to close."""
    days = int(settings.get(session, "auto_close_days"))
    remind = bool(settings.get(session, "confirmation_reminder")) and days > 1
    calendar = Calendar.from_setting(settings.get(session, "business_calendar"))
    due = _resolved_before(_no_later_than(now, days))
    if remind:
        due = due | (_resolved_before(_no_later_than(now, days - 1)) & ~_reminded())
    query = select(Ticket).where(due).order_by(Ticket.id)
    for ticket in session.scalars(query).all():
        resolved = ticket.resolved_at
        assert resolved is not None
        try:
            closes = add_working_days(calendar, resolved, days)
            reminds = add_working_days(calendar, resolved, days - 1) if remind else None
        except NoWorkingTime:
            continue
        if now >= closes:
            service.auto_close(ticket)
            swept.closed += 1
        elif (
            reminds is not None
            and now >= reminds
            and not any(
                e.kind is EventKind.REMINDER_SENT and e.created_at >= resolved
                for e in ticket.events
            )
        ):
            service.remind(ticket, closes)
            swept.reminders += 1


def sweep(session: Session, now: datetime | None = None) -> Swept:
    """Run every sweep as of ``now``; the caller commits."""
    now = now or utcnow()
    swept = Swept()
    sweep_service_levels(session, now, swept)
    sweep_confirmations(session, now, swept)
    return swept
