"""Plain Whoosh, as it comes: the reference our ranking is compared with.

A stemming analyzer (Whoosh's ``StemmingAnalyzer``), a title and a body field, and
Whoosh's default BM25F over an OR of the query's analysed words in both fields; no
boosts, phrases, CJK handling, synonyms, spelling or re-ranking. ``eval-search
--baseline`` runs it over the same data and modes as the production ranking.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from whoosh import index as whoosh_index
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, TEXT, Schema
from whoosh.query import Or, Term

FIELDS = ("title", "body")


def _schema() -> Any:
    analyzer = StemmingAnalyzer()
    return Schema(
        id=ID(unique=True, stored=True),
        title=TEXT(analyzer=analyzer),
        body=TEXT(analyzer=analyzer),
    )


class PlainWhoosh:
    """A plain Whoosh index of ``{"id", "title", "body"}`` records in ``directory``."""

    def __init__(self, directory: Path, records: Iterable[dict[str, str]]) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._ix = whoosh_index.create_in(str(directory), _schema())
        writer = self._ix.writer()
        for record in records:
            writer.add_document(
                id=record["id"], title=record.get("title", ""), body=record.get("body", "")
            )
        writer.commit()
        self._searcher = self._ix.searcher()

    def ranking(self, text: str, depth: int) -> list[str]:
        """Return the ids of the best ``depth`` records for ``text`` (empty if no word)."""
        analyzer = self._ix.schema["title"].analyzer
        words = list(dict.fromkeys(token.text for token in analyzer(text)))
        if not words:
            return []
        query = Or([Term(field, word) for word in words for field in FIELDS])
        return [str(hit["id"]) for hit in self._searcher.search(query, limit=depth)]

    def close(self) -> None:
        """Close the searcher and the index."""
        self._searcher.close()
        self._ix.close()
