"""The search log: what readers searched for, how many results they got, what they opened."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from articles.models import Base, UTCDateTime, utcnow


class SearchLog(Base):
    """One search, its query redacted and capped; a click on a result is recorded on it."""

    __tablename__ = "search_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    query: Mapped[str] = mapped_column(String(200))
    results: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20), default="search")
    staff: Mapped[bool] = mapped_column(default=False)
    clicked_article_id: Mapped[int | None] = mapped_column(
        ForeignKey("articles.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
