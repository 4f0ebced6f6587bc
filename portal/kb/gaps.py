"""Knowledge gaps: groups of similar resolved tickets that no article covers yet.

A resolved (or closed) ticket with a solution is *covered* when an article solved it, was
drafted from it, or one of the first five published articles that its subject and symptom
find (the real search, staff scope) holds at least COVERED_FLOOR of their informativeness.
The uncovered ones are indexed as documents (subject as the title; symptom and solution as
the body) in a throw-away index built by the same code as the articles' (bilingual
analyzer, ranking, the desk's synonym groups), and each one's subject is searched there:
two tickets are alike when either finds the other holding at least GAP_FLOOR of its
subject's informativeness. Alike tickets form groups (connected
components); the largest come first, each with the redacted subject of its most
connected ticket as the suggested title and that ticket as the one to draft from.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, selectinload

from articles.models import Article
from articles.redaction import redact
from portal.kb.queries import search_articles
from portal.tickets.models import Status, Ticket, ticket_solutions
from search.index import Document, Scope, SearchIndex

# Measured against the demo articles: of the intake set's 148 requests (each answered by a
# demo article) 99 count as covered at 0.8 (109 at 0.7, 92 at 0.9); of the 35 tickets of
# portal/demo/gap-history.json (topics no demo article treats) 3 do (8 at 0.7, 1 at 0.9).
COVERED_FLOOR = 0.8
COVERED_TOP = 5
# Measured on the same 35 tickets (8 hand-labelled groups in both languages, 6 singletons)
# with the subject as the query: at 0.4 / 0.5 / 0.6 pair precision 0.73 / 1.00 / 1.00 and
# recall among same-language pairs 1.00 / 1.00 / 0.92; tests/portal/test_knowledge_gaps.py
# prints the figures. Pairs across languages need a synonym group (see the README).
GAP_FLOOR = 0.5
NEIGHBOURS = 20
MIN_GROUP = 2
DEFAULT_LIMIT = 10


@dataclass(frozen=True)
class Gap:
    """A group of alike uncovered tickets, largest first."""

    tickets: tuple[Ticket, ...]
    representative: Ticket
    title: str

    @property
    def size(self) -> int:
        """How many tickets the group holds."""
        return len(self.tickets)


def resolved_uncovered(session: Session, since: datetime | None = None) -> list[Ticket]:
    """Return resolved or closed tickets with a solution that no article solved or was
    drafted from (whether an article resembles them is checked separately)."""
    query = (
        select(Ticket)
        .where(
            Ticket.status.in_((Status.RESOLVED, Status.CLOSED)),
            Ticket.solution != "",
            ~exists().where(ticket_solutions.c.ticket_id == Ticket.id),
            ~exists().where(Article.source_ticket_id == Ticket.id),
        )
        .options(selectinload(Ticket.requester), selectinload(Ticket.assignee))
        .order_by(Ticket.id)
    )
    if since is not None:
        query = query.where(Ticket.resolved_at >= since)
    return list(session.scalars(query))


def question_of(ticket: Ticket) -> str:
    """Return what a ticket asks, as it is searched: its subject and symptom."""
    return f"{ticket.subject}\n{ticket.symptom}"


def alike_pairs(
    tickets: Sequence[Ticket],
    synonyms: Iterable[Iterable[str]],
    floor: float = GAP_FLOOR,
    query: Callable[[Ticket], str] = lambda ticket: ticket.subject,
) -> set[tuple[int, int]]:
    """Return the pairs of ticket ids (smaller first) of tickets alike by search."""
    if len(tickets) < 2:
        return set()
    documents = [
        Document(
            id=str(t.id),
            title=t.subject,
            body=f"{t.symptom}\n{t.solution}",
            updated=t.resolved_at or t.created_at,
            version=1,
        )
        for t in tickets
    ]
    pairs: set[tuple[int, int]] = set()
    with tempfile.TemporaryDirectory(prefix="solveloop-gaps-") as root:
        index = SearchIndex.open(Path(root))
        try:
            index.rebuild(documents, 0)
            index.set_synonyms(synonyms)
            for ticket in tickets:
                page = index.search(query(ticket), Scope(), per_page=NEIGHBOURS)
                for hit in page.hits:
                    other = int(hit.id)
                    if other != ticket.id and hit.coverage >= floor:
                        pairs.add((min(ticket.id, other), max(ticket.id, other)))
        finally:
            index.close()
    return pairs


def group(ids: Sequence[int], pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Return the connected components of ``pairs`` over ``ids``, largest first."""
    parent = {i: i for i in ids}

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in pairs:
        if a in parent and b in parent:
            parent[root(a)] = root(b)
    components: dict[int, list[int]] = {}
    for i in ids:
        components.setdefault(root(i), []).append(i)
    return sorted(components.values(), key=lambda c: (-len(c), c[0]))


def covered(session: Session, ticket: Ticket) -> bool:
    """Return whether a published article already answers what the ticket asks."""
    found = search_articles(session, question_of(ticket), staff=True).found[:COVERED_TOP]
    return any(f.hit.coverage >= COVERED_FLOOR for f in found)


def _title(ticket: Ticket) -> str:
    people = [p for p in (ticket.requester, ticket.assignee) if p is not None]
    names = [name for person in people for name in person.identifiers()]
    return redact(ticket.subject, names).text


def knowledge_gaps(
    session: Session,
    synonyms: Iterable[Iterable[str]],
    since: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    min_size: int = MIN_GROUP,
) -> list[Gap]:
    """Return the largest groups (at least ``min_size``) of alike resolved tickets that no
    article covers. Needs the app context: coverage is searched in the articles' index."""
    candidates = [t for t in resolved_uncovered(session, since) if not covered(session, t)]
    by_id = {t.id: t for t in candidates}
    pairs = alike_pairs(candidates, synonyms)
    degree: dict[int, int] = {}
    for a, b in pairs:
        degree[a] = degree.get(a, 0) + 1
        degree[b] = degree.get(b, 0) + 1
    gaps = []
    for component in group(list(by_id), pairs):
        if len(component) < min_size:
            break
        members = tuple(by_id[i] for i in component)
        representative = max(members, key=lambda t: (degree.get(t.id, 0), t.id))
        gaps.append(Gap(members, representative, _title(representative)))
        if len(gaps) >= limit:
            break
    return gaps


def synonym_groups(session: Session) -> list[list[str]]:
    """Return the desk's synonym groups, as search expands queries with them."""
    from portal.admin.models import SynonymGroup

    return [group.words() for group in session.scalars(select(SynonymGroup))]
