"""Article → search Document, and the single indexer that applies the outbox to the index."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from articles.models import Article, IndexOutbox, Phrasing, utcnow
from search.index import Document, SearchIndex
from search.schema import INDEX_FORMAT

OUTBOX_BATCH = 500
# Articles read from the database at a time by a full rebuild.
REBUILD_BATCH = 500
# Past phrasings indexed per article: the newest ones, so the field tracks today's wording.
MAX_PHRASINGS = 20


def document_for(article: Article, phrasings: Sequence[str] = ()) -> Document:
    """Return the search document for an article (plain text body, category slug, tags)."""
    return Document(
        id=str(article.id),
        title=article.title,
        body=article.body_text,
        updated=article.updated_at,
        version=article.version,
        category=article.category.slug if article.category else "",
        tags=tuple(tag.name for tag in article.tags),
        visibility=article.visibility.value,
        state=article.state.value,
        phrasings=tuple(phrasings),
    )


def phrasings_of(session: Session, ids: Sequence[int] | None = None) -> dict[int, list[str]]:
    """Return article id -> its newest learned phrasings (all articles when ids is None)."""
    stmt = select(Phrasing.article_id, Phrasing.text).order_by(Phrasing.id.desc())
    if ids is not None:
        stmt = stmt.where(Phrasing.article_id.in_(ids))
    learned: dict[int, list[str]] = {}
    for article_id, text in session.execute(stmt):
        texts = learned.setdefault(article_id, [])
        if len(texts) < MAX_PHRASINGS:
            texts.append(text)
    return learned


def all_documents(session: Session, batch: int = REBUILD_BATCH) -> Iterator[Document]:
    """Yield every article's search document in id order, ``batch`` articles at a time.

    Only one batch of articles (with their tags and phrasings) is in memory at once: a
    rebuild of 100k articles loaded whole held every body three times (source, HTML, text).
    """
    last = 0
    while True:
        ids = list(
            session.scalars(
                select(Article.id).where(Article.id > last).order_by(Article.id).limit(batch)
            )
        )
        if not ids:
            return
        documents = _load(session, ids)
        # The batch's articles are no longer needed once they are documents.
        session.expunge_all()
        for article_id in ids:
            if article_id in documents:
                yield documents[article_id]
        last = ids[-1]


def _load(session: Session, ids: list[int]) -> dict[int, Document]:
    rows = session.scalars(
        select(Article)
        .where(Article.id.in_(ids))
        .options(selectinload(Article.tags), selectinload(Article.category))
    )
    learned = phrasings_of(session, ids)
    return {a.id: document_for(a, learned.get(a.id, ())) for a in rows}


@dataclass(frozen=True)
class Drift:
    """How the index differs from the database."""

    missing: tuple[int, ...]
    stale: tuple[int, ...]
    extra: tuple[int, ...]
    # The index format the index was built with, when older than the running code's.
    outdated_format: int | None = None

    @property
    def clean(self) -> bool:
        """True when the index matches the database and the running code's format."""
        return not (self.missing or self.stale or self.extra or self.outdated_format)


@dataclass
class OutboxIndexer:
    """Applies outbox rows to this node's index replica, in order, losing nothing on a crash.

    The watermark (the last outbox id known applied, with every id below it) is kept in the
    index. Ids are handed out before commit, so on PostgreSQL a row can appear below ids
    already seen; rows younger than ``grace`` are applied but the watermark waits for them.
    """

    sessions: sessionmaker[Session]
    index: SearchIndex
    grace: timedelta = timedelta(seconds=30)
    _applied_recent: set[int] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def apply_pending(self, wait: bool = False) -> int:
        """Apply outbox rows not yet in the index; return how many articles were touched."""
        if not self._lock.acquire(blocking=wait):
            return 0
        try:
            return self._apply_pending(wait)
        finally:
            self._lock.release()

    def _apply_pending(self, wait: bool) -> int:
        touched = 0
        while True:
            watermark = self.index.applied_outbox_id()
            with self.sessions() as session:
                rows = session.execute(
                    select(IndexOutbox.id, IndexOutbox.article_id, IndexOutbox.created_at)
                    .where(IndexOutbox.id > watermark)
                    .order_by(IndexOutbox.id)
                    .limit(OUTBOX_BATCH)
                ).all()
                if not rows:
                    return touched
                fresh = [r for r in rows if r.id not in self._applied_recent]
                ids = sorted({r.article_id for r in fresh})
                documents = _load(session, ids) if ids else {}
                upserts = [documents[i] for i in ids if i in documents]
                removals = [str(i) for i in ids if i not in documents]
            new_watermark = self._settled_watermark(watermark, rows)
            if not fresh and new_watermark == watermark:
                return touched
            if not self.index.apply(upserts, removals, new_watermark, wait=wait):
                return touched
            touched += len(ids)
            self._applied_recent.update(r.id for r in fresh)
            self._applied_recent = {i for i in self._applied_recent if i > new_watermark}
            if len(rows) < OUTBOX_BATCH:
                return touched

    def _settled_watermark(self, watermark: int, rows: Sequence[Row[int, int, datetime]]) -> int:
        """Advance over the leading rows old enough that nothing can still commit below them."""
        settled_before = utcnow() - self.grace
        for row_id, _article, created_at in rows:
            if created_at > settled_before:
                break
            watermark = row_id
        return watermark

    def safe_watermark(self, session: Session) -> int:
        """Return the highest outbox id below which every row is settled."""
        settled_before = utcnow() - self.grace
        young = session.scalar(
            select(func.min(IndexOutbox.id)).where(IndexOutbox.created_at > settled_before)
        )
        if young is not None:
            return int(young) - 1
        return int(session.scalar(select(func.max(IndexOutbox.id))) or 0)

    def rebuild(self) -> int:
        """Rebuild the index from the database into a new generation, swap it in, replay."""
        with self._lock:
            with self.sessions() as session:
                watermark = self.safe_watermark(session)
                count = self.index.rebuild(all_documents(session), watermark)
            self._applied_recent.clear()
            self._apply_pending(wait=True)
        return count

    def check(self) -> Drift:
        """Compare the index with the database after applying what is pending."""
        self.apply_pending(wait=True)
        stored = self.index.stored_versions()
        with self.sessions() as session:
            rows = session.execute(
                select(Article.id, Article.version, Article.state, Article.visibility)
            ).all()
        in_db = {str(r.id): (r.version, r.state.value, r.visibility.value) for r in rows}
        missing = tuple(sorted(int(i) for i in in_db.keys() - stored.keys()))
        extra = tuple(sorted(int(i) for i in stored.keys() - in_db.keys()))
        stale = tuple(sorted(int(i) for i in in_db.keys() & stored.keys() if in_db[i] != stored[i]))
        built = self.index.index_format()
        outdated = built if built < INDEX_FORMAT else None
        return Drift(missing=missing, stale=stale, extra=extra, outdated_format=outdated)
