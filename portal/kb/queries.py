"""Search and suggestions for a reader: scope from the role, results re-checked in the DB."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from flask import current_app
from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session

from articles.lifecycle import may_read, readable_visibilities
from articles.models import Article, ArticleState, Category, Visibility
from portal.indexer import get_index
from search.index import Hit, Scope


@dataclass(frozen=True)
class Found:
    """A search hit the reader may see, with its article."""

    hit: Hit
    article: Article


@dataclass(frozen=True)
class Suggestion:
    """An as-you-type hit the reader may open: its article's id and category, nothing more."""

    hit: Hit
    article_id: int
    category: Category | None


@dataclass(frozen=True)
class Results:
    """One page of results after re-authorisation."""

    found: tuple[Found, ...]
    total: int
    page: int
    pages: int


VISIBILITY_FILTERS = frozenset(v.value for v in Visibility)
STATE_FILTERS = frozenset(s.value for s in ArticleState)


def readable(staff: bool) -> tuple[ColumnElement[bool], ...]:
    """Conditions for published articles the reader may see (internal ones for staff)."""
    return (
        Article.state == ArticleState.PUBLISHED,
        Article.visibility.in_(readable_visibilities(staff)),
    )


def scope_for(staff: bool) -> Scope:
    """Return the search scope: published articles, internal ones for staff only."""
    return Scope(
        visibilities=frozenset(v.value for v in readable_visibilities(staff)),
        states=frozenset({ArticleState.PUBLISHED.value}),
    )


def _authorised(
    session: Session, hits: tuple[Hit, ...], staff: bool, scope: Scope | None = None
) -> tuple[Found, ...]:
    """Keep only hits whose article still exists, is in scope and the reader may open."""
    if not hits:
        return ()
    states = (scope or scope_for(staff)).states
    ids = [int(h.id) for h in hits]
    articles = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(ids)))}
    found = []
    for hit in hits:
        article = articles.get(int(hit.id))
        if (
            article is not None
            and article.state.value in states
            and may_read(article.state, article.visibility, staff)
        ):
            found.append(Found(hit=hit, article=article))
    return tuple(found)


def narrowed_scope(staff: bool, visibility: str = "", state: str = "") -> Scope:
    """Return the reader's scope, narrowed by the staff-only visibility and state filters."""
    scope = scope_for(staff)
    if not staff:
        return scope
    visibilities = frozenset({visibility}) if visibility in VISIBILITY_FILTERS else None
    states = frozenset({state}) if state in STATE_FILTERS else scope.states
    if state == "any":
        states = frozenset(s.value for s in ArticleState)
    return Scope(visibilities=visibilities or scope.visibilities, states=states)


def search_articles(
    session: Session,
    query: str,
    staff: bool,
    page: int = 1,
    category: str | None = None,
    scope: Scope | None = None,
    tag: str | None = None,
    newest_first: bool = False,
) -> Results:
    """Run a full-text search for the reader and return the page they may see."""
    per_page = int(current_app.config["SEARCH_PER_PAGE"])
    scope = scope or scope_for(staff)
    result = get_index().search(
        query,
        scope,
        page=page,
        per_page=per_page,
        category=category,
        tag=tag,
        newest_first=newest_first,
    )
    found = _authorised(session, result.hits, staff, scope)
    return Results(found=found, total=result.total, page=result.page, pages=result.pages)


def spelling_suggestion(query: str, staff: bool) -> str | None:
    """Return a corrected query, only if every corrected word occurs in what the reader may see.

    The index's vocabulary includes internal articles: a correction is offered only when
    each changed word finds something in the reader's own scope, so none leaks.
    """
    index = get_index()
    corrected = index.did_you_mean(query)
    if not corrected or corrected.casefold() == query.casefold():
        return None
    typed = set(query.casefold().split())
    changed = [w for w in corrected.split() if w.casefold() not in typed]
    scope = scope_for(staff)
    if all(index.search(word, scope, per_page=1).total for word in changed):
        return corrected
    return None


@cache
def _suggestion_check(staff: bool) -> Select[int, Category]:
    """Return the re-authorisation query for suggestions: readable ids among :ids, categories.

    Built once per role: SQLAlchemy memoises a statement's cache key, so executing the same
    statement object again skips most of the work of building and compiling it.
    """
    return (
        select(Article.id, Category)
        .outerjoin(Category, Article.category_id == Category.id)
        .where(Article.id.in_(bindparam("ids", expanding=True)), *readable(staff))
    )


def suggest_articles(session: Session, text: str, staff: bool) -> tuple[Suggestion, ...]:
    """Return up to SUGGEST_LIMIT as-you-type suggestions the reader may open.

    Every hit is re-checked in the database, like search results, but with one query for
    just what the list shows: this runs on every keystroke.
    """
    limit = int(current_app.config["SUGGEST_LIMIT"])
    hits = get_index().suggest(text, scope_for(staff), limit=limit)
    if not hits:
        return ()
    rows = session.execute(_suggestion_check(staff), {"ids": [int(h.id) for h in hits]})
    categories: dict[int, Category | None] = dict(rows.all())
    return tuple(
        Suggestion(hit=hit, article_id=int(hit.id), category=categories[int(hit.id)])
        for hit in hits
        if int(hit.id) in categories
    )
