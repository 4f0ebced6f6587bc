"""Ticket use cases: open, reply, note, take, move through the workflow, resolve, confirm."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from articles.models import utcnow
from portal.auth.models import User
from portal.tickets.models import Channel, EventKind, Status, Ticket, TicketEvent
from portal.tickets.workflow import next_status, priority_for


@dataclass(frozen=True)
class Intake:
    """What a request captures: who, how to reach them, the symptom, since when, how wide."""

    subject: str
    symptom: str
    started: str
    impact: str
    urgency: str
    contact: str
    category_id: int | None
    channel: Channel = Channel.WEB


def open_ticket(
    session: Session, intake: Intake, requester: User, recorded_by: User | None = None
) -> Ticket:
    """Create a ticket from an intake, with its priority and a 'created' event."""
    ticket = Ticket(
        subject=intake.subject.strip(),
        symptom=intake.symptom,
        started=intake.started.strip(),
        impact=intake.impact,
        urgency=intake.urgency,
        priority=priority_for(intake.impact, intake.urgency),
        contact=intake.contact.strip(),
        category_id=intake.category_id,
        channel=intake.channel,
        status=Status.NEW,
        requester=requester,
        recorded_by=recorded_by,
    )
    session.add(ticket)
    ticket.events.append(
        TicketEvent(
            author=recorded_by or requester, kind=EventKind.CREATED, to_status=Status.NEW.value
        )
    )
    return ticket


def _touch(ticket: Ticket) -> None:
    ticket.updated_at = utcnow()


def move(ticket: Ticket, target: Status, author: User, body: str = "") -> None:
    """Change the ticket's status through the workflow and record it."""
    source = ticket.status
    ticket.status = next_status(source, target)
    now = utcnow()
    if target is Status.RESOLVED:
        ticket.resolved_at = now
    if target is Status.CLOSED:
        ticket.closed_at = now
    if source is Status.RESOLVED and target is Status.IN_PROGRESS:
        ticket.resolved_at = None
    ticket.events.append(
        TicketEvent(
            author=author,
            kind=EventKind.STATUS,
            body=body,
            from_status=source.value,
            to_status=target.value,
        )
    )
    _touch(ticket)


def add_reply(ticket: Ticket, author: User, body: str) -> None:
    """Add a public reply; a user's reply takes a waiting ticket back into progress."""
    ticket.events.append(TicketEvent(author=author, kind=EventKind.REPLY, body=body))
    if ticket.status is Status.WAITING and author.id == ticket.requester_id:
        move(ticket, Status.IN_PROGRESS, author)
    _touch(ticket)


def add_note(ticket: Ticket, author: User, body: str) -> None:
    """Add an internal note, visible to staff only."""
    ticket.events.append(TicketEvent(author=author, kind=EventKind.NOTE, body=body, internal=True))
    _touch(ticket)


def take(ticket: Ticket, technician: User) -> None:
    """Assign the ticket to a technician; a new ticket becomes 'assigned'."""
    ticket.assignee = technician
    ticket.events.append(
        TicketEvent(author=technician, kind=EventKind.ASSIGNED, body=technician.display_name)
    )
    if ticket.status is Status.NEW:
        move(ticket, Status.ASSIGNED, technician)
    _touch(ticket)


def record_resolution(
    ticket: Ticket, technician: User, diagnosis: str, cause: str, solution: str
) -> None:
    """Record diagnosis, cause and solution and mark the ticket resolved (awaiting the user)."""
    ticket.diagnosis = diagnosis
    ticket.cause = cause
    ticket.solution = solution
    if ticket.assignee is None:
        ticket.assignee = technician
    ticket.events.append(TicketEvent(author=technician, kind=EventKind.RESOLUTION, body=solution))
    move(ticket, Status.RESOLVED, technician)
