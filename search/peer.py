"""SQLite FTS5, the reference peer our search is compared with, for speed and quality.

The peer is built and queried the way `make bench` times it: an FTS5 table with the
``unicode61`` tokenizer (diacritics removed) and prefix indexes of 2 to 5 characters;
Chinese runs segmented with rjieba, the dictionary our analyzer uses, before they reach
the table (unicode61 would otherwise index a whole Chinese sentence as one token).
Whole questions are an OR of their words, ranked by BM25 with the title weighted 2.5;
half-typed text is its words, or the last one's prefix when it is unfinished, on titles.
``eval-search --peer fts5`` scores it with the same code as our ranking.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata
from collections.abc import Iterable

import rjieba

TOKEN = re.compile(r"\w+", re.UNICODE)
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Query words kept, as FTS5 sees them.
MAX_TERMS = 32
CREATE = (
    "CREATE VIRTUAL TABLE docs USING fts5(title, body, id UNINDEXED, "
    "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5')"
)
FULL_SQL = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 2.5, 1.0) LIMIT ?"
TYPED_SQL = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 3.0, 0.0) LIMIT ?"


def fts_text(text: str) -> str:
    """Return text for FTS5's unicode61 tokenizer: NFKC, Chinese runs segmented by jieba."""
    text = unicodedata.normalize("NFKC", text)
    return _CJK_RUN.sub(lambda m: " " + " ".join(rjieba.cut(m.group(0))) + " ", text)


def fts_terms(text: str) -> list[str]:
    """Return the distinct words of a query as FTS5 sees them."""
    return list(dict.fromkeys(t.lower() for t in TOKEN.findall(fts_text(text))))[:MAX_TERMS]


def fts_match_or(text: str) -> str:
    """Return an FTS5 MATCH expression: any of the query's words, in any column."""
    return " OR ".join(f'"{t}"' for t in fts_terms(text))


def fts_match_typed(text: str) -> str:
    """Return an FTS5 MATCH for half-typed text: its words or the last one's prefix, on titles."""
    terms = fts_terms(text)
    if not terms:
        return ""
    complete = not text[-1:].isalnum() or bool(_CJK_RUN.search(text[-1:]))
    parts = [f'"{t}"' for t in terms[:-1]]
    parts.append(f'"{terms[-1]}"' if complete else f'"{terms[-1]}"*')
    return "title : (" + " OR ".join(parts) + ")"


class Fts5Peer:
    """An in-memory FTS5 table of ``{"id", "title", "body"}`` records."""

    def __init__(self, records: Iterable[dict[str, str]]) -> None:
        self._connection = sqlite3.connect(":memory:")
        self._connection.execute(CREATE)
        with self._connection:
            self._connection.executemany(
                "INSERT INTO docs(title, body, id) VALUES (?, ?, ?)",
                (
                    (fts_text(r.get("title", "")), fts_text(r.get("body", "")), r["id"])
                    for r in records
                ),
            )

    def full(self, text: str, depth: int) -> list[str]:
        """Return the ids ranked for a whole question (OR of its words, BM25)."""
        return self._ids(FULL_SQL, fts_match_or(text), depth)

    def typing(self, text: str, depth: int) -> list[str]:
        """Return the ids ranked for half-typed text (titles, the last word as a prefix)."""
        return self._ids(TYPED_SQL, fts_match_typed(text), depth)

    def _ids(self, sql: str, match: str, depth: int) -> list[str]:
        if not match:
            return []
        return [str(row[0]) for row in self._connection.execute(sql, (match, depth))]

    def close(self) -> None:
        """Close the database."""
        self._connection.close()
