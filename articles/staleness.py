"""Keeping articles correct: who owns each one, when it is due for a check, readers' flags.

A published article is due for review at its ``review_by`` date when one was set (by
confirming it or by an import), else its category's review period after publishing. A
reader may flag it as outdated or wrong; a flag stays open until the owner (or an admin)
confirms the article is still correct, which moves the date on. Every flag, confirmation
and change of owner is an ``ArticleCheck`` row, never changed afterwards.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, ForeignKey, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from articles.errors import ArticleError
from articles.models import Article, ArticleState, Base, UTCDateTime, text_enum, utcnow

DEFAULT_REVIEW_DAYS = 180
MAX_REVIEW_DAYS = 3650
MAX_FLAG_COMMENT = 1000


class CheckKind(enum.StrEnum):
    """What happened to an article's correctness record."""

    OUTDATED = "outdated"  # a reader says it no longer matches how things are
    WRONG = "wrong"  # a reader says it is incorrect
    CONFIRMED = "confirmed"  # its owner or an admin checked it: still correct
    OWNER_CHANGED = "owner_changed"
    DATE_SET = "date_set"  # an import or an admin set the review date itself


FLAG_KINDS = frozenset({CheckKind.OUTDATED, CheckKind.WRONG})


class InvalidCheck(ArticleError):
    """A flag, confirmation or owner change that cannot be recorded (the message says why)."""


class ArticleCheck(Base):
    """One entry of an article's correctness record: a flag, a confirmation, a new owner."""

    __tablename__ = "article_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[CheckKind] = mapped_column(text_enum(CheckKind))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    # Confirmations: the due date before and after (ISO); owner changes: the user ids.
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    article: Mapped[Article] = relationship()


@dataclass(frozen=True)
class ReviewPeriods:
    """Days from publishing (or the last confirmation) to the next check, per category slug."""

    default: int = DEFAULT_REVIEW_DAYS
    by_category: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_setting(cls, value: Mapping[str, Any]) -> ReviewPeriods:
        """Build from the ``review_periods`` setting: {"default": 180, "categories": {...}}."""
        return cls(
            int(value.get("default", DEFAULT_REVIEW_DAYS)), dict(value.get("categories", {}))
        )

    def days_for(self, article: Article) -> int:
        """Return the review period of the article's category (the default without one)."""
        slug = article.category.slug if article.category is not None else None
        return int(self.by_category.get(slug, self.default)) if slug else self.default


def review_due(article: Article, periods: ReviewPeriods) -> datetime | None:
    """Return when the article is due for a check (None while it has never been published)."""
    if article.review_by is not None:
        return article.review_by
    if article.published_at is None:
        return None
    return article.published_at + timedelta(days=periods.days_for(article))


def open_flags(session: Session, article_ids: Iterable[int]) -> dict[int, list[ArticleCheck]]:
    """Return, per article, the flags raised since its last confirmation (oldest first)."""
    wanted = list(article_ids)
    if not wanted:
        return {}
    rows = session.scalars(
        select(ArticleCheck)
        .where(
            ArticleCheck.article_id.in_(wanted),
            ArticleCheck.kind.in_([*FLAG_KINDS, CheckKind.CONFIRMED]),
        )
        .order_by(ArticleCheck.id)
    )
    flags: dict[int, list[ArticleCheck]] = {}
    for row in rows:
        if row.kind is CheckKind.CONFIRMED:
            flags.pop(row.article_id, None)
        else:
            flags.setdefault(row.article_id, []).append(row)
    return flags


@dataclass(frozen=True)
class QueueEntry:
    """An article waiting for a check: when it was due and the readers' open flags."""

    article: Article
    due: datetime | None
    flags: list[ArticleCheck]

    @property
    def overdue(self) -> bool:
        """Whether its review date has passed (it may also or only be flagged)."""
        return self.due is not None and self.due <= utcnow()


def review_queue(
    session: Session, periods: ReviewPeriods, now: datetime, owner_id: int | None = None
) -> list[QueueEntry]:
    """Return the published articles past their review date or flagged by a reader (of one
    owner, or everyone's): flagged ones first, then the longest overdue."""
    query = select(Article).where(Article.state == ArticleState.PUBLISHED)
    if owner_id is not None:
        query = query.where(Article.owner_id == owner_id)
    articles = list(session.scalars(query.order_by(Article.id)))
    flags = open_flags(session, [a.id for a in articles])
    queue = []
    for article in articles:
        due = review_due(article, periods)
        raised = flags.get(article.id, [])
        if raised or (due is not None and due <= now):
            queue.append(QueueEntry(article, due, raised))
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted(queue, key=lambda e: (not e.flags, e.due or far, e.article.id))


def flag_article(
    session: Session, article: Article, reader_id: int, kind: CheckKind, comment: str
) -> ArticleCheck:
    """Record a reader's flag (outdated or wrong, with a comment) on a published article."""
    if kind not in FLAG_KINDS:
        raise InvalidCheck("Choose outdated or wrong.")
    text = comment.strip()
    if not text:
        raise InvalidCheck("Say what is outdated or wrong.")
    if len(text) > MAX_FLAG_COMMENT:
        raise InvalidCheck(f"The comment is longer than {MAX_FLAG_COMMENT} characters.")
    if article.state is not ArticleState.PUBLISHED:
        raise InvalidCheck("Only a published article can be flagged.")
    check = ArticleCheck(article_id=article.id, kind=kind, actor_id=reader_id, comment=text)
    session.add(check)
    session.flush()
    return check


def confirm_correct(
    session: Session,
    article: Article,
    actor_id: int,
    periods: ReviewPeriods,
    now: datetime,
    comment: str = "",
) -> ArticleCheck:
    """Record that the article is still correct: its open flags close and its review date
    moves a review period on from ``now``."""
    if article.state is not ArticleState.PUBLISHED:
        raise InvalidCheck("Only a published article is checked for staleness.")
    before = review_due(article, periods)
    article.review_by = now + timedelta(days=periods.days_for(article))
    check = ArticleCheck(
        article_id=article.id,
        kind=CheckKind.CONFIRMED,
        actor_id=actor_id,
        comment=comment.strip()[:MAX_FLAG_COMMENT],
        old_value=before.isoformat() if before else None,
        new_value=article.review_by.isoformat(),
        created_at=now,
    )
    session.add(check)
    session.flush()
    return check


def change_owner(
    session: Session, article: Article, owner_id: int | None, actor_id: int | None
) -> ArticleCheck | None:
    """Hand the article to another owner and record it; None when the owner is the same."""
    if owner_id == article.owner_id:
        return None
    check = ArticleCheck(
        article_id=article.id,
        kind=CheckKind.OWNER_CHANGED,
        actor_id=actor_id,
        old_value=article.owner_id,
        new_value=owner_id,
    )
    article.owner_id = owner_id
    session.add(check)
    session.flush()
    return check


def set_review_by(
    session: Session, article: Article, when: datetime | None, actor_id: int | None
) -> ArticleCheck | None:
    """Set an explicit review date (an import or an admin) and record it; open flags stay
    open. None when it is unchanged."""
    if when == article.review_by:
        return None
    check = ArticleCheck(
        article_id=article.id,
        kind=CheckKind.DATE_SET,
        actor_id=actor_id,
        old_value=article.review_by.isoformat() if article.review_by else None,
        new_value=when.isoformat() if when else None,
    )
    article.review_by = when
    session.add(check)
    session.flush()
    return check


def history(session: Session, article_id: int, limit: int = 20) -> list[ArticleCheck]:
    """Return the article's latest checks, newest first."""
    return list(
        session.scalars(
            select(ArticleCheck)
            .where(ArticleCheck.article_id == article_id)
            .order_by(ArticleCheck.id.desc())
            .limit(limit)
        )
    )
