"""The technicians' queue as queries: which tickets a view and its filters hold, how many
in each status (capped), and one page of them in an order.

The queries are shaped for a desk of a million tickets. Each status is read on its own
through an index that starts with the status and continues with the order's columns
(migration 0015), so a page stops after the rows it shows instead of sorting every match:
one part per status of the view, at most ``offset + limit`` rows each, merged by one outer
ORDER BY. The deadline order puts running clocks first and the rest after; it is read as
two parts (with a deadline, ordered by it; without, by priority), each walking an index.
Counts stop at ``COUNT_CAP``: past it the queue shows "10,000+", which is as much as anyone
reads from a tab (a search's at ``SEARCH_COUNT_CAP``).

A search keeps the queue's order, as the service desks do (best match first is a choice).
Common words are read along that order, each ticket met checked by primary-key look-ups
in ``ticket_terms`` until the page is full; rare words (and sparse combinations of common
ones, estimated from a sample) start from the tickets holding the rarest word, checking
the others before reading a ticket, and sort those few.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
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
from portal.tickets.text_search import TicketSearch, postings, share_matching, ticket_terms
from portal.tickets.workflow import OPEN_STATUSES

COUNT_CAP = 10_000
# A search's counts stop sooner: past a thousand matches the search wants narrowing, not
# counting, and counting common words further reads thousands of tickets more.
SEARCH_COUNT_CAP = 1_000
# A search whose every required word is held by at least this many tickets is read along
# the queue's order, checking each ticket met; a rarer one starts from its word's tickets.
WALK_FROM = 2_000
# How many tickets of the rarest word are checked to estimate the matches of several words.
SAMPLE = 500
SORTS = ("deadline", "priority", "age", "updated", "relevance")
FINISHED_STATUSES = (Status.RESOLVED, Status.CLOSED)


@dataclass(frozen=True)
class Selection:
    """The tickets a queue shows: the statuses its view allows, the view's own conditions,
    the filters (priority, category, channel, search), and the status the reader picked."""

    statuses: tuple[Status, ...]
    view_conditions: Sequence[ColumnElement[bool]] = ()
    priority: str = ""
    category_id: int | None = None
    channel: Channel | None = None
    search: TicketSearch | None = None
    status: Status | None = None
    # The view holds only tickets with a running clock (at risk, overdue).
    needs_deadline: bool = False
    # Set by ``plan_search``: the search's rarest required term, how many tickets hold it
    # (counted up to ``COUNT_CAP + 1``), and whether the search is read along the queue's
    # order (common words) rather than from the tickets holding that term.
    driver: str | None = None
    driver_postings: int = 0
    walks: bool = False

    def shown_statuses(self) -> tuple[Status, ...]:
        """Return the statuses whose tickets are listed (the picked one, if the view has it)."""
        if self.status is None:
            return self.statuses
        return (self.status,) if self.status in self.statuses else ()

    def conditions(
        self, walking: bool = False, keep_priority: bool = False, probe: bool = False
    ) -> list[ColumnElement[bool]]:
        """Return the conditions apart from status. ``walking``: the filters are written so
        that no index is used for them (``+ 0``, ``|| ''``, as SQLite's planner documents),
        which keeps the walk along the status-and-order index a page needs; a filter's own
        index would find every match and sort them all. ``keep_priority``: the walk's index
        has the priority next, so its filter narrows the walk instead. ``probe`` (implied by
        ``walking``): the search is checked ticket by ticket."""
        found = list(self.view_conditions)
        if self.priority:
            plain = not walking or keep_priority
            column: Any = Ticket.priority if plain else Ticket.priority.concat("")
            found.append(column == self.priority)
        if self.category_id is not None:
            column = (Ticket.category_id + 0) if walking else Ticket.category_id
            found.append(column == self.category_id)
        if self.channel is not None:
            if walking:
                found.append(type_coerce(Ticket.channel, String).concat("") == self.channel.value)
            else:
                found.append(Ticket.channel == self.channel)
        if self.search is not None:
            found.append(self.search.condition(probe=walking or probe))
        return found


@dataclass(frozen=True)
class StatusCounts:
    """How many tickets of a view are in each status, as far as they were counted."""

    numbers: dict[Status, int]
    # Every number is only a lower bound: a search's matches were counted up to the cap.
    partial: bool = False
    # Where counting stopped (``COUNT_CAP`` when None).
    stopped_at: int | None = None

    @property
    def cap(self) -> int:
        """Return the number past which counting stopped."""
        return COUNT_CAP if self.stopped_at is None else self.stopped_at

    def get(self, status: Status) -> int:
        """Return the number to show for ``status`` (at most the cap; 0 when none)."""
        return min(self.numbers.get(status, 0), self.cap)

    def more(self, status: Status) -> bool:
        """Return whether there are more tickets in ``status`` than the number shown."""
        return self.partial or self.numbers.get(status, 0) > self.cap

    @property
    def total(self) -> int:
        """Return the number to show for all statuses together (the cap when a search's
        matches were counted only that far)."""
        if self.partial:
            return self.cap
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
    if selection.search is not None and selection.walks:
        return _count_common_matches(session, selection)
    if selection.search is not None:
        return _count_matches(session, selection, selection.statuses)
    return StatusCounts(_capped_counts(session, selection, selection.statuses))


def _capped_counts(
    session: Session,
    selection: Selection,
    statuses: Sequence[Status],
    probe: bool = False,
    cap: int | None = None,
) -> dict[Status, int]:
    """Return the tickets of the selection in each of ``statuses``, each counted along the
    status's index up to ``COUNT_CAP + 1`` (a search checked ticket by ticket if ``probe``)."""
    if not statuses:
        return {}
    columns = []
    for status in statuses:
        capped = (
            select(literal(1))
            .select_from(Ticket)
            .where(Ticket.status == status, *selection.conditions(probe=probe))
            .limit((cap or COUNT_CAP) + 1)
            .subquery()
        )
        columns.append(select(func.count()).select_from(capped).scalar_subquery())
    numbers = session.execute(select(*columns)).one()
    return {s: int(n) for s, n in zip(statuses, numbers, strict=True) if n}


def _from_words(selection: Selection, query: Select[Any]) -> Select[Any]:
    """Return ``query`` over the selection's tickets found by the search's words: starting
    from the tickets holding its rarest term and checking the others before reading the
    ticket, when it has one."""
    if selection.search is None or selection.driver is None:
        return query.where(*selection.conditions())
    return query.select_from(
        ticket_terms.join(Ticket, Ticket.id == ticket_terms.c.ticket_id)
    ).where(
        ticket_terms.c.term == selection.driver,
        selection.search.condition(
            probe=True, ticket_id=ticket_terms.c.ticket_id, known=selection.driver
        ),
        *replace(selection, search=None).conditions(),
    )


def _count_matches(
    session: Session, selection: Selection, statuses: Sequence[Status]
) -> StatusCounts:
    """Count a search's matches in ``statuses`` in one pass over them (they are found by
    their words, not by status), stopping after ``COUNT_CAP + 1``."""
    query = _from_words(selection, select(Ticket.status))
    if set(statuses) != set(Status):
        query = query.where(Ticket.status.in_(statuses))
    matches = query.limit(SEARCH_COUNT_CAP + 1).subquery()
    rows = session.execute(select(matches.c.status, func.count()).group_by(matches.c.status))
    numbers = {Status(status): int(n) for status, n in rows}
    partial = sum(numbers.values()) > SEARCH_COUNT_CAP
    return StatusCounts(numbers, partial=partial, stopped_at=SEARCH_COUNT_CAP)


def _count_common_matches(session: Session, selection: Selection) -> StatusCounts:
    """Count a search for common words: a status with fewer tickets than its rarest word
    has is counted along the status's index, checking each ticket; the larger ones in one
    pass over the tickets holding that word, stopping after ``COUNT_CAP + 1``."""
    sizes = _capped_counts(session, replace(selection, search=None), selection.statuses)
    small = [s for s in selection.statuses if sizes.get(s, 0) < selection.driver_postings]
    large = [s for s in selection.statuses if s not in small]
    numbers = _capped_counts(
        session, selection, [s for s in small if sizes.get(s)], True, SEARCH_COUNT_CAP
    )
    partial = False
    if large and selection.search is not None:
        # Written so that no status index is used: the pass starts from the word, and checks
        # the other words before it reads the ticket.
        status = type_coerce(Ticket.status, String).concat("")
        matches = (
            select(Ticket.status)
            .select_from(ticket_terms.join(Ticket, Ticket.id == ticket_terms.c.ticket_id))
            .where(
                ticket_terms.c.term == selection.driver,
                selection.search.condition(
                    probe=True, ticket_id=ticket_terms.c.ticket_id, known=selection.driver
                ),
                status.in_([s.value for s in large]),
                *replace(selection, search=None).conditions(walking=True),
            )
            .limit(SEARCH_COUNT_CAP + 1)
            .subquery()
        )
        rows = session.execute(select(matches.c.status, func.count()).group_by(matches.c.status))
        found = {Status(s): int(n) for s, n in rows}
        numbers.update(found)
        partial = sum(found.values()) > SEARCH_COUNT_CAP
    return StatusCounts(numbers, partial=partial, stopped_at=SEARCH_COUNT_CAP)


def plan_search(session: Session, selection: Selection) -> Selection:
    """Return the selection with its search's rarest required term and how many tickets
    hold it (up to ``COUNT_CAP + 1``), which decide how the search is read: along the
    queue's order when at least ``WALK_FROM`` do."""
    if selection.search is None:
        return selection
    counted = [(postings(session, t, COUNT_CAP + 1), t) for t in selection.search.required_terms()]
    if not counted:
        return selection
    number, term = min(counted)
    matches = float(number)
    if number >= WALK_FROM and len(counted) > 1:
        # Several common words may seldom meet: walking would then pass many tickets.
        matches *= share_matching(session, selection.search, term, SAMPLE)
    return replace(selection, driver=term, driver_postings=number, walks=matches >= WALK_FROM)


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
                .where(
                    Ticket.status == status,
                    *selection.conditions(walking=True, keep_priority=True),
                    Ticket.sla_due_at.is_(None),
                )
                .order_by(Ticket.priority, Ticket.id)
            )
            parts.append(due.limit(rows))
            if not selection.needs_deadline:
                parts.append(rest.limit(rows))
        elif sort == "priority":
            parts.append(
                select(Ticket.id, Ticket.priority.label("k0"), Ticket.created_at.label("k1"))
                .where(Ticket.status == status, *selection.conditions(True, keep_priority=True))
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
    if selection.search is not None and (sort == "relevance" or not selection.walks):
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
    """Return a page of a search ordered in one query: all its matches (few for a rare
    word; for relevance of several words, every match is scored)."""
    search = selection.search
    assert search is not None
    shown = selection.shown_statuses()
    if not shown:
        return []
    if sort == "relevance" and _one_word(selection):
        return _best_matches_of_one_word(session, selection, shown, offset, limit)
    query = _from_words(selection, select(Ticket.id))
    if set(shown) != set(Status):
        query = query.where(Ticket.status.in_(shown))
    order: tuple[Any, ...] = {
        "deadline": (Ticket.sla_due_at.is_(None), Ticket.sla_due_at, Ticket.priority),
        "priority": (Ticket.priority, Ticket.created_at),
        "age": (Ticket.created_at,),
        "updated": (Ticket.updated_at.desc(), Ticket.id.desc()),
        "relevance": (search.score().desc(), Ticket.updated_at.desc()),
    }[sort]
    query = query.order_by(*order, Ticket.id)
    return list(session.scalars(query.offset(offset).limit(limit)))


def _one_word(selection: Selection) -> bool:
    """Return whether the search is one word read from its own tickets (its relevance is
    the weight stored with each of them)."""
    assert selection.search is not None
    units = selection.search.units
    return len(units) == 1 and not units[0][1] and selection.driver == units[0][0]


def _best_matches_of_one_word(
    session: Session, selection: Selection, shown: Sequence[Status], offset: int, limit: int
) -> list[int]:
    """Return a page of a one-word search, best match first. A common word has tens of
    thousands of tickets, but few carry its heaviest weights: the weight of the last row
    the page needs is found first, reading the word's tickets from the heaviest along
    ``ix_ticket_terms_term_weight`` and stopping there, so that only the tickets at least
    that heavy are read and sorted by their latest change."""
    assert selection.driver is not None
    weight = ticket_terms.c.weight
    # The filters are written so that no index of theirs is used: the word's tickets, in
    # order of weight, drive both queries (see ``Selection.conditions``).
    where = [ticket_terms.c.term == selection.driver]
    where += replace(selection, search=None).conditions(walking=True)
    if set(shown) != set(Status):
        status = type_coerce(Ticket.status, String).concat("")
        where.append(status.in_([s.value for s in shown]))
    joined = ticket_terms.join(Ticket, Ticket.id == ticket_terms.c.ticket_id)
    floor = (
        select(weight)
        .select_from(joined)
        .where(*where)
        .order_by(weight.desc())
        .offset(offset + limit - 1)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(Ticket.id)
        .select_from(joined)
        .where(*where, weight >= func.coalesce(floor, 0))
        .order_by(weight.desc(), Ticket.updated_at.desc(), Ticket.id)
        .offset(offset)
        .limit(limit)
    )
    return list(session.scalars(query))


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
