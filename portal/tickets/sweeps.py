"""What the desk does on its own, every minute: service-level warnings and breaches, and
the confirmation reminder and auto-close of resolved tickets.

Each step is recorded once as an event (the notifications follow from the events), so a
sweep can run as often as it likes, and two sweeps at once do no harm beyond the lease of
the transaction that runs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from articles.models import utcnow
from portal.admin import settings
from portal.tickets import service
from portal.tickets.clocks import (
    RUNNING,
    WARNING_SHARE,
    Rules,
    alerted,
    deadlines_stored,
    running_clocks,
    store_deadlines,
)
from portal.tickets.models import EventKind, Status, Ticket, TicketEvent
from portal.tickets.sla import Calendar, NoWorkingTime, add_working_days

DST_MARGIN = timedelta(hours=2)


@dataclass
class Swept:
    """What one sweep recorded."""

    warnings: int = 0
    breaches: int = 0
    reminders: int = 0
    closed: int = 0


def sweep_service_levels(session: Session, now: datetime, swept: Swept) -> None:
    """Record a warning at 75% and a breach at 100% of each running clock, once each
    (after a reopen, once more for the resolution clock). Only tickets whose stored next
    check has come are read (``ix_tickets_sla_check_at``), and each one's clocks are
    computed once: an alert changes no clock, only what the sweep looks at next."""
    query = (
        select(Ticket)
        .where(Ticket.sla_check_at <= now, Ticket.status.in_(RUNNING))
        .options(selectinload(Ticket.events))
        .order_by(Ticket.sla_check_at)
    )
    rules = Rules.read(session)
    handled = deadlines_stored(session)
    # Nothing needs flushing until the end: without this each settings read or lazy load
    # would flush the alerts recorded so far, a few rows at a time.
    with session.no_autoflush:
        for ticket in session.scalars(query).all():
            clocks = running_clocks(session, ticket, now, rules)
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
                handled.add(service.record_service_level(ticket, kind, name, clock.due_at))
            store_deadlines(session, ticket, now, rules, clocks)


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
