"""Use cases on articles; each writes its change and its index-outbox row in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from articles import feedback
from articles.drafting import slugify
from articles.errors import ArticleChanged, ArticleError, ArticleNotFound
from articles.lifecycle import check_transition
from articles.models import (
    Article,
    ArticleState,
    Category,
    IndexOutbox,
    Phrasing,
    Proposal,
    ProposalOutcome,
    Revision,
    Tag,
    Visibility,
    utcnow,
)
from articles.redaction import redact
from articles.rendering import html_to_text, render_markdown

MAX_TITLE_CHARS = 200
MAX_TAGS = 12
MAX_TAG_CHARS = 60
MAX_PHRASING_CHARS = 300


class InvalidArticle(ArticleError):
    """The article's fields are not acceptable (empty title, unknown category…)."""


@dataclass(frozen=True)
class ArticleFields:
    """What an author edits: the content and its classification."""

    title: str
    body: str
    category_id: int | None = None
    visibility: Visibility = Visibility.PUBLIC
    tags: tuple[str, ...] = ()


def split_list(text: str) -> tuple[str, ...]:
    """Split on ASCII or Chinese commas; entries whitespace-collapsed, blanks and repeats gone."""
    entries = (" ".join(raw.split()) for raw in text.replace("，", ",").split(","))
    return tuple(dict.fromkeys(entry for entry in entries if entry))


def parse_tags(text: str) -> tuple[str, ...]:
    """Split a comma-separated tag list into lower-case tags, de-duplicated."""
    return tuple(dict.fromkeys(tag.lower() for tag in split_list(text)))


def _validate(session: Session, fields: ArticleFields) -> None:
    if not fields.title.strip():
        raise InvalidArticle("An article needs a title.")
    if len(fields.title) > MAX_TITLE_CHARS:
        raise InvalidArticle(f"The title is longer than {MAX_TITLE_CHARS} characters.")
    if len(fields.tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in fields.tags):
        raise InvalidArticle(f"At most {MAX_TAGS} tags of up to {MAX_TAG_CHARS} characters each.")
    if fields.category_id is not None and session.get(Category, fields.category_id) is None:
        raise InvalidArticle("Unknown category.")


def _tags(session: Session, names: Iterable[str]) -> list[Tag]:
    tags = []
    for name in names:
        tag = session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            session.add(tag)
        tags.append(tag)
    return tags


def _record(session: Session, article: Article, author_id: int | None, note: str) -> None:
    """Add a revision snapshot and an outbox row for the article's current content."""
    session.add(
        Revision(
            article=article,
            number=article.version,
            title=article.title,
            body=article.body,
            state=article.state.value,
            visibility=article.visibility.value,
            category_id=article.category_id,
            tags=sorted(t.name for t in article.tags),
            author_id=author_id,
            note=note[:300],
        )
    )
    session.flush()
    session.add(IndexOutbox(article_id=article.id))


def _apply_fields(session: Session, article: Article, fields: ArticleFields) -> None:
    _validate(session, fields)
    html = render_markdown(fields.body)
    article.title = fields.title.strip()
    article.body = fields.body
    article.body_html = html
    article.body_text = html_to_text(html)
    article.category_id = fields.category_id
    article.visibility = fields.visibility
    article.tags = _tags(session, fields.tags)
    article.updated_at = utcnow()


def create_article(
    session: Session,
    fields: ArticleFields,
    author_id: int | None,
    source_ticket_id: int | None = None,
    note: str = "created",
) -> Article:
    """Create a draft article with its first revision; raises on invalid or unsafe content."""
    article = Article(
        slug=slugify(fields.title),
        state=ArticleState.DRAFT,
        author_id=author_id,
        owner_id=author_id,
        source_ticket_id=source_ticket_id,
        version=1,
    )
    _apply_fields(session, article, fields)
    session.add(article)
    _record(session, article, author_id, note)
    return article


def check_version(article: Article, loaded: int | None) -> None:
    """Raise ArticleChanged unless ``loaded`` is the article's current version (None: the
    caller does not say, as for demo content and tests of the domain)."""
    if loaded is not None and loaded != article.version:
        raise ArticleChanged(loaded, article.version)


def update_article(
    session: Session,
    article: Article,
    fields: ArticleFields,
    editor_id: int | None,
    note: str = "",
    loaded: int | None = None,
) -> Article:
    """Save new content as the next revision; a published article stays published.

    ``loaded`` is the version the editor was opened at: a save over a newer one raises
    ArticleChanged and changes nothing."""
    check_version(article, loaded)
    _apply_fields(session, article, fields)
    article.slug = slugify(article.title)
    article.version += 1
    _record(session, article, editor_id, note or "edited")
    return article


def change_state(
    session: Session,
    article: Article,
    target: ArticleState,
    user_id: int | None,
    note: str = "",
    loaded: int | None = None,
) -> Article:
    """Move an article through its lifecycle (review, publish, archive, reactivate);
    raise ArticleChanged if it changed after version ``loaded``."""
    check_version(article, loaded)
    check_transition(article.state, target)
    article.state = target
    article.version += 1
    article.updated_at = utcnow()
    if target is ArticleState.PUBLISHED:
        article.published_at = article.updated_at
    _record(session, article, user_id, note or target.value)
    return article


def restore_revision(
    session: Session,
    article: Article,
    revision: Revision,
    user_id: int | None,
    loaded: int | None = None,
) -> Article:
    """Save an old revision's title, text and classification as the next revision (the
    history is never rewritten); the article keeps its state.

    A revision that did not record its category and tags leaves the current ones; a
    category since retired or removed is left as it is now too."""
    if revision.article_id != article.id:
        raise ArticleNotFound(f"Revision {revision.number} is not one of this article's.")
    check_version(article, loaded)
    category_id = article.category_id
    tags = tuple(t.name for t in article.tags)
    if revision.tags is not None:
        tags = tuple(revision.tags)
        chosen = session.get(Category, revision.category_id) if revision.category_id else None
        if revision.category_id is None or (chosen is not None and not chosen.retired):
            category_id = revision.category_id
    fields = ArticleFields(
        title=revision.title,
        body=revision.body,
        category_id=category_id,
        visibility=Visibility(revision.visibility),
        tags=tags,
    )
    _apply_fields(session, article, fields)
    article.slug = slugify(article.title)
    article.version += 1
    _record(session, article, user_id, f"restored revision {revision.number}")
    return article


def learn_phrasing(
    session: Session, article: Article, text: str, source: str, names: Iterable[str] = ()
) -> Phrasing | None:
    """Remember a user's wording of the question the article answered (redacted, de-duplicated).

    Only the request's words are kept, never the ticket; the index reads the newest
    MAX_PHRASINGS of them, with a lower weight than the article's own text.
    """
    cleaned = " ".join(redact(text, names).text.split())[:MAX_PHRASING_CHARS]
    if len(cleaned) < 2 or cleaned.casefold() == article.title.casefold():
        return None
    existing = session.scalar(
        select(Phrasing).where(Phrasing.article_id == article.id, Phrasing.text == cleaned)
    )
    if existing is not None:
        return None
    phrasing = Phrasing(article_id=article.id, text=cleaned, source=source)
    session.add(phrasing)
    session.add(IndexOutbox(article_id=article.id))
    return phrasing


def get_article(session: Session, article_id: int) -> Article:
    """Return the article or raise ArticleNotFound."""
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleNotFound(f"No article {article_id}.")
    return article


def categories_to_choose(session: Session, keep_id: int | None = None) -> list[Category]:
    """Return the categories a new request or article may be filed under, in order.

    A retired category is left out, except ``keep_id``: what is already in it may stay.
    """
    return list(
        session.scalars(
            select(Category)
            .where((Category.retired.is_(False)) | (Category.id == keep_id))
            .order_by(Category.position, Category.id)
        )
    )


class MergeRefused(ArticleError):
    """The two articles cannot be merged; ``reason`` says why: "same" (one article),
    "merged" (the duplicate was merged already) or "target" (the target is not published)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class ProposalRefused(ArticleError):
    """A proposed change cannot be applied or discarded (decided already, or the article
    changed since it was written)."""


def _replacements_for(session: Session, article: Article, ids: Iterable[int]) -> list[Article]:
    chosen = list(dict.fromkeys(ids))
    if article.id in chosen:
        raise InvalidArticle("An article cannot replace itself.")
    found = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(chosen)))}
    if len(found) != len(chosen) or any(
        a.state is not ArticleState.PUBLISHED for a in found.values()
    ):
        raise InvalidArticle("A replacement must be a published article.")
    return [found[i] for i in chosen]


def archive_article(
    session: Session,
    article: Article,
    user_id: int | None,
    replacement_ids: Iterable[int] = (),
    note: str = "",
    loaded: int | None = None,
) -> Article:
    """Archive a published article, naming the published articles that replace it (optional);
    raise ArticleChanged if it changed after version ``loaded``."""
    check_version(article, loaded)
    replacements = _replacements_for(session, article, replacement_ids)
    check_transition(article.state, ArticleState.ARCHIVED)
    article.replacements = replacements
    if replacements and not note:
        note = "archived; replaced by " + ", ".join(f"#{a.id}" for a in replacements)
    return change_state(session, article, ArticleState.ARCHIVED, user_id, note, loaded)


def merge_article(
    session: Session,
    duplicate: Article,
    target: Article,
    user_id: int | None,
    note: str = "",
    loaded: int | None = None,
) -> Article:
    """Merge ``duplicate`` into ``target``: readers' feedback and learned phrasings move
    over (the duplicate's title becomes one), the duplicate is archived with a revision
    note and its address redirects to ``target``. Both are reindexed through the outbox.
    Raises ArticleChanged if the duplicate changed after version ``loaded``.

    The tickets it solved are the portal's to move (``articles`` knows no tickets).
    """
    if duplicate.id == target.id:
        raise MergeRefused("same", "An article cannot be merged into itself.")
    if duplicate.merged_into_id is not None:
        raise MergeRefused("merged", f"Article #{duplicate.id} was merged already.")
    check_version(duplicate, loaded)
    if target.state is not ArticleState.PUBLISHED:
        raise MergeRefused(
            "target", f"Article #{target.id} is not published: merge into a live article."
        )
    held = set(session.scalars(select(Phrasing.text).where(Phrasing.article_id == target.id)))
    for phrasing in session.scalars(select(Phrasing).where(Phrasing.article_id == duplicate.id)):
        if phrasing.text in held:
            session.delete(phrasing)
        else:
            phrasing.article_id = target.id
            held.add(phrasing.text)
    title = duplicate.title[:MAX_PHRASING_CHARS]
    if title not in held and title.casefold() != target.title.casefold():
        session.add(Phrasing(article_id=target.id, text=title, source="merge"))
    feedback.move_feedback(session, duplicate, target)
    # Articles merged into the duplicate earlier now point at the target: one redirect.
    for earlier in session.scalars(select(Article).where(Article.merged_into_id == duplicate.id)):
        earlier.merged_into_id = target.id
    duplicate.merged_into_id = target.id
    duplicate.replacements = [target]
    for proposal in duplicate.proposals:  # changes to the duplicate go nowhere now
        if proposal.outcome is ProposalOutcome.PENDING:
            _decide(proposal, user_id, ProposalOutcome.DISCARDED)
    note = f"merged into #{target.id}" + (f": {note}" if note else "")
    if duplicate.state is ArticleState.PUBLISHED:
        change_state(session, duplicate, ArticleState.ARCHIVED, user_id, note)
    else:  # a draft or one in review is archived directly: it was never live
        duplicate.state = ArticleState.ARCHIVED
        duplicate.version += 1
        duplicate.updated_at = utcnow()
        _record(session, duplicate, user_id, note)
    session.add(IndexOutbox(article_id=target.id))
    return target


def propose_change(
    session: Session,
    article: Article,
    title: str,
    body: str,
    author_id: int | None,
    note: str = "",
    ticket_id: int | None = None,
    base_version: int | None = None,
) -> Proposal:
    """Keep a change to a published article for someone who may publish to apply; the
    live article does not change. ``base_version`` is the revision the author read (the
    current one by default). Raises InvalidArticle on content it could not save."""
    _validate(session, ArticleFields(title=title, body=body))
    render_markdown(body)  # refuse now what could never be applied
    proposal = Proposal(
        article=article,
        ticket_id=ticket_id,
        author_id=author_id,
        title=title.strip(),
        body=body,
        note=note[:300],
        base_version=article.version if base_version is None else base_version,
    )
    session.add(proposal)
    return proposal


def _decide(proposal: Proposal, user_id: int | None, outcome: ProposalOutcome) -> None:
    if proposal.outcome is not ProposalOutcome.PENDING:
        raise ProposalRefused("This proposal was decided already.")
    proposal.outcome = outcome
    proposal.decided_at = utcnow()
    proposal.decided_by_id = user_id


def apply_proposal(session: Session, proposal: Proposal, user_id: int | None) -> Article:
    """Save a pending proposal as the article's next revision (live if it is published);
    refused when the article changed since the proposal was written."""
    article = proposal.article
    if proposal.outcome is ProposalOutcome.PENDING and article.version != proposal.base_version:
        raise ProposalRefused(
            "The article changed since this proposal was written: open it in the editor instead."
        )
    _decide(proposal, user_id, ProposalOutcome.APPLIED)
    fields = ArticleFields(
        title=proposal.title,
        body=proposal.body,
        category_id=article.category_id,
        visibility=article.visibility,
        tags=tuple(t.name for t in article.tags),
    )
    note = f"proposal #{proposal.id}" + (f": {proposal.note}" if proposal.note else "")
    return update_article(session, article, fields, user_id, note)


def discard_proposal(session: Session, proposal: Proposal, user_id: int | None) -> None:
    """Mark a pending proposal discarded; the article is unchanged."""
    _decide(proposal, user_id, ProposalOutcome.DISCARDED)
