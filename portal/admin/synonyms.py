"""Synonym groups: stored in the database, pushed to every process's search index."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from articles.service import split_list
from portal.admin.models import SynonymGroup
from search.index import SearchIndex

MAX_GROUP_CHARS = 500
MAX_GROUP_WORDS = 20


class InvalidSynonyms(ValueError):
    """A synonym group that cannot be saved."""


def parse_group(text: str) -> list[str]:
    """Split 'wifi, 无线, wireless' into its entries; at least two distinct ones."""
    entries = list(split_list(text))
    if len(entries) < 2:
        raise InvalidSynonyms("A synonym group needs at least two comma-separated entries.")
    if len(entries) > MAX_GROUP_WORDS or len(", ".join(entries)) > MAX_GROUP_CHARS:
        raise InvalidSynonyms(
            f"A group holds at most {MAX_GROUP_WORDS} entries and {MAX_GROUP_CHARS} characters."
        )
    return entries


def new_group(text: str) -> SynonymGroup:
    """Return an unsaved SynonymGroup of the entries of ``text`` (see parse_group)."""
    return SynonymGroup(terms=", ".join(parse_group(text)))


class SynonymSync:
    """Keeps one index's synonyms equal to the database's, reloading only when they change."""

    def __init__(self, sessions: sessionmaker[Session], index: SearchIndex) -> None:
        self.sessions = sessions
        self.index = index
        self.loaded: tuple[int, int] | None = None

    def refresh(self) -> bool:
        """Reload the groups if the table changed since the last load; return whether it did."""
        with self.sessions() as session:
            count, newest = session.execute(
                select(func.count(SynonymGroup.id), func.max(SynonymGroup.id))
            ).one()
            signature = (int(count), int(newest or 0))
            if signature == self.loaded:
                return False
            groups = [g.words() for g in session.scalars(select(SynonymGroup))]
        self.index.set_synonyms(groups)
        self.loaded = signature
        return True
