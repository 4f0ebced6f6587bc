"""The technicians' queue as queries: which tickets a view and its filters hold, how many
in each status (capped), and one page of them in an order.

The queries are shaped for a desk of a million tickets. Each status is read on its own
through an index that starts with the status and continues with the order's columns
(migration 0015), so a page stops after the rows it shows instead of sorting every match:
one part per status of the view, at most ``offset + limit`` rows each, merged by one outer
ORDER BY. The deadline order puts running clocks first and the rest after; it is read as
two parts (with a deadline, ordered by it; without, by priority), each walking an index.
A search starts from the tickets holding its words instead. Counts stop at ``COUNT_CAP``:
past it the queue shows "10,000+", which is as much as anyone reads from a tab.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session, joinedload

from portal.tickets.models import Channel, Status, Ticket
from portal.tickets.workflow import OPEN_STATUSES

COUNT_CAP = 10_000
SORTS = ("deadline", "priority", "age", "updated", "relevance")
FINISHED_STATUSES = (Status.RESOLVED, Status.CLOSED)


@dataclass(frozen=True)
class Selection:
    """The tickets a queue shows: the statuses its view allows, the view's own conditions,
    the filters (priority, category, channel, search), the status the reader picked, and
    the search's score (None without a search)."""

    statuses: tuple[Status, ...]
    view_conditions: Sequence[ColumnElement[bool]] = ()
    priority: str = ""
    category_id: int | None = None
    channel: Channel | None = None
    search: Sequence[ColumnElement[bool]] = ()
    status: Status | None = None
    score: Any | None = None
    # The view holds only tickets with a running clock (at risk, overdue).
    needs_deadline: bool = False

    def shown_statuses(self) -> tuple[Status, ...]:
        """Return the statuses whose tickets are listed (the picked one, if the view has it)."""
        if self.status is None:
            return self.statuses
        return (self.status,) if self.status in self.statuses else ()

    def conditions(self, walking: bool = False) -> list[ColumnElement[bool]]:
        """Return the conditions apart from status. ``walking``: the filters are written so
        that no index is used for them (``+ 0``, ``|| ''``, as SQLite's planner documents),
        which keeps the walk along the status-and-order index a page needs; a filter's own
        index would find every match and sort them all."""
        found = list(self.view_conditions)
        if self.priority:
            column: Any = Ticket.priority.concat("") if walking else Ticket.priority
            found.append(column == self.priority)
        if self.category_id is not None:
            column = (Ticket.category_id + 0) if walking else Ticket.category_id
            found.append(column == self.category_id)
        if self.channel is not None:
            if walking:
                found.append(type_coerce(Ticket.channel, String).concat("") == self.channel.value)
            else:
                found.append(Ticket.channel == self.channel)
        found.extend(self.search)
        return found


@dataclass(frozen=True)
class StatusCounts:
    """How many tickets of a view are in each status, as far as they were counted."""

    numbers: dict[Status, int]
    # Every number is only a lower bound: a search's matches were counted up to the cap.
    partial: bool = False

    def get(self, status: Status) -> int:
        """Return the number to show for ``status`` (at most the cap; 0 when none)."""
        return min(self.numbers.get(status, 0), COUNT_CAP)

    def more(self, status: Status) -> bool:
        """Return whether there are more tickets in ``status`` than the number shown."""
        return self.partial or self.numbers.get(status, 0) > COUNT_CAP

    @property
    def total(self) -> int:
        """Return the number to show for all statuses together (the cap when a search's
        matches were counted only that far)."""
        if self.partial:
            return COUNT_CAP
        return sum(self.get(s) for s in self.numbers)

    @property
    def total_more(self) -> bool:
        """Return whether there are more tickets in all than the total shown."""
        return self.partial or any(self.more(s) for s in self.numbers)


def count_by_status(session: Session, selection: Selection) -> StatusCounts:
    """Return how many tickets of the view (ignoring the picked status) are in each status,
    counting at most ``COUNT_CAP + 1`` per status (of a search: in all)."""
    if not selection.statuses:
        return StatusCounts({})
    if selection.search:
        return _count_matches(session, selection)
    columns = []
    for status in selection.statuses:
        capped = (
            select(literal(1))
            .select_from(Ticket)
            .where(Ticket.status == status, *selection.conditions())
            .limit(COUNT_CAP + 1)
            .subquery()
        )
        columns.append(select(func.count()).select_from(capped).scalar_subquery())
    numbers = session.execute(select(*columns)).one()
    return StatusCounts({s: int(n) for s, n in zip(selection.statuses, numbers, strict=True) if n})


def _count_matches(session: Session, selection: Selection) -> StatusCounts:
    """Count a search's matches in one pass over them (they are found by their words, not
    by status), stopping after ``COUNT_CAP + 1``."""
    where = selection.conditions()
    if set(selection.statuses) != set(Status):
        where.append(Ticket.status.in_(selection.statuses))
    matches = select(Ticket.status).where(*where).limit(COUNT_CAP + 1).subquery()
    rows = session.execute(select(matches.c.status, func.count()).group_by(matches.c.status))
    numbers = {Status(status): int(n) for status, n in rows}
    return StatusCounts(numbers, partial=sum(numbers.values()) > COUNT_CAP)


def _parts(selection: Selection, sort: str, rows: int) -> list[Select[Any]]:
    """Return one query per status (and per half of the deadline order) of at most ``rows``
    ids with the columns of the order, each ordered so that an index serves it."""
    parts: list[Select[Any]] = []
    conditions = selection.conditions(walking=True)
    for status in selection.shown_statuses():
        where = (Ticket.status == status, *conditions)
        if sort == "deadline":
            due = (
                select(
                    Ticket.id,
                    literal_column("0").label("k0"),
                    Ticket.sla_due_at.label("k1"),
                    Ticket.priority.label("k2"),
                )
                .where(*where, Ticket.sla_due_at.is_not(None))
                .order_by(Ticket.sla_due_at, Ticket.priority, Ticket.id)
            )
            rest = (
                select(
                    Ticket.id,
                    literal_column("1").label("k0"),
                    cast(null(), Ticket.sla_due_at.type).label("k1"),
                    Ticket.priority.label("k2"),
                )
                .where(*where, Ticket.sla_due_at.is_(None))
                .order_by(Ticket.priority, Ticket.id)
            )
            parts.append(due.limit(rows))
            if not selection.needs_deadline:
                parts.append(rest.limit(rows))
        elif sort == "priority":
            parts.append(
                select(Ticket.id, Ticket.priority.label("k0"), Ticket.created_at.label("k1"))
                .where(*where)
                .order_by(Ticket.priority, Ticket.created_at, Ticket.id)
                .limit(rows)
            )
        elif sort == "age":
            parts.append(
                select(Ticket.id, Ticket.created_at.label("k0"))
                .where(*where)
                .order_by(Ticket.created_at, Ticket.id)
                .limit(rows)
            )
        else:
            parts.append(
                select(Ticket.id, Ticket.updated_at.label("k0"))
                .where(*where)
                .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
                .limit(rows)
            )
    return parts


OUTER_ORDER = {
    "deadline": ("k0", "k1", "k2", "id"),
    "priority": ("k0", "k1", "id"),
    "age": ("k0", "id"),
    "updated": ("-k0", "-id"),
}


def page_ids(
    session: Session, selection: Selection, sort: str, offset: int, limit: int
) -> list[int]:
    """Return the ids of one page of the selection in ``sort`` order (a search orders by
    relevance when asked to)."""
    if sort == "relevance" or selection.score is not None:
        return _searched_ids(session, selection, sort, offset, limit)
    parts = _parts(selection, sort, offset + limit)
    if not parts:
        return []
    merged = union_all(*(select(part.subquery()) for part in parts)).subquery()
    order = [
        merged.c[key[1:]].desc() if key.startswith("-") else merged.c[key]
        for key in OUTER_ORDER[sort]
    ]
    query = select(merged.c.id).order_by(*order).offset(offset).limit(limit)
    return list(session.scalars(query))


def _searched_ids(
    session: Session, selection: Selection, sort: str, offset: int, limit: int
) -> list[int]:
    """Return a page of a search: the matches are few enough to order in one query."""
    where = selection.conditions()
    shown = selection.shown_statuses()
    if not shown:
        return []
    if set(shown) != set(Status):
        where.append(Ticket.status.in_(shown))
    order: tuple[Any, ...] = {
        "deadline": (Ticket.sla_due_at.is_(None), Ticket.sla_due_at, Ticket.priority),
        "priority": (Ticket.priority, Ticket.created_at),
        "age": (Ticket.created_at,),
        "updated": (Ticket.updated_at.desc(), Ticket.id.desc()),
        "relevance": (selection.score.desc(), Ticket.updated_at.desc())
        if selection.score is not None
        else (Ticket.updated_at.desc(),),
    }[sort]
    query = select(Ticket.id).where(*where).order_by(*order, Ticket.id)
    return list(session.scalars(query.offset(offset).limit(limit)))


def load_tickets(session: Session, ids: Sequence[int]) -> list[Ticket]:
    """Return the tickets of ``ids`` in that order, with the people, group and category the
    queue shows loaded in the same query."""
    if not ids:
        return []
    found = session.scalars(
        select(Ticket)
        .where(Ticket.id.in_(ids))
        .options(
            joinedload(Ticket.requester),
            joinedload(Ticket.assignee),
            joinedload(Ticket.group),
            joinedload(Ticket.category),
        )
    ).unique()
    by_id = {t.id: t for t in found}
    return [by_id[i] for i in ids if i in by_id]


def view_statuses(view: str) -> tuple[Status, ...]:
    """Return the statuses a queue view can hold."""
    if view in ("open", "mine", "my_groups", "unassigned"):
        return OPEN_STATUSES
    if view == "resolved":
        return FINISHED_STATUSES
    return tuple(Status)
