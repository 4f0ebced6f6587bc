"""The ticket status machine and the impact × urgency priority matrix (plain Python)."""

from __future__ import annotations

from articles.errors import InvalidTransition
from portal.tickets.models import Status

TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ASSIGNED, Status.IN_PROGRESS, Status.RESOLVED}),
    Status.ASSIGNED: frozenset({Status.IN_PROGRESS, Status.WAITING, Status.RESOLVED}),
    Status.IN_PROGRESS: frozenset({Status.WAITING, Status.RESOLVED}),
    Status.WAITING: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset(),
}

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


def next_status(current: Status, target: Status) -> Status:
    """Return ``target`` if a ticket may move there from ``current``, else raise."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value)
    return target


def allowed_targets(current: Status) -> list[Status]:
    """Return the statuses reachable from ``current``, in process order."""
    return [s for s in Status if s in TRANSITIONS[current]]


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
