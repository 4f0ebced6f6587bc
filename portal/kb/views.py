"""Public knowledge base: home, categories, articles, search."""

from __future__ import annotations

import secrets

from crawlerdetect import CrawlerDetect
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import Select, func, select, update

from articles import feedback
from articles.lifecycle import may_read
from articles.models import Article, ArticleState, Category, Visibility, utcnow
from articles.redaction import redact
from articles.service import MAX_TAG_CHARS
from portal.db import get_session
from portal.kb.forms import VoteForm
from portal.kb.models import SearchLog
from portal.kb.queries import narrowed_scope, readable, search_articles, spelling_suggestion
from portal.tickets.service import tickets_solved_by

bp = Blueprint("kb", __name__)

MAX_QUERY_CHARS = 500
MAX_LOGGED_QUERY = 200
SORTS = ("relevance", "newest")


def is_staff() -> bool:
    """Return whether the current reader is a technician or an admin."""
    return bool(current_user.is_authenticated and current_user.is_staff)


def page_number() -> int:
    """Return the ?page= argument as a positive page number (400 if malformed)."""
    raw = request.args.get("page", "1")
    if not raw.isdigit() or not 0 < int(raw) <= 10_000:
        abort(400, description=_("The page number must be a positive whole number."))
    return int(raw)


def _published(staff: bool) -> Select[tuple[Article]]:
    return select(Article).where(*readable(staff))


def log_search(query: str, results: int) -> int:
    """Log a search (query redacted and capped) for the reports; return its id for clicks."""
    with current_app.extensions["solveloop.write_sessions"]() as db:
        entry = SearchLog(
            query=" ".join(redact(query).text.split())[:MAX_LOGGED_QUERY],
            results=results,
            staff=is_staff(),
        )
        db.add(entry)
        db.commit()
        return entry.id


def record_click(search_id: str, article_id: int) -> None:
    """Remember which result a logged search led to (the first one opened)."""
    if not search_id.isdigit():
        return
    with current_app.extensions["solveloop.write_sessions"]() as db:
        db.execute(
            update(SearchLog)
            .where(SearchLog.id == int(search_id), SearchLog.clicked_article_id.is_(None))
            .values(clicked_article_id=article_id)
        )
        db.commit()


@bp.get("/")
def home() -> ResponseReturnValue:
    """Search box, categories with article counts, recently updated articles."""
    db = get_session()
    staff = is_staff()
    counts = dict(
        db.execute(
            select(Article.category_id, func.count())
            .where(*readable(staff))
            .group_by(Article.category_id)
        ).all()
    )
    categories = [
        c
        for c in db.scalars(select(Category).order_by(Category.position, Category.id))
        if not c.retired or counts.get(c.id)  # a retired one still shows what it holds
    ]
    recent = db.scalars(_published(staff).order_by(Article.updated_at.desc()).limit(8)).all()
    return render_template("kb/home.html", categories=categories, counts=counts, recent=recent)


@bp.get("/categories/<slug>")
def category(slug: str) -> ResponseReturnValue:
    """Published articles of one category the reader may see."""
    db = get_session()
    found = db.scalar(select(Category).where(Category.slug == slug))
    if found is None:
        abort(404)
    articles = db.scalars(
        _published(is_staff()).where(Article.category_id == found.id).order_by(Article.title)
    ).all()
    return render_template("kb/category.html", category=found, articles=articles)


@bp.get("/articles/<int:article_id>")
@bp.get("/articles/<int:article_id>/<path:slug>")
def article(article_id: int, slug: str | None = None) -> ResponseReturnValue:
    """Read an article: 404 unless the reader may see it (internal → staff only)."""
    db = get_session()
    found = db.get(Article, article_id)
    staff = is_staff()
    if found is None:
        abort(404)
    target = db.get(Article, found.merged_into_id) if found.merged_into_id else None
    if target is not None and _may_follow(target, staff):
        return redirect(url_for("kb.article", article_id=target.id, slug=target.slug or None), 301)
    if found.state is ArticleState.ARCHIVED and not staff:
        return _archived_page(found)
    if not may_read(found.state, found.visibility, staff):
        abort(404)
    record_click(request.args.get("sid", ""), found.id)
    visitor, new_visitor = _visitor()
    if found.state is ArticleState.PUBLISHED and not _crawler():
        _count_view(found.id, visitor)
    from_intake = request.args.get("from") == "intake" and current_user.is_authenticated
    query = request.args.get("q", "")[:MAX_QUERY_CHARS]
    signed_in = current_user.is_authenticated
    page = render_template(
        "kb/article.html",
        article=found,
        from_intake=from_intake,
        query=query,
        my_vote=feedback.vote_of(db, found, current_user.id) if signed_in else None,
        comments=feedback.comments(db, found) if staff else [],
        vote_form=VoteForm(formdata=None),
        solved=tickets_solved_by(db, found) if staff else [],
        replacements=found.replacements if found.state is ArticleState.ARCHIVED else [],
    )
    response = make_response(page)
    if new_visitor:
        response.set_cookie(
            VISITOR_COOKIE,
            visitor.removeprefix("v:"),
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        )
    return response


def _may_follow(target: Article, staff: bool) -> bool:
    """Whether a merged article's address may send this reader on to ``target``: they may
    read it, or it was public and is archived since (its own page then explains)."""
    return may_read(target.state, target.visibility, staff) or (
        target.state is ArticleState.ARCHIVED and target.visibility is Visibility.PUBLIC
    )


def _archived_page(found: Article) -> ResponseReturnValue:
    """Tell a reader that a public article was archived (410 Gone), with the replacements
    they may read; an internal one stays unknown to them (404)."""
    if found.visibility is not Visibility.PUBLIC:
        abort(404)
    replacements = [r for r in found.replacements if may_read(r.state, r.visibility, staff=False)]
    return render_template("kb/archived.html", article=found, replacements=replacements), 410


VISITOR_COOKIE = "solveloop_reader"
_CRAWLERS = CrawlerDetect()


def _crawler() -> bool:
    """Return whether the request comes from a crawler or a script (no browser name)."""
    agent = request.headers.get("User-Agent", "")
    return not agent or bool(_CRAWLERS.isCrawler(agent))


def _visitor() -> tuple[str, bool]:
    """Return who reads, for counting views once a day: the account, or an anonymous
    reader's random cookie (and whether that cookie is new)."""
    if current_user.is_authenticated:
        return f"u:{current_user.id}", False
    held = request.cookies.get(VISITOR_COOKIE, "")
    if len(held) == 32 and held.isalnum():
        return f"v:{held}", False
    return f"v:{secrets.token_hex(16)}", True


def _count_view(article_id: int, visitor: str) -> None:
    """Count a view of the article by ``visitor`` today (once a day each)."""
    with current_app.extensions["solveloop.write_sessions"]() as db:
        article = db.get(Article, article_id)
        if article is not None and feedback.record_view(db, article, visitor, utcnow().date()):
            db.commit()


@bp.post("/articles/<int:article_id>/feedback")
@login_required
def vote(article_id: int) -> ResponseReturnValue:
    """Answer "Was this helpful?" for an article (once per reader; answering again
    replaces the answer), with an optional comment."""
    db = get_session()
    found = db.get(Article, article_id)
    if (
        found is None
        or found.state is not ArticleState.PUBLISHED
        or not may_read(found.state, found.visibility, is_staff())
    ):
        abort(404)
    form = VoteForm()
    if not form.validate_on_submit():
        abort(422, description=_("Answer yes or no; a comment may have 1,000 characters."))
    feedback.vote(db, found, current_user.id, form.helpful.data == "yes", form.comment.data or "")
    db.commit()
    flash(_("Thank you for telling us."), "info")
    return redirect(url_for("kb.article", article_id=found.id) + "#feedback")


@bp.get("/search")
def search() -> ResponseReturnValue:
    """Full-text search with highlighted snippets, a result count and paging."""
    query = request.args.get("q", "").strip()
    if len(query) > MAX_QUERY_CHARS:
        abort(400, description=_("Search text is limited to %(n)s characters.", n=MAX_QUERY_CHARS))
    category_slug = request.args.get("category") or None
    page = page_number()
    db = get_session()
    categories = db.scalars(select(Category).order_by(Category.position, Category.id)).all()
    staff = is_staff()
    visibility = request.args.get("visibility", "") if staff else ""
    state = request.args.get("state", "") if staff else ""
    scope = narrowed_scope(staff, visibility, state)
    tag = request.args.get("tag", "").strip().lower()[:MAX_TAG_CHARS] or None
    sort = request.args.get("sort", "relevance")
    if sort not in SORTS:
        abort(400, description=_("Sort by relevance or newest."))
    results = (
        search_articles(
            db,
            query,
            staff,
            page=page,
            category=category_slug,
            scope=scope,
            tag=tag,
            newest_first=sort == "newest",
        )
        if query
        else None
    )
    showing_for = results.showing_for if results is not None else None
    suggestion = spelling_suggestion(query, staff) if query and not showing_for else None
    search_id = log_search(query, results.total) if results is not None and page == 1 else None
    return render_template(
        "kb/search.html",
        search_id=search_id,
        suggestion=suggestion,
        showing_for=showing_for,
        tag=tag,
        sort=sort,
        visibility=visibility,
        state=state,
        query=query,
        results=results,
        categories=categories,
        category=category_slug,
    )
