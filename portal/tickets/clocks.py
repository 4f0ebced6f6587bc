"""A ticket's service-level clocks, read from its record: due times, what is left, met or not.

The clocks are computed from the ticket's creation, its priority's targets, the business
calendar and the spans it waited on the user (its status events), so a priority change
recomputes from creation and keeps the pauses. Each commit that adds events to a ticket
also stores its next deadline, when it turns "at risk" (75% used) and when the sweep must
look at it next, so the queue sorts and colours by deadline and the sweep reads only the
tickets that are due a warning or a breach.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.admin import settings
from portal.tickets.models import EventKind, Status, Ticket
from portal.tickets.sla import Calendar, NoWorkingTime, Pause, due, elapsed

# A clock that has used this share of its target is at risk and gets a warning.
WARNING_SHARE = 0.75
RUNNING = (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING)


class RecordedEvent(Protocol):
    """What the clocks read of a ticket event (a ``TicketEvent``, or a row of one)."""

    @property
    def kind(self) -> EventKind: ...
    @property
    def field(self) -> str: ...
    @property
    def old_value(self) -> Any: ...
    @property
    def new_value(self) -> Any: ...
    @property
    def detail(self) -> dict[str, Any]: ...
    @property
    def created_at(self) -> datetime: ...


class Clocked(Protocol):
    """What the clocks read of a ticket (a ``Ticket``, or the sweep's row of one)."""

    @property
    def status(self) -> Status: ...
    @property
    def priority(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def first_response_at(self) -> datetime | None: ...
    @property
    def resolved_at(self) -> datetime | None: ...
    @property
    def events(self) -> Sequence[RecordedEvent]: ...


@dataclass(frozen=True)
class Rules:
    """The settings the clocks read: targets per priority and the business calendars.

    Read once per sweep or commit (reading a setting flushes the session, and building a
    calendar again forgets which days it already looked up)."""

    targets: dict[str, dict[str, int]]
    calendar: Calendar
    p1_calendar: Calendar

    @classmethod
    def read(cls, session: Session) -> Rules:
        """Return the rules as the settings say now."""
        targets = settings.get(session, "sla_targets")
        setting = settings.get(session, "business_calendar")
        calendar = Calendar.from_setting(setting)
        p1 = Calendar.from_setting(setting, around_the_clock=True)
        return cls(targets, calendar, p1 if setting["p1_around_the_clock"] else calendar)

    def calendar_for(self, priority: str) -> Calendar:
        """Return the calendar a ticket of ``priority`` counts on."""
        return self.p1_calendar if priority == "P1" else self.calendar


@dataclass(frozen=True)
class Clock:
    """One target of a ticket: first response or resolution."""

    target: int  # business minutes
    due_at: datetime | None  # None while the clock is paused
    warn_at: datetime | None  # when 75% of the target is used (None while paused)
    met_at: datetime | None  # when the target was met (None: not yet)
    used: float  # business minutes run so far (until met)

    @property
    def left(self) -> float:
        """Return the business minutes left (negative: overdue)."""
        return self.target - self.used

    @property
    def breached(self) -> bool:
        """Return whether the target was or is missed."""
        return self.used > self.target


def waiting_pauses(ticket: Clocked) -> list[Pause]:
    """Return the spans the ticket waited on the user, the last one open if it still does."""
    pauses: list[Pause] = []
    began: datetime | None = None
    for event in ticket.events:
        if event.field != "status":
            continue
        if event.new_value == Status.WAITING.value and began is None:
            began = event.created_at
        elif event.old_value == Status.WAITING.value and began is not None:
            pauses.append(Pause(began, event.created_at))
            began = None
    if began is not None:
        pauses.append(Pause(began))
    return pauses


def ticket_clocks(
    session: Session, ticket: Clocked, now: datetime, rules: Rules | None = None
) -> dict[str, Clock]:
    """Return the ticket's 'response' and 'resolution' clocks as of ``now`` (under
    ``rules``, read from the settings when not given)."""
    rules = rules or Rules.read(session)
    targets = rules.targets[ticket.priority]
    calendar = rules.calendar_for(ticket.priority)
    pauses = waiting_pauses(ticket)
    finished = ticket.status in (Status.RESOLVED, Status.CLOSED)
    ends = {
        "response": ticket.first_response_at,
        "resolution": ticket.resolved_at if finished else None,
    }
    clocks = {}
    for name, met_at in ends.items():
        minutes = targets[name]
        clocks[name] = Clock(
            target=minutes,
            due_at=due(calendar, ticket.created_at, minutes, pauses),
            warn_at=due(calendar, ticket.created_at, minutes * WARNING_SHARE, pauses),
            met_at=met_at,
            used=elapsed(calendar, ticket.created_at, met_at or now, pauses),
        )
    return clocks


def running(ticket: Clocked, clocks: dict[str, Clock]) -> dict[str, Clock]:
    """Return the clocks still running: not met, not paused, on an open ticket."""
    if ticket.status not in RUNNING:
        return {}
    return {n: c for n, c in clocks.items() if c.met_at is None and c.due_at is not None}


def last_reopen(ticket: Clocked) -> datetime | None:
    """Return when the requester last reopened the ticket (None: never)."""
    reopened = [e.created_at for e in ticket.events if e.kind is EventKind.USER_REOPENED]
    return reopened[-1] if reopened else None


def alerted(ticket: Clocked, kind: EventKind, clock: str) -> bool:
    """Return whether ``kind`` (warning or breach) is recorded for ``clock``; a reopen
    restarts the resolution clock, so only its alerts since then count."""
    since = last_reopen(ticket) if clock == "resolution" else None
    return any(
        e.kind is kind
        and (e.detail or {}).get("clock") == clock
        and (since is None or e.created_at >= since)
        for e in ticket.events
    )


def running_clocks(
    session: Session, ticket: Clocked, now: datetime, rules: Rules | None = None
) -> dict[str, Clock]:
    """Return the ticket's running clocks as of ``now`` (none when the calendar has no
    working time)."""
    try:
        return running(ticket, ticket_clocks(session, ticket, now, rules))
    except NoWorkingTime:
        return {}


def deadlines(
    ticket: Clocked, clocks: dict[str, Clock]
) -> tuple[datetime | None, datetime | None, datetime | None]:
    """Return what to store from the ticket's running ``clocks``: the next deadline, when
    it turns at risk, and when the sweep must look next (each None when nothing runs)."""
    checks = []
    for name, clock in clocks.items():
        if not alerted(ticket, EventKind.SLA_WARNING, name) and not alerted(
            ticket, EventKind.SLA_BREACH, name
        ):
            checks.append(clock.warn_at)
        elif not alerted(ticket, EventKind.SLA_BREACH, name):
            checks.append(clock.due_at)
    nearest = min(clocks.values(), key=lambda c: c.due_at) if clocks else None  # type: ignore[arg-type,return-value]
    return (
        nearest.due_at if nearest else None,
        nearest.warn_at if nearest else None,
        min((c for c in checks if c is not None), default=None),
    )


def store_deadlines(
    session: Session, ticket: Ticket, now: datetime, rules: Rules | None = None
) -> None:
    """Store the ticket's next deadline, its at-risk time and the sweep's next look."""
    clocks = running_clocks(session, ticket, now, rules)
    ticket.sla_due_at, ticket.sla_warn_at, ticket.sla_check_at = deadlines(ticket, clocks)


def refresh_open(session: Session, now: datetime) -> int:
    """Store the deadlines of every open ticket again (after the targets or the calendar
    changed); return how many."""
    query = select(Ticket).where(Ticket.status.in_(RUNNING)).options(selectinload(Ticket.events))
    rules = Rules.read(session)
    count = 0
    with session.no_autoflush:
        for ticket in session.scalars(query):
            store_deadlines(session, ticket, now, rules)
            count += 1
    return count
