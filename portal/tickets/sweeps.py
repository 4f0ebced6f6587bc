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
from portal.tickets.clocks import (
    RUNNING,
    WARNING_SHARE,
    alerted,
    running,
    store_deadlines,
    ticket_clocks,
)
from portal.tickets.models import EventKind, Status, Ticket
from portal.tickets.sla import Calendar, NoWorkingTime, add_working_days


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
    check has come are read."""
    query = (
        select(Ticket)
        .where(Ticket.sla_check_at <= now, Ticket.status.in_(RUNNING))
        .options(selectinload(Ticket.events))
        .order_by(Ticket.sla_check_at)
    )
    for ticket in session.scalars(query):
        try:
            clocks = running(ticket, ticket_clocks(session, ticket, now))
        except NoWorkingTime:
            clocks = {}
        for name, clock in clocks.items():
            used = clock.used / clock.target if clock.target else 1.0
            if used >= 1 and not alerted(ticket, EventKind.SLA_BREACH, name):
                service.record_service_level(ticket, EventKind.SLA_BREACH, name, clock.due_at)
                swept.breaches += 1
            elif (
                used >= WARNING_SHARE
                and not alerted(ticket, EventKind.SLA_WARNING, name)
                and not alerted(ticket, EventKind.SLA_BREACH, name)
            ):
                service.record_service_level(ticket, EventKind.SLA_WARNING, name, clock.due_at)
                swept.warnings += 1
        store_deadlines(session, ticket, now)


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
