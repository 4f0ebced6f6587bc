"""What readers tell the desk about an article: votes, comments and views.

"Was this helpful?" is one vote per reader and article (a second answer replaces the
first); views count once per reader and day. The article keeps the totals, so lists sort
by them; the rows behind them are kept for reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from articles.models import Article, Base, UTCDateTime, utcnow

MAX_COMMENT = 1000
MAX_VISITOR = 64


class ArticleVote(Base):
    """One reader's answer to "Was this helpful?", with an optional comment."""

    __tablename__ = "article_votes"
    __table_args__ = (UniqueConstraint("article_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ArticleView(Base):
    """A reader read an article on a day (one row per reader, article and day)."""

    __tablename__ = "article_views"

    article_id: Mapped[int] = mapped_column(
        ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    )
    # "u:<user id>" for a signed-in reader, "v:<random cookie id>" for an anonymous one.
    visitor: Mapped[str] = mapped_column(String(MAX_VISITOR), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)


@dataclass(frozen=True)
class Vote:
    """What a reader said, as shown back to them."""

    helpful: bool
    comment: str


def vote(session: Session, article: Article, user_id: int, helpful: bool, comment: str) -> None:
    """Record ``user_id``'s answer for ``article`` (replacing an earlier one) and keep the
    article's totals in step."""
    comment = comment.strip()[:MAX_COMMENT]
    held = session.scalar(
        select(ArticleVote).where(
            ArticleVote.article_id == article.id, ArticleVote.user_id == user_id
        )
    )
    if held is None:
        session.add(
            ArticleVote(article_id=article.id, user_id=user_id, helpful=helpful, comment=comment)
        )
        _add(article, helpful, 1)
        return
    if held.helpful != helpful:
        _add(article, held.helpful, -1)
        _add(article, helpful, 1)
    held.helpful = helpful
    held.comment = comment
    held.updated_at = utcnow()


def _add(article: Article, helpful: bool, step: int) -> None:
    # Updated in SQL (column + step), so concurrent readers' votes all count.
    if helpful:
        article.helpful_votes = Article.helpful_votes + step
    else:
        article.unhelpful_votes = Article.unhelpful_votes + step


def vote_of(session: Session, article: Article, user_id: int) -> Vote | None:
    """Return ``user_id``'s answer for ``article``, if they gave one."""
    held = session.scalar(
        select(ArticleVote).where(
            ArticleVote.article_id == article.id, ArticleVote.user_id == user_id
        )
    )
    return None if held is None else Vote(held.helpful, held.comment)


def comments(session: Session, article: Article, limit: int = 20) -> list[ArticleVote]:
    """Return the latest votes on ``article`` that came with a comment."""
    query = (
        select(ArticleVote)
        .where(ArticleVote.article_id == article.id, ArticleVote.comment != "")
        .order_by(ArticleVote.updated_at.desc(), ArticleVote.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def record_view(session: Session, article: Article, visitor: str, day: date) -> bool:
    """Count a view of ``article`` by ``visitor`` unless they already viewed it on ``day``;
    return whether it counted."""
    visitor = visitor[:MAX_VISITOR]
    seen = session.get(ArticleView, (article.id, visitor, day))
    if seen is not None:
        return False
    try:
        with session.begin_nested():
            session.add(ArticleView(article_id=article.id, visitor=visitor, day=day))
    except IntegrityError:  # the same reader in another tab, a moment earlier
        return False
    article.view_count = Article.view_count + 1
    return True


def record_deflection(article: Article) -> None:
    """Count a request that ended because ``article`` solved it."""
    article.deflection_count = Article.deflection_count + 1


def move_feedback(session: Session, source: Article, target: Article) -> None:
    """Move readers' votes, views and deflections from ``source`` to ``target`` (a merge).

    A reader who voted on both keeps the answer they gave ``target``; a reader who viewed
    both on the same day is one view. Both articles' totals are counted again from rows.
    """
    session.flush()
    voted = set(
        session.scalars(select(ArticleVote.user_id).where(ArticleVote.article_id == target.id))
    )
    for held in session.scalars(select(ArticleVote).where(ArticleVote.article_id == source.id)):
        if held.user_id in voted:
            session.delete(held)
        else:
            held.article_id = target.id
    seen = {
        (row.visitor, row.day)
        for row in session.execute(
            select(ArticleView.visitor, ArticleView.day).where(ArticleView.article_id == target.id)
        )
    }
    twice = 0
    for view in session.scalars(select(ArticleView).where(ArticleView.article_id == source.id)):
        if (view.visitor, view.day) in seen:
            session.delete(view)
            twice += 1
    session.flush()
    session.execute(
        update(ArticleView).where(ArticleView.article_id == source.id).values(article_id=target.id)
    )
    target.view_count = Article.view_count + max(source.view_count - twice, 0)
    target.deflection_count = Article.deflection_count + source.deflection_count
    source.view_count = 0
    source.deflection_count = 0
    session.flush()
    for article in (source, target):
        article.helpful_votes = _count_votes(session, article, True)
        article.unhelpful_votes = _count_votes(session, article, False)


def _count_votes(session: Session, article: Article, helpful: bool) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(ArticleVote)
            .where(ArticleVote.article_id == article.id, ArticleVote.helpful.is_(helpful))
        )
        or 0
    )
