"""Fixtures for the search package: a real Whoosh index in tmp_path and a document factory."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest

from search.index import Document, SearchIndex

WHEN = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def search_index(tmp_path: Path) -> Iterator[SearchIndex]:
    """An empty index under tmp_path/index, closed after the test."""
    with SearchIndex.open(tmp_path / "index") as index:
        yield index


@pytest.fixture
def make_document() -> Callable[..., Document]:
    """Return a factory of documents with unique ids and sensible defaults."""
    ids = count(1)

    def make(title: str = "Untitled", body: str = "", **fields: Any) -> Document:
        fields.setdefault("id", str(next(ids)))
        fields.setdefault("updated", WHEN)
        fields.setdefault("version", 1)
        return Document(title=title, body=body, **fields)

    return make


@pytest.fixture
def add(
    search_index: SearchIndex, make_document: Callable[..., Document]
) -> Callable[..., Document]:
    """Return a function that indexes one new document and returns it."""

    def index_one(title: str = "Untitled", body: str = "", **fields: Any) -> Document:
        document = make_document(title, body, **fields)
        assert search_index.apply([document], [], None)
        return document

    return index_one
