"""The ticket status machine and the impact × urgency priority matrix (plain Python).

Every allowed move is one row of ``TRANSITIONS``: from, to, who may take it, and what it
requires. Anything not in the table is refused with a reason for the person who tried.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from portal.tickets.models import Status


class Party(enum.StrEnum):
    """Who takes a step: the person who asked, the desk's staff, or the desk itself."""

    REQUESTER = "requester"
    STAFF = "staff"
    SYSTEM = "system"


class Needs(enum.StrEnum):
    """What a step requires besides the right party."""

    NOTHING = "nothing"
    ASSIGNEE = "assignee"  # someone to work on it
    QUESTION = "question"  # a public reply asking the user something
    RESOLUTION = "resolution"  # a diagnosis and a solution


@dataclass(frozen=True)
class Transition:
    """One allowed move of a ticket's status."""

    source: Status
    target: Status
    parties: frozenset[Party]
    needs: Needs = Needs.NOTHING


def _t(source: Status, target: Status, *parties: Party, needs: Needs = Needs.NOTHING) -> Transition:
    return Transition(source, target, frozenset(parties), needs)


S, R, Y = Party.STAFF, Party.REQUESTER, Party.SYSTEM
TRANSITIONS: tuple[Transition, ...] = (
    _t(Status.NEW, Status.ASSIGNED, S, Y, needs=Needs.ASSIGNEE),
    _t(Status.NEW, Status.IN_PROGRESS, S),
    _t(Status.NEW, Status.WAITING, S, needs=Needs.QUESTION),
    _t(Status.NEW, Status.RESOLVED, S, needs=Needs.RESOLUTION),  # solved on the spot
    _t(Status.ASSIGNED, Status.NEW, S, Y),  # nobody is on it any more
    _t(Status.ASSIGNED, Status.IN_PROGRESS, S),
    _t(Status.ASSIGNED, Status.WAITING, S, needs=Needs.QUESTION),
    _t(Status.ASSIGNED, Status.RESOLVED, S, needs=Needs.RESOLUTION),
    _t(Status.IN_PROGRESS, Status.WAITING, S, needs=Needs.QUESTION),
    _t(Status.IN_PROGRESS, Status.RESOLVED, S, needs=Needs.RESOLUTION),
    _t(Status.WAITING, Status.IN_PROGRESS, S, R),  # the user answered, or staff resume
    _t(Status.WAITING, Status.RESOLVED, S, needs=Needs.RESOLUTION),
    # Only the user's confirmation, or auto-close by policy, closes a ticket.
    _t(Status.RESOLVED, Status.CLOSED, R, Y),
    _t(Status.RESOLVED, Status.IN_PROGRESS, R, S),  # reopened: not fixed after all
)
_TABLE = {(t.source, t.target): t for t in TRANSITIONS}

PARTY_NAMES = {
    Party.REQUESTER: _l("the requester"),
    Party.STAFF: _l("the service desk staff"),
    Party.SYSTEM: _l("the service desk itself"),
}


class TransitionRefused(Exception):
    """A ticket cannot take this step; ``message`` says why, in the reader's language."""

    def __init__(self, source: Status, target: Status, message: LazyString | str) -> None:
        super().__init__(f"{source.value} → {target.value}: {message}")
        self.source = source
        self.target = target
        self.message = message


def transition(source: Status, target: Status) -> Transition | None:
    """Return the table's row for a move, or None when the move does not exist."""
    return _TABLE.get((source, target))


def check(
    source: Status,
    target: Status,
    parties: frozenset[Party],
    *,
    has_assignee: bool = False,
    has_question: bool = False,
    has_resolution: bool = False,
) -> Transition:
    """Return the transition if ``parties`` may take it with what they bring, else raise."""
    row = transition(source, target)
    if row is None:
        if source is Status.CLOSED:
            message = _l("A closed ticket cannot change; open a new request instead.")
        else:
            message = _l("A ticket cannot go straight from this status to that one.")
        raise TransitionRefused(source, target, message)
    if not row.parties & parties:
        names = ", ".join(str(PARTY_NAMES[p]) for p in Party if p in row.parties)
        raise TransitionRefused(source, target, _l("Only %(who)s may take this step.", who=names))
    missing = {
        Needs.ASSIGNEE: not has_assignee,
        Needs.QUESTION: not has_question,
        Needs.RESOLUTION: not has_resolution,
    }.get(row.needs, False)
    if missing:
        reasons = {
            Needs.ASSIGNEE: _l("Assign the ticket to someone first."),
            Needs.QUESTION: _l("Waiting on the user needs a message telling them what you need."),
            Needs.RESOLUTION: _l("Resolving needs a diagnosis and a solution."),
        }
        raise TransitionRefused(source, target, reasons[row.needs])
    return row


def allowed_targets(current: Status, party: Party = Party.STAFF) -> list[Status]:
    """Return the statuses ``party`` can move a ticket to from ``current``, in process order."""
    return [
        s for s in Status if (row := transition(current, s)) is not None and party in row.parties
    ]


OPEN_STATUSES = (Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING)

IMPACTS = ("me", "team", "department", "organisation")
URGENCIES = ("low", "medium", "high", "critical")

# Rows are impact (IMPACTS order), columns urgency (URGENCIES order); P1 is the highest.
DEFAULT_MATRIX: dict[str, dict[str, str]] = {
    "me": {"low": "P4", "medium": "P3", "high": "P3", "critical": "P2"},
    "team": {"low": "P4", "medium": "P3", "high": "P2", "critical": "P2"},
    "department": {"low": "P3", "medium": "P2", "high": "P2", "critical": "P1"},
    "organisation": {"low": "P3", "medium": "P2", "high": "P1", "critical": "P1"},
}


def priority_for(
    impact: str,
    urgency: str,
    matrix: dict[str, dict[str, str]] | None = None,
    core_system_down: bool = False,
) -> str:
    """Return the priority (P1–P4) for an impact and an urgency from the matrix.

    An outage of a core business system is P1 whatever scope and urgency were given.
    """
    if impact not in IMPACTS or urgency not in URGENCIES:
        raise ValueError(f"unknown impact/urgency: {impact!r}/{urgency!r}")
    if core_system_down:
        return "P1"
    table = matrix or DEFAULT_MATRIX
    try:
        return table[impact][urgency]
    except KeyError as exc:
        raise ValueError(f"unknown impact/urgency: {impact!r}/{urgency!r}") from exc
