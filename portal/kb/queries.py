"""Search and suggestions for a reader: scope from the role, results re-checked in the DB."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import UTC
from functools import cache

from flask import current_app
from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, selectinload

from articles.lifecycle import may_read, readable_visibilities
from articles.models import Article, ArticleState, Category, IndexOutbox, Tag, Visibility
from portal.indexer import get_index, recovery_of
from search import analysis
from search.index import Hit, IndexUnavailable, Scope
from search.snippets import Segments, highlight, snippet

log = logging.getLogger(__name__)


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
class Similar:
    """An article resembling a text, its title and a snippet highlighted on the decisive
    terms the two share (search.index.Hit.decisive): why it was found, not every word."""

    article: Article
    title: Segments
    snippet: Segments


# A similar article must hold this share of the text's informativeness (its words
# weighted by how rare they are among articles of their language; search.index.Hit): one
# that shares only generic words ("not working", "怎么办") is noise, and none is better.
# Measured on the intake set's requests, top 5 each: at 0.5 / 0.7 / 0.8 / 0.9, 84% / 72% /
# 67% / 62% of the answering articles pass and 22% / 10% / 7% / 6% of the others (F1 0.59 /
# 0.66 / 0.68 / 0.66): a plateau from 0.7, whose low end keeps more of the true matches.
SIMILAR_FLOOR = 0.7
SIMILAR_LIMIT = 5


def similar_articles(
    session: Session, text: str, staff: bool, exclude: int | None = None
) -> list[Similar]:
    """Return up to SIMILAR_LIMIT published articles resembling ``text`` that the reader
    may see, only those holding at least SIMILAR_FLOOR of its informativeness."""
    results = search_articles(session, text, staff=staff)
    return [
        Similar(
            f.article,
            highlight(f.article.title, f.hit.decisive),
            snippet(f.article.body_text, f.hit.decisive, ()) if f.hit.decisive else (),
        )
        for f in results.found
        if f.article.id != exclude and f.hit.coverage >= SIMILAR_FLOOR
    ][:SIMILAR_LIMIT]


@dataclass(frozen=True)
class Results:
    """One page of results after re-authorisation."""

    found: tuple[Found, ...]
    total: int
    page: int
    pages: int
    # The index was unusable: these come from the simpler database search.
    degraded: bool = False
    # The query as corrected, when the words as typed found too little and these are the
    # results of the corrected words.
    showing_for: str | None = None


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
    """Run a full-text search for the reader and return the page they may see.

    If the index is missing or damaged, the database answers instead (and the index is
    rebuilt in the background): slower and plainer, but complete and correct.
    """
    per_page = int(current_app.config["SEARCH_PER_PAGE"])
    scope = with_pending_hidden(session, scope or scope_for(staff), staff)
    try:
        result = get_index().search(
            query,
            scope,
            page=page,
            per_page=per_page,
            category=category,
            tag=tag,
            newest_first=newest_first,
        )
    except IndexUnavailable as exc:
        recovery_of(current_app).request(str(exc))
        return database_search(session, query, scope, page, per_page, category, tag, newest_first)
    found = _authorised(session, result.hits, staff, scope)
    showing_for = None
    try:
        if result.corrected and _each_change_findable(query, result.corrected, scope):
            showing_for = result.corrected
    except IndexUnavailable:
        pass  # the results stand; only the notice needs the index again
    return Results(
        found=found,
        total=result.total,
        page=result.page,
        pages=result.pages,
        showing_for=showing_for,
    )


def with_pending_hidden(session: Session, scope: Scope, staff: bool) -> Scope:
    """Return ``scope`` also excluding articles this index has not caught up with and the
    reader may no longer see (archived or made internal a moment ago), so that the result
    count does not reveal them either."""
    try:
        watermark = get_index().applied_outbox_id()
    except IndexUnavailable:
        return scope
    pending = select(IndexOutbox.article_id).where(IndexOutbox.id > watermark)
    ids = set(session.scalars(pending.limit(1000)))
    if not ids:
        return scope
    rows = session.execute(
        select(Article.id, Article.state, Article.visibility).where(Article.id.in_(ids))
    ).all()
    visible = {
        r.id
        for r in rows
        if r.state.value in scope.states
        and r.visibility.value in scope.visibilities
        and may_read(r.state, r.visibility, staff)
    }
    hidden = frozenset(str(i) for i in ids - visible)
    return replace(scope, hidden=scope.hidden | hidden) if hidden else scope


_WORD = re.compile(r"[^\W_]+(?:[-.'][^\W_]+)*")


def _database_words(query: str) -> list[str]:
    """Return the words of ``query`` a plain substring match can look for, stop words out."""
    words: list[str] = []
    for word in _WORD.findall(query[:MAX_FALLBACK_QUERY]):
        parts = analysis.terms(word) if analysis.has_cjk(word) else [word]
        for part in parts:
            if analysis.terms(part) and part.casefold() not in words:
                words.append(part.casefold())
    return words[:MAX_FALLBACK_WORDS]


MAX_FALLBACK_QUERY = 500
MAX_FALLBACK_WORDS = 8


def database_search(
    session: Session,
    query: str,
    scope: Scope,
    page: int = 1,
    per_page: int = 10,
    category: str | None = None,
    tag: str | None = None,
    newest_first: bool = False,
) -> Results:
    """Search titles and bodies in the database (every word, any case): the index's stand-in."""
    words = _database_words(query)
    if not words or not scope.visibilities or not scope.states:
        return Results(found=(), total=0, page=page, pages=0, degraded=True)
    conditions: list[ColumnElement[bool]] = [
        Article.state.in_([ArticleState(s) for s in scope.states]),
        Article.visibility.in_([Visibility(v) for v in scope.visibilities]),
        *(
            or_(
                Article.title.icontains(w, autoescape=True),
                Article.body_text.icontains(w, autoescape=True),
            )
            for w in words
        ),
    ]
    if scope.hidden:
        conditions.append(Article.id.not_in([int(i) for i in scope.hidden]))
    if category is not None:
        conditions.append(Article.category.has(Category.slug == category))
    if tag is not None:
        conditions.append(Article.tags.any(Tag.name == tag.lower()))
    where = and_(*conditions)
    total = int(session.scalar(select(func.count()).select_from(Article).where(where)) or 0)
    in_title = sum(case((Article.title.icontains(w, autoescape=True), 1), else_=0) for w in words)
    order = (
        (Article.updated_at.desc(),)
        if newest_first
        else (in_title.desc(), Article.updated_at.desc())
    )
    articles = session.scalars(
        select(Article)
        .where(where)
        .options(selectinload(Article.category))
        .order_by(*order, Article.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    found = tuple(Found(hit=_database_hit(a, words), article=a) for a in articles)
    return Results(found=found, total=total, page=page, pages=-(-total // per_page), degraded=True)


def _database_hit(article: Article, words: list[str]) -> Hit:
    """Return a hit for an article found by the database search, highlighted like the index's."""
    terms = set(analysis.terms(" ".join(words)))
    updated = article.updated_at
    return Hit(
        id=str(article.id),
        score=0.0,
        title=article.title,
        title_segments=highlight(article.title, terms),
        snippet=snippet(article.body_text, terms, ()),
        category=article.category.slug if article.category else "",
        visibility=article.visibility.value,
        state=article.state.value,
        updated=updated if updated.tzinfo else updated.replace(tzinfo=UTC),
    )


def spelling_suggestion(query: str, staff: bool) -> str | None:
    """Return a corrected query, only if every corrected word occurs in what the reader may see.

    The index's vocabulary includes internal articles: a correction is offered only when
    each changed word finds something in the reader's own scope, so none leaks.
    """
    index = get_index()
    try:
        corrected = index.did_you_mean(query)
    except IndexUnavailable:
        return None
    if not corrected or corrected.casefold() == query.casefold():
        return None
    try:
        return corrected if _each_change_findable(query, corrected, scope_for(staff)) else None
    except IndexUnavailable:
        return None


def _each_change_findable(query: str, corrected: str, scope: Scope) -> bool:
    """Return whether each word the correction changed finds an article within ``scope``:
    the index's vocabulary includes internal articles, and a correction must not show
    a reader a word only those hold."""
    typed = set(query.casefold().split())
    changed = [w for w in corrected.split() if w.casefold() not in typed]
    index = get_index()
    return all(index.search(word, scope, per_page=1).total for word in changed)


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
    try:
        hits = get_index().suggest(text, scope_for(staff), limit=limit)
    except IndexUnavailable as exc:
        recovery_of(current_app).request(str(exc))
        fallback = database_search(session, text, scope_for(staff), per_page=limit)
        return tuple(
            Suggestion(hit=f.hit, article_id=f.article.id, category=f.article.category)
            for f in fallback.found
        )
    if not hits:
        return ()
    rows = session.execute(_suggestion_check(staff), {"ids": [int(h.id) for h in hits]})
    categories: dict[int, Category | None] = dict(rows.all())
    return tuple(
        Suggestion(hit=hit, article_id=int(hit.id), category=categories[int(hit.id)])
        for hit in hits
        if int(hit.id) in categories
    )


def pick_articles(
    session: Session, text: str, public_only: bool, exclude: int | None = None
) -> list[Found]:
    """Return the published articles a staff member's picker offers for ``text``: the
    as-you-type suggestions (internal ones too unless ``public_only``), as articles."""
    suggested = suggest_articles(session, text, staff=not public_only)
    ids = [s.article_id for s in suggested if s.article_id != exclude]
    if not ids:
        return []
    articles = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(ids)))}
    return [
        Found(hit=s.hit, article=articles[s.article_id])
        for s in suggested
        if s.article_id in articles and s.article_id != exclude
    ]


def duplicate_candidates(session: Session, text: str, limit: int = 5) -> Results:
    """Return the live articles (drafts, in review and published; internal ones too) most
    like ``text``, ranked as search ranks them, for a staff member about to write one.

    While the index is unusable the database search answers (``degraded``): its hits hold
    every word and carry no measure of likeness."""
    scope = Scope(
        visibilities=frozenset(v.value for v in Visibility),
        states=frozenset(
            s.value for s in (ArticleState.DRAFT, ArticleState.IN_REVIEW, ArticleState.PUBLISHED)
        ),
    )
    results = search_articles(session, text, staff=True, scope=scope)
    found = tuple(f for f in results.found if f.hit.coverage >= DUPLICATE_FLOOR)[:limit]
    return replace(results, found=found, total=len(found))


# Below this share of the draft's informativeness an article shares only generic words
# (see SIMILAR_FLOOR, measured at 0.7 for "similar"): shown as "possibly related" from here.
DUPLICATE_FLOOR = 0.5
