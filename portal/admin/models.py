"""Admin-managed search synonyms."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from articles.models import Base, UTCDateTime, utcnow
from articles.service import split_list


class SynonymGroup(Base):
    """Words and phrases that mean the same to the desk's users ("wifi, 无线, wireless")."""

    __tablename__ = "synonym_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def words(self) -> list[str]:
        """Return the group's entries, split on commas (ASCII or Chinese)."""
        return list(split_list(self.terms))
