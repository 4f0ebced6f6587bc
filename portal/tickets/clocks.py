"""A ticket's service-level clocks, read from its record: due times, what is left, met or not.

The clocks are computed when shown, from the ticket's creation, its priority's targets,
the business calendar and the spans it waited on the user (its status events), so a
priority change recomputes from creation and keeps the pauses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from portal.admin import settings
from portal.tickets.models import Status, Ticket
from portal.tickets.sla import Calendar, Pause, due, elapsed


@dataclass(frozen=True)
class Clock:
    """One target of a ticket: first response or resolution."""

    target: int  # business minutes
    due_at: datetime | None  # None while the clock is paused
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


def waiting_pauses(ticket: Ticket) -> list[Pause]:
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


def ticket_clocks(session: Session, ticket: Ticket, now: datetime) -> dict[str, Clock]:
    """Return the ticket's 'response' and 'resolution' clocks as of ``now``."""
    targets = settings.get(session, "sla_targets")[ticket.priority]
    calendar_setting = settings.get(session, "business_calendar")
    calendar = Calendar.from_setting(
        calendar_setting,
        around_the_clock=ticket.priority == "P1" and calendar_setting["p1_around_the_clock"],
    )
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
            met_at=met_at,
            used=elapsed(calendar, ticket.created_at, met_at or now, pauses),
        )
    return clocks
