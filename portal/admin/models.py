"""Admin-managed search synonyms and desk settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from articles.models import Base, UTCDateTime, utcnow
from articles.service import split_list
from portal.auth.models import User


class SynonymGroup(Base):
    """Words and phrases that mean the same to the desk's users ("wifi, 无线, wireless")."""

    __tablename__ = "synonym_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    terms: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def words(self) -> list[str]:
        """Return the group's entries, split on commas (ASCII or Chinese)."""
        return list(split_list(self.terms))


class Setting(Base):
    """One of the desk's settings, as admins last saved it (absent: the default applies)."""

    __tablename__ = "settings"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class SettingChange(Base):
    """A saved change to a setting: who, when, old → new. Append-only, like ticket events."""

    __tablename__ = "setting_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(40), index=True)
    old_value: Mapped[Any] = mapped_column(JSON, nullable=True)
    new_value: Mapped[Any] = mapped_column(JSON)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    actor: Mapped[User | None] = relationship()


class ChangesAreAppendOnly(Exception):
    """A recorded setting change was about to be altered or deleted."""


@event.listens_for(SettingChange, "before_update")
@event.listens_for(SettingChange, "before_delete")
def _refuse_changes(mapper: Any, connection: Any, target: SettingChange) -> None:
    raise ChangesAreAppendOnly(f"setting change {target.id} is part of the record")
