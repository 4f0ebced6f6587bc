"""Ticket use cases: open, reply, note, assign, route, change fields, move, resolve, confirm.

Each one changes the ticket and appends the typed events that record it; nothing here
renders text for people (the timeline does, in the reader's language).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from articles.models import Article, utcnow
from portal.admin import settings
from portal.auth.models import User
from portal.tickets.models import (
    Actor,
    ArticleLink,
    Channel,
    EventKind,
    Status,
    SupportGroup,
    Ticket,
    TicketEvent,
    ticket_solutions,
)
from portal.tickets.routing import group_for, least_loaded
from portal.tickets.workflow import Party, check, priority_for

# Fields a technician may correct, and those recorded only for staff (the requester's
# timeline shows the others).
EDITABLE_FIELDS = (
    "subject",
    "symptom",
    "started",
    "category",
    "impact",
    "urgency",
    "core_system_down",
    "contact",
)
# Fields whose change recomputes the priority from the matrix.
PRIORITY_FIELDS = frozenset({"impact", "urgency", "core_system_down"})
STAFF_ONLY_FIELDS = frozenset({"diagnosis", "cause"})


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
    started_at: datetime | None = None
    core_system_down: bool = False


def _record(
    ticket: Ticket,
    kind: EventKind,
    actor: User | None,
    *,
    field: str = "",
    old: Any = None,
    new: Any = None,
    body: str = "",
    internal: bool = False,
    via: Actor | None = None,
    **detail: Any,
) -> TicketEvent:
    event = TicketEvent(
        kind=kind,
        # ``via`` names the channel when it was not a person at the portal (Actor.EMAIL).
        actor=via or (Actor.USER if actor is not None else Actor.SYSTEM),
        actor_user=actor,
        field=field,
        old_value=old,
        new_value=new,
        body=body,
        internal=internal,
        detail=detail,
        created_at=utcnow(),
    )
    ticket.events.append(event)
    ticket.updated_at = event.created_at
    return event


def _is_staff(user: User | None) -> bool:
    return user is not None and user.is_staff


def open_ticket(
    session: Session, intake: Intake, requester: User, recorded_by: User | None = None
) -> Ticket:
    """Create a ticket from an intake, with its priority and a 'created' event, and route it."""
    ticket = Ticket(
        subject=intake.subject.strip(),
        symptom=intake.symptom,
        started=intake.started.strip(),
        started_at=intake.started_at,
        impact=intake.impact,
        urgency=intake.urgency,
        core_system_down=intake.core_system_down,
        priority=priority_for(
            intake.impact,
            intake.urgency,
            settings.get(session, "priority_matrix"),
            intake.core_system_down,
        ),
        contact=intake.contact.strip(),
        category_id=intake.category_id,
        channel=intake.channel,
        status=Status.NEW,
        requester=requester,
        recorded_by=recorded_by,
    )
    session.add(ticket)
    _record(
        ticket,
        EventKind.CREATED,
        recorded_by or requester,
        via=Actor.EMAIL if intake.channel is Channel.EMAIL else None,
        channel=intake.channel.value,
        priority=ticket.priority,
    )
    ticket.created_at = ticket.updated_at
    if _is_staff(recorded_by) and intake.channel is Channel.PHONE:
        ticket.first_response_at = ticket.created_at  # the call was the first response
    route(session, ticket)
    return ticket


def route(session: Session, ticket: Ticket) -> None:
    """Send the ticket to its category's group and, if the group says so, to its member
    with the fewest open tickets (the desk does it: the events name no person)."""
    group = group_for(session, ticket.category_id)
    if group is None or group is ticket.group:
        return
    set_group(ticket, group, None)
    if ticket.assignee is None:
        _assign_automatically(session, ticket, group)


def _assign_automatically(session: Session, ticket: Ticket, group: SupportGroup) -> bool:
    """Give the ticket to the group's least-loaded member if the group assigns automatically;
    return whether it did (the desk is the actor)."""
    member = least_loaded(session, group) if group.auto_assign else None
    if member is not None:
        assign(ticket, member, None)
    return member is not None


def set_group(
    ticket: Ticket, group: SupportGroup | None, actor: User | None, reason: str = ""
) -> TicketEvent | None:
    """Give the ticket to ``group`` (None: no group); a move to a higher line is an escalation.

    The assignee stays only if they belong to the new group.
    """
    old = ticket.group
    if (old.id if old else None) == (group.id if group else None):
        return None
    ticket.group = group
    escalated = old is not None and group is not None and group.line > old.line
    event = _record(
        ticket,
        EventKind.FIELD_CHANGED,
        actor,
        field="group",
        old=old.id if old else None,
        new=group.id if group else None,
        body=reason,
        escalated=escalated,
    )
    if group is not None and ticket.assignee is not None and ticket.assignee not in group.members:
        assign(ticket, None, actor)
    return event


def reassign(
    session: Session,
    ticket: Ticket,
    group: SupportGroup | None,
    assignee: User | None,
    actor: User,
    reason: str = "",
) -> None:
    """Give the ticket to exactly ``group`` and ``assignee`` (None: none); with no one named,
    a group that assigns automatically picks its member with the fewest open tickets."""
    set_group(ticket, group, actor, reason)
    if assignee is None and group is not None and _assign_automatically(session, ticket, group):
        return
    assign(ticket, assignee, actor, reason)


def parties(ticket: Ticket, actor: User | None) -> frozenset[Party]:
    """Return the roles ``actor`` acts in on ``ticket`` (None is the desk itself)."""
    if actor is None:
        return frozenset({Party.SYSTEM})
    roles = set()
    if actor.id == ticket.requester_id:
        roles.add(Party.REQUESTER)
    if actor.is_staff:
        roles.add(Party.STAFF)
    return frozenset(roles)


def _has_resolution(diagnosis: str, solution: str) -> bool:
    return bool(diagnosis.strip() and solution.strip())


def move(
    ticket: Ticket,
    target: Status,
    actor: User | None,
    body: str = "",
    kind: EventKind = EventKind.STATUS_CHANGED,
    via: Actor | None = None,
) -> TicketEvent:
    """Change the ticket's status through the workflow and record it under ``kind``.

    Raises ``TransitionRefused`` when the table does not allow the step. Waiting on the
    user sends ``body`` to them as a public reply first. ``via=Actor.EMAIL``: the step
    came with a mail.
    """
    source = ticket.status
    check(
        source,
        target,
        parties(ticket, actor),
        has_assignee=ticket.assignee is not None,
        has_question=bool(body.strip()),
        has_resolution=_has_resolution(ticket.diagnosis, ticket.solution),
    )
    if target is Status.WAITING and actor is not None:
        _reply(ticket, actor, body)
        body = ""
    ticket.status = target
    event = _record(
        ticket, kind, actor, field="status", old=source.value, new=target.value, body=body, via=via
    )
    if target is Status.RESOLVED:
        ticket.resolved_at = event.created_at
        ticket.first_resolved_at = ticket.first_resolved_at or event.created_at
    if target is Status.CLOSED:
        ticket.closed_at = event.created_at
    if source is Status.RESOLVED and target is Status.IN_PROGRESS:
        ticket.reopen_count += 1
    if target is Status.WAITING:
        _record(ticket, EventKind.SLA_PAUSED, None, internal=True)
    elif source is Status.WAITING:
        _record(ticket, EventKind.SLA_RESUMED, None, internal=True)
    return event


def _reply(
    ticket: Ticket, author: User, body: str, via: Actor | None = None, **detail: Any
) -> TicketEvent:
    event = _record(ticket, EventKind.REPLY, author, body=body, via=via, **detail)
    if author.id != ticket.requester_id and _is_staff(author) and ticket.first_response_at is None:
        ticket.first_response_at = event.created_at
    return event


def add_reply(
    ticket: Ticket, author: User, body: str, via: Actor | None = None, **detail: Any
) -> TicketEvent:
    """Add a public reply and return its event; a user's reply takes a waiting ticket back
    into progress.

    ``via=Actor.EMAIL`` records that it came by mail, with ``detail`` (its Message-ID).
    """
    event = _reply(ticket, author, body, via, **detail)
    if ticket.status is Status.WAITING and author.id == ticket.requester_id:
        move(ticket, Status.IN_PROGRESS, author, via=via)
    return event


def record_follow_up(closed: Ticket, follow_up: Ticket, author: User, via: Actor) -> TicketEvent:
    """Record on a closed ticket that ``author``'s message about it opened ``follow_up``
    (which names the closed one in its 'created' event)."""
    return _record(closed, EventKind.FOLLOWED_UP, author, via=via, opened=follow_up.id)


def add_note(ticket: Ticket, author: User, body: str) -> TicketEvent:
    """Add an internal note, visible to staff only, and return its event."""
    return _record(ticket, EventKind.NOTE, author, body=body, internal=True)


def record_attachment(
    ticket: Ticket,
    uploader: User | None,
    *,
    attachment_id: int,
    parent_id: int,
    filename: str,
    size: int,
    internal: bool,
    via: Actor | None = None,
) -> TicketEvent:
    """Record that a file was attached to the event ``parent_id`` (request, reply, note)."""
    return _record(
        ticket,
        EventKind.ATTACHMENT_ADDED,
        uploader,
        internal=internal,
        via=via,
        attachment_id=attachment_id,
        parent_id=parent_id,
        filename=filename,
        size=size,
    )


def record_refused_attachment(
    ticket: Ticket, filename: str, reason: str, limit: int | None = None
) -> TicketEvent:
    """Record, as an internal note of the desk, that a mailed file was not kept and why
    (``reason`` as ``AttachmentRefused`` gives it)."""
    return _record(
        ticket,
        EventKind.NOTE,
        None,
        internal=True,
        via=Actor.EMAIL,
        refused=filename,
        reason=reason,
        limit=limit,
    )


def assign(ticket: Ticket, assignee: User | None, actor: User | None, reason: str = "") -> None:
    """Give the ticket to ``assignee`` (or nobody); a new ticket becomes 'assigned'."""
    # The relationship, not the column: the column lags until the next flush.
    old = ticket.assignee.id if ticket.assignee is not None else None
    new = assignee.id if assignee is not None else None
    if old == new:
        return
    ticket.assignee = assignee
    _record(ticket, EventKind.FIELD_CHANGED, actor, field="assignee", old=old, new=new, body=reason)
    if assignee is not None and ticket.status is Status.NEW:
        move(ticket, Status.ASSIGNED, actor)
    elif assignee is None and ticket.status is Status.ASSIGNED:
        move(ticket, Status.NEW, actor)


def take(ticket: Ticket, technician: User) -> None:
    """Assign the ticket to the technician taking it."""
    assign(ticket, technician, technician)


def change_fields(
    ticket: Ticket, actor: User, changes: dict[str, Any], reason: str = ""
) -> list[TicketEvent]:
    """Correct intake fields (``EDITABLE_FIELDS``; category by id) and record each change.

    A changed impact, urgency or core-system flag recomputes the priority from the matrix,
    recorded with the reason "matrix"; a new category routes an unassigned ticket again.
    """
    events = []
    for name, value in changes.items():
        if name not in EDITABLE_FIELDS:
            raise ValueError(f"{name!r} is not a field a technician can change")
        attribute = "category_id" if name == "category" else name
        old = getattr(ticket, attribute)
        if old == value:
            continue
        setattr(ticket, attribute, value)
        events.append(
            _record(
                ticket, EventKind.FIELD_CHANGED, actor, field=name, old=old, new=value, body=reason
            )
        )
    session = object_session(ticket)
    changed = {e.field for e in events}
    if PRIORITY_FIELDS & changed:
        matrix = settings.get(session, "priority_matrix") if session is not None else None
        priority = priority_for(ticket.impact, ticket.urgency, matrix, ticket.core_system_down)
        if priority != ticket.priority:
            events.append(set_priority(ticket, priority, actor, "", from_matrix=True))
    if "category" in changed and ticket.assignee is None and session is not None:
        route(session, ticket)
    return events


def set_priority(
    ticket: Ticket, priority: str, actor: User | None, reason: str, from_matrix: bool = False
) -> TicketEvent:
    """Set the priority: from the matrix, or overridden by a technician with a reason."""
    if priority not in settings.PRIORITIES:
        raise ValueError(f"unknown priority {priority!r}")
    old = ticket.priority
    ticket.priority = priority
    return _record(
        ticket,
        EventKind.FIELD_CHANGED,
        actor,
        field="priority",
        old=old,
        new=priority,
        body=reason,
        reason="matrix" if from_matrix else "override",
    )


def record_resolution(
    ticket: Ticket, technician: User, diagnosis: str, cause: str, solution: str
) -> None:
    """Record diagnosis, cause and solution, resolve, and ask the requester to confirm."""
    check(  # refuse before changing anything
        ticket.status,
        Status.RESOLVED,
        parties(ticket, technician),
        has_resolution=_has_resolution(diagnosis, solution),
    )
    for name, value in (("diagnosis", diagnosis), ("cause", cause), ("solution", solution)):
        old = getattr(ticket, name)
        if old != value:
            setattr(ticket, name, value)
            _record(
                ticket,
                EventKind.FIELD_CHANGED,
                technician,
                field=name,
                old=old,
                new=value,
                internal=name in STAFF_ONLY_FIELDS,
            )
    if ticket.assignee is None:
        assign(ticket, technician, technician)
    move(ticket, Status.RESOLVED, technician)
    _record(ticket, EventKind.CONFIRMATION_ASKED, None)


def confirm_fix(ticket: Ticket, requester: User) -> None:
    """The requester confirms the fix: the ticket closes."""
    move(ticket, Status.CLOSED, requester, kind=EventKind.USER_CONFIRMED)


def reopen(ticket: Ticket, requester: User, comment: str) -> None:
    """The requester says the fix did not work: back into progress, with their comment."""
    move(ticket, Status.IN_PROGRESS, requester, body=comment, kind=EventKind.USER_REOPENED)


def record_service_level(
    ticket: Ticket, kind: EventKind, clock: str, due_at: datetime | None
) -> TicketEvent:
    """Record a service-level warning or breach of the ``clock`` ("response" or
    "resolution") due at ``due_at``; the desk is the actor."""
    if kind not in (EventKind.SLA_WARNING, EventKind.SLA_BREACH):
        raise ValueError(f"{kind} is not a service-level event")
    return _record(
        ticket, kind, None, internal=True, **service_level_detail(ticket.priority, clock, due_at)
    )


def service_level_detail(priority: str, clock: str, due_at: datetime | None) -> dict[str, Any]:
    """Return what a warning or breach of ``clock`` records: the clock, its due time and
    the priority it was counted for."""
    return {
        "clock": clock,
        "due": due_at.isoformat() if due_at is not None else None,
        "priority": priority,
    }


def remind(ticket: Ticket, closes_at: datetime) -> TicketEvent:
    """Record that the requester was reminded to confirm the fix before ``closes_at``."""
    return _record(ticket, EventKind.REMINDER_SENT, None, closes=closes_at.isoformat())


def auto_close(ticket: Ticket) -> TicketEvent:
    """Close a resolved ticket the requester did not answer, by the auto-close policy."""
    return move(ticket, Status.CLOSED, None, kind=EventKind.AUTO_CLOSED)


class RatingRefused(ValueError):
    """A rating cannot be given: not closed, already rated, or out of range."""


def rate(ticket: Ticket, requester: User | None, score: int, comment: str) -> TicketEvent:
    """Record the requester's 1-5 rating of a closed ticket, with an optional comment.

    ``requester`` is None when the rating comes through the signed link of the closing mail.
    """
    if ticket.status is not Status.CLOSED:
        raise RatingRefused("only a closed ticket can be rated")
    if ticket.rating is not None:
        raise RatingRefused("this ticket has been rated already")
    if not 1 <= score <= 5:
        raise RatingRefused("a rating is a whole number from 1 to 5")
    ticket.rating = score
    event = _record(ticket, EventKind.RATED, requester or ticket.requester, body=comment.strip())
    event.detail = {"score": score, "via": "portal" if requester is not None else "mail"}
    return event


def link_article(
    ticket: Ticket, article: Article, relation: ArticleLink, actor: User, **detail: Any
) -> bool:
    """Record that ``article`` was drafted from, solved, or was cited in a reply on
    ``ticket``; False if it already solved it."""
    if relation is ArticleLink.SOLVED_BY:
        if article in ticket.solved_by:
            return False
        ticket.solved_by.append(article)
    _record(
        ticket,
        EventKind.ARTICLE_LINKED,
        actor,
        internal=relation is ArticleLink.DRAFTED,
        article_id=article.id,
        relation=relation.value,
        **detail,
    )
    return True


def unlink_solution(ticket: Ticket, article: Article, actor: User) -> bool:
    """Record that ``article`` did not solve ``ticket`` after all (a link set by mistake);
    False if it was not linked."""
    if article not in ticket.solved_by:
        return False
    ticket.solved_by.remove(article)
    _record(
        ticket,
        EventKind.ARTICLE_LINKED,
        actor,
        article_id=article.id,
        relation=ArticleLink.SOLVED_BY.value,
        removed=True,
    )
    return True


def tickets_solved_by(session: Session, article: Article) -> list[Ticket]:
    """Return the tickets ``article`` solved, newest first."""
    return list(
        session.scalars(
            select(Ticket)
            .join(ticket_solutions, ticket_solutions.c.ticket_id == Ticket.id)
            .where(ticket_solutions.c.article_id == article.id)
            .order_by(Ticket.id.desc())
        )
    )


def move_solutions(session: Session, duplicate: Article, target: Article, actor: User) -> int:
    """Make the tickets ``duplicate`` solved name ``target`` instead (a merge), each with
    an event; return how many tickets now name ``target`` for it."""
    moved = 0
    for ticket in tickets_solved_by(session, duplicate):
        ticket.solved_by.remove(duplicate)
        if link_article(ticket, target, ArticleLink.SOLVED_BY, actor, merged_from=duplicate.id):
            moved += 1
    return moved


def record_bounce(ticket: Ticket, body: str, **detail: Any) -> TicketEvent:
    """Record that mail about the ticket came back undelivered (staff only)."""
    return _record(
        ticket,
        EventKind.NOTIFICATION_FAILED,
        None,
        body=body,
        internal=True,
        via=Actor.EMAIL,
        **detail,
    )
