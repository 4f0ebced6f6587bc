"""Staff search over tickets: the words of a ticket's text, kept in the database.

Each ticket's subject, symptom, resolution, replies, internal notes and requester go
through the search analyzer (jieba for Chinese, stemmed English) into ``ticket_terms``,
one row per ticket and term with a weight (the subject counts most), in the same
transaction as the change. A query matches the tickets that hold every one of its words;
a Chinese word also matches a ticket that holds all its character pairs (the segmenter
may cut the same text differently in a sentence and in a query). Staff see internal notes,
so these are searchable too; the search is staff-only for that reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Table,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    true,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from articles.models import Base
from portal.tickets.models import EventKind, Ticket
from search.analysis import cjk_pairs, has_cjk, phrase_terms, terms

MAX_TERM = 64
MAX_WEIGHT = 30000
MAX_QUERY_WORDS = 12
# How much a word counts in each part of the ticket.
SUBJECT, DETAILS, MESSAGE = 4, 2, 1
TEXT_EVENTS = (EventKind.REPLY, EventKind.NOTE)

ticket_terms = Table(
    "ticket_terms",
    Base.metadata,
    Column("term", String(MAX_TERM), primary_key=True),
    Column("ticket_id", ForeignKey("tickets.id"), primary_key=True, index=True),
    Column("weight", SmallInteger, nullable=False),
    # A word's tickets from the heaviest: best match first reads only the page's worth
    # (migration 0022). It covers the query, so no table row is read for the weight.
    Index("ix_ticket_terms_term_weight", "term", "weight", "ticket_id"),
)


def words_of(parts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Return the weighted terms of ``(text, weight)`` parts: analysed words and, for
    Chinese, character pairs, each summed over the parts (capped)."""
    found: Counter[str] = Counter()
    for text, weight in parts:
        if not text:
            continue
        words = set(terms(text))
        if has_cjk(text):
            words.update(cjk_pairs(text))
        for word in words:
            if len(word) <= MAX_TERM:
                found[word] += weight
    return {word: min(weight, MAX_WEIGHT) for word, weight in found.items()}


def _parts(
    subject: str,
    details: Iterable[str],
    requester: Iterable[str],
    messages: Iterable[str],
) -> list[tuple[str, int]]:
    """Return a ticket's texts with their weights: the subject; the symptom, diagnosis,
    cause and solution; the requester's name and e-mail; the replies and notes."""
    parts = [(subject, SUBJECT)]
    parts.extend((text or "", DETAILS) for text in details)
    parts.append((" ".join(filter(None, requester)), MESSAGE))
    parts.extend((body or "", MESSAGE) for body in messages)
    return parts


def _ticket_parts(ticket: Ticket) -> list[tuple[str, int]]:
    return _parts(
        ticket.subject,
        (ticket.symptom, ticket.diagnosis, ticket.cause, ticket.solution),
        (ticket.requester.display_name, ticket.requester.email),
        (e.body for e in ticket.events if e.kind in TEXT_EVENTS),
    )


def refresh(session: Session, tickets: Iterable[Ticket]) -> None:
    """Store the terms of ``tickets`` anew (in the session's transaction)."""
    for ticket in tickets:
        session.execute(delete(ticket_terms).where(ticket_terms.c.ticket_id == ticket.id))
        rows = [
            {"term": term, "ticket_id": ticket.id, "weight": weight}
            for term, weight in words_of(_ticket_parts(ticket)).items()
        ]
        if rows:
            session.execute(insert(ticket_terms), rows)


def rebuild(connection: Connection, batch: int = 500) -> int:
    """Store the terms of every ticket anew, reading the tables directly; return how many
    tickets were read (used by the migration and by ``solveloop tickets reindex``)."""
    from portal.auth.models import User
    from portal.tickets.models import TicketEvent

    connection.execute(delete(ticket_terms))
    tickets = Ticket.__table__
    users = User.__table__
    events = TicketEvent.__table__
    done = 0
    last = 0
    while True:
        rows = connection.execute(
            select(
                tickets.c.id,
                tickets.c.subject,
                tickets.c.symptom,
                tickets.c.diagnosis,
                tickets.c.cause,
                tickets.c.solution,
                users.c.display_name,
                users.c.email,
            )
            .join(users, users.c.id == tickets.c.requester_id)
            .where(tickets.c.id > last)
            .order_by(tickets.c.id)
            .limit(batch)
        ).all()
        if not rows:
            return done
        ids = [row.id for row in rows]
        bodies: dict[int, list[str]] = {}
        for ticket_id, body in connection.execute(
            select(events.c.ticket_id, events.c.body).where(
                events.c.ticket_id.in_(ids), events.c.kind.in_([k.value for k in TEXT_EVENTS])
            )
        ):
            bodies.setdefault(ticket_id, []).append(body)
        stored: list[dict[str, Any]] = []
        for row in rows:
            parts = _parts(
                row.subject,
                (row.symptom, row.diagnosis, row.cause, row.solution),
                (row.display_name, row.email),
                bodies.get(row.id, []),
            )
            stored.extend(
                {"term": term, "ticket_id": row.id, "weight": weight}
                for term, weight in words_of(parts).items()
            )
        if stored:
            connection.execute(insert(ticket_terms), stored)
        done += len(rows)
        last = ids[-1]


def query_units(query: str) -> list[tuple[str, list[str]]]:
    """Return what a query asks for: each of its words (at most ``MAX_QUERY_WORDS``),
    with the character pairs that can stand for a longer Chinese word."""
    units: list[tuple[str, list[str]]] = []
    for word in dict.fromkeys(phrase_terms(query)):
        if len(word) > MAX_TERM:
            continue
        pairs = cjk_pairs(word) if has_cjk(word) and len(word) > 2 else []
        units.append((word, pairs))
    return units[:MAX_QUERY_WORDS]


def _holding(word: str) -> Any:
    return select(ticket_terms.c.ticket_id).where(ticket_terms.c.term == word)


def _holds(word: str, ticket_id: Any) -> ColumnElement[bool]:
    """Return whether the ticket ``ticket_id`` holds ``word``: one look-up in the primary
    key, for a ticket met while walking the queue's order or another word's tickets."""
    found = ticket_terms.alias()
    return (
        select(found.c.ticket_id)
        .where(found.c.term == word, found.c.ticket_id == ticket_id)
        .exists()
    )


def _starting(word: str) -> Any:
    return select(ticket_terms.c.ticket_id).where(
        ticket_terms.c.term >= word, ticket_terms.c.term < word + "\uffff"
    )


def _unit_condition(
    word: str, pairs: Sequence[str], probe: Any, known: str | None = None
) -> ColumnElement[bool]:
    if len(word) == 1 and has_cjk(word):
        # One character: the tickets with a word that starts with it.
        return Ticket.id.in_(_starting(word))
    held = (
        (lambda w: _holds(w, probe))
        if probe is not None
        else (lambda w: Ticket.id.in_(_holding(w)))
    )
    # A ticket holding the word holds its pairs too (both come from the same text), so
    # "the word, or all its pairs" is "all its pairs": one look-up fewer.
    needed = [t for t in dict.fromkeys(pairs or (word,)) if t != known]
    return and_(true(), *(held(term) for term in needed))


@dataclass(frozen=True)
class TicketSearch:
    """What a staff search asks for: its words (each with the character pairs that can
    stand for it) and, when the query is a number, that ticket."""

    units: tuple[tuple[str, tuple[str, ...]], ...]
    number: int | None = None

    def condition(
        self, probe: bool = False, ticket_id: Any = None, known: str | None = None
    ) -> ColumnElement[bool]:
        """Return the condition a matching ticket meets. By default it is written to start
        from the tickets holding the words (few, for a rare word); ``probe`` writes it as
        look-ups for each ticket met in another order (for common words), by the ticket's
        id or by ``ticket_id``. ``known``: a term the ticket is known to hold (it was read
        from that term's rows), which is not looked up again."""
        if not self.units:
            return Ticket.id == self.number
        on = (Ticket.id if ticket_id is None else ticket_id) if probe else None
        found: ColumnElement[bool] = and_(
            *(_unit_condition(w, p, on, known) for w, p in self.units)
        )
        if self.number is not None:
            found = or_(Ticket.id == self.number, found)
        return found

    def score(self) -> Any:
        """Return the relevance of a ticket: the summed weights of the query's words."""
        words = {word for word, _pairs in self.units} | {p for _w, ps in self.units for p in ps}
        return (
            select(func.coalesce(func.sum(ticket_terms.c.weight), 0))
            .where(ticket_terms.c.ticket_id == Ticket.id, ticket_terms.c.term.in_(sorted(words)))
            .correlate(Ticket)
            .scalar_subquery()
        )

    def required_terms(self) -> list[str]:
        """Return stored terms every match holds (a word, or each pair of a Chinese word: a
        text holding the word holds its pairs); empty when a ticket number or a single
        Chinese character can match without one."""
        if self.number is not None:
            return []
        found: list[str] = []
        for word, pairs in self.units:
            if len(word) == 1 and has_cjk(word):
                return []
            found.extend(pairs or (word,))
        return list(dict.fromkeys(found))


def share_matching(session: Session, search: TicketSearch, term: str, sample: int) -> float:
    """Return the share of the first ``sample`` tickets holding ``term`` that match the
    whole search (an estimate of how sparse several words are together)."""
    first = select(ticket_terms.c.ticket_id).where(ticket_terms.c.term == term).limit(sample)
    first_ids = first.subquery()
    held = session.scalar(select(func.count()).select_from(first_ids))
    if not held:
        return 0.0
    matching = (
        select(func.count())
        .select_from(first_ids)
        .where(search.condition(probe=True, ticket_id=first_ids.c.ticket_id, known=term))
    )
    return float(session.scalar(matching) or 0) / held


def postings(session: Session, term: str, cap: int) -> int:
    """Return how many tickets hold ``term``, counted along its index up to ``cap``."""
    held = select(ticket_terms.c.ticket_id).where(ticket_terms.c.term == term).limit(cap)
    return int(session.scalar(select(func.count()).select_from(held.subquery())) or 0)


def parse(query: str) -> TicketSearch | None:
    """Return what ``query`` asks for, or None when it has no searchable word (nor is a
    ticket number, ``123`` or ``#123``)."""
    raw = query.strip().lstrip("#")
    number = int(raw) if raw.isdigit() and len(raw) < 10 else None
    units = tuple((word, tuple(pairs)) for word, pairs in query_units(query))
    if not units and number is None:
        return None
    return TicketSearch(units, number)
