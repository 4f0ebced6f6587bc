"""Editorial lifecycle rules: which state changes are allowed and who may read what."""

from __future__ import annotations

from articles.errors import InvalidTransition
from articles.models import ArticleState, Visibility

TRANSITIONS: dict[ArticleState, frozenset[ArticleState]] = {
    ArticleState.DRAFT: frozenset({ArticleState.IN_REVIEW, ArticleState.PUBLISHED}),
    ArticleState.IN_REVIEW: frozenset({ArticleState.DRAFT, ArticleState.PUBLISHED}),
    ArticleState.PUBLISHED: frozenset({ArticleState.ARCHIVED}),
    ArticleState.ARCHIVED: frozenset({ArticleState.DRAFT, ArticleState.PUBLISHED}),
}


def check_transition(current: ArticleState, target: ArticleState) -> None:
    """Raise InvalidTransition unless an article may move from ``current`` to ``target``."""
    if target not in TRANSITIONS[current]:
        raise InvalidTransition(current.value, target.value)


def readable_states(staff: bool) -> frozenset[ArticleState]:
    """Return the states a reader may open: staff see every state, users only published."""
    return frozenset(ArticleState) if staff else frozenset({ArticleState.PUBLISHED})


def readable_visibilities(staff: bool) -> frozenset[Visibility]:
    """Return the visibilities a reader may see: internal articles are for staff only."""
    return frozenset(Visibility) if staff else frozenset({Visibility.PUBLIC})


def may_read(state: ArticleState, visibility: Visibility, staff: bool) -> bool:
    """Return whether a reader may open an article in this state and visibility."""
    return state in readable_states(staff) and visibility in readable_visibilities(staff)
