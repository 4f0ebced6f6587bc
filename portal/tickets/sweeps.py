"""What the desk does on its own, every minute: service-level warnings and breaches, and
the confirmation reminder and auto-close of resolved tickets.

Each step is recorded once as an event (the notifications follow from the events), so a
sweep can run as often as it likes, and two sweeps at once do no harm beyond the lease of
the transaction that runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from articles.models import utcnow
from portal.admin import settings
from portal.tickets import service
from portal.tickets.clocks import ticket_clocks
from portal.tickets.models import EventKind, Status, Ticket
from portal.tickets.sla import Calendar, NoWorkingTime, add_working_days

# A clock that has used this share of its target gets a warning.
WARNING_SHARE = 0.75
OPEN = (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING)


@dataclass
class Swept:
    """What one sweep recorded."""

    warnings: int = 0
    breaches: int = 0
    reminders: int = 0
    closed: int = 0


def _recorded(ticket: Ticket, kind: EventKind, clock: str, since: datetime | None = None) -> bool:
    return any(
        e.kind is kind
        and (e.detail or {}).get("clock") == clock
        and (since is None or e.created_at >= since)
        for e in ticket.events
    )


def sweep_service_levels(session: Session, now: datetime, swept: Swept) -> None:
    """Record a warning at 75% and a breach at 100% of each running clock, once each
    (after a reopen, once more for the resolution clock)."""
    query = (
        select(Ticket)
        .where(Ticket.status.in_(OPEN))
        .options(selectinload(Ticket.events))
        .order_by(Ticket.id)
    )
    for ticket in session.scalars(query):
        try:
            clocks = ticket_clocks(session, ticket, now)
        except NoWorkingTime:
            continue
        for name, clock in clocks.items():
            if clock.met_at is not None or clock.due_at is None:
                continue  # met, or paused while waiting on the user
            # A reopened ticket's resolution clock runs again: warn about it again.
            since = _last_reopen(ticket) if name == "resolution" else None
            used = clock.used / clock.target if clock.target else 1.0
            if used >= 1 and not _recorded(ticket, EventKind.SLA_BREACH, name, since):
                service.record_service_level(ticket, EventKind.SLA_BREACH, name, clock.due_at)
                swept.breaches += 1
            elif (
                used >= WARNING_SHARE
                and not _recorded(ticket, EventKind.SLA_WARNING, name, since)
                and not _recorded(ticket, EventKind.SLA_BREACH, name, since)
            ):
                service.record_service_level(ticket, EventKind.SLA_WARNING, name, clock.due_at)
                swept.warnings += 1


def _last_reopen(ticket: Ticket) -> datetime | None:
    reopened = [e.created_at for e in ticket.events if e.kind is EventKind.USER_REOPENED]
    return reopened[-1] if reopened else None


def sweep_confirmations(session: Session, now: datetime, swept: Swept) -> None:
    """Remind the requester of a resolved ticket after N-1 working days, close it after N."""
    days = int(settings.get(session, "auto_close_days"))
    remind = bool(settings.get(session, "confirmation_reminder"))
    calendar = Calendar.from_setting(settings.get(session, "business_calendar"))
    query = (
        select(Ticket)
        .where(Ticket.status == Status.RESOLVED, Ticket.resolved_at.is_not(None))
        .options(selectinload(Ticket.events))
        .order_by(Ticket.id)
    )
    for ticket in session.scalars(query):
        resolved = ticket.resolved_at
        assert resolved is not None
        try:
            closes = add_working_days(calendar, resolved, days)
            reminds = add_working_days(calendar, resolved, days - 1) if days > 1 else None
        except NoWorkingTime:
            continue
        if now >= closes:
            service.auto_close(ticket)
            swept.closed += 1
        elif (
            remind
            and reminds is not None
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
