"""Search and suggestions for a reader: scope from the role, results re-checked in the DB."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from articles.lifecycle import may_read, readable_visibilities
from articles.models import Article, ArticleState
from portal.indexer import get_index
from search.index import Hit, Scope


@dataclass(frozen=True)
class Found:
    """A search hit the reader may see, with its article."""

    hit: Hit
    article: Article


@dataclass(frozen=True)
class Results:
    """One page of results after re-authorisation."""

    found: tuple[Found, ...]
    total: int
    page: int
    pages: int


def scope_for(staff: bool) -> Scope:
    """Return the search scope: published articles, internal ones for staff only."""
    return Scope(
        visibilities=frozenset(v.value for v in readable_visibilities(staff)),
        states=frozenset({ArticleState.PUBLISHED.value}),
    )


def _authorised(session: Session, hits: tuple[Hit, ...], staff: bool) -> tuple[Found, ...]:
    """Keep only hits whose article still exists and the reader may open, in hit order."""
    ids = [int(h.id) for h in hits]
    articles = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(ids)))}
    found = []
    for hit in hits:
        article = articles.get(int(hit.id))
        if (
            article is not None
            and article.state is ArticleState.PUBLISHED
            and may_read(article.state, article.visibility, staff)
        ):
            found.append(Found(hit=hit, article=article))
    return tuple(found)


def search_articles(
    session: Session, query: str, staff: bool, page: int = 1, category: str | None = None
) -> Results:
    """Run a full-text search for the reader and return the page they may see."""
    per_page = int(current_app.config["SEARCH_PER_PAGE"])
    result = get_index().search(
        query, scope_for(staff), page=page, per_page=per_page, category=category
    )
    found = _authorised(session, result.hits, staff)
    return Results(found=found, total=result.total, page=result.page, pages=result.pages)


def suggest_articles(session: Session, text: str, staff: bool) -> tuple[Found, ...]:
    """Return up to SUGGEST_LIMIT as-you-type suggestions the reader may open."""
    limit = int(current_app.config["SUGGEST_LIMIT"])
    hits = get_index().suggest(text, scope_for(staff), limit=limit)
    return _authorised(session, hits, staff)
