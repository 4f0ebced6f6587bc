"""Index building: the files are Whoosh's own, in one process or two, and stay writable."""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from search import analysis, building
from search.building import build_index
from search.index import Document, Scope, SearchIndex, _fields
from search.schema import build_schema

Make = Callable[..., Document]
EVERYONE = Scope(frozenset({"public", "internal"}), frozenset({"published", "draft"}))

TRICKY_TEXTS = [
    "VPN reset: the user's Wi-Fi drops; try c#, c++ and outlook.exe on 192.168.1.1.",
    "打印机无法连接 VPN连接失败, Outlook邮箱 满了",
    "ＶＰＮ full-width Ｗｉ－Ｆｉ and café, naïve, e\u0301t\u00e9, ﬁle ligatures",
    "The the of and a: stop words only",
    "the-the and-or a-z's of-wi-fi stop-words",
    "it's Microsoft's e-mail re-sync (don\u2019t panic) x-y-z",
    "",
    "   \n\t ",
    "一",
    "line one\nline two\n\nline four: 修复 网络 问题",
]


def documents(count: int) -> list[Document]:
    """Return ``count`` varied documents; common words run past one 128-posting block."""
    when = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    out = []
    for n in range(count):
        text = TRICKY_TEXTS[n % len(TRICKY_TEXTS)]
        out.append(
            Document(
                id=str(n),
                title=f"Printer {n % 7} offline {text[:20]}",
                body=f"Restart the printer spooler service. {text} Ticket {n}.",
                updated=when + timedelta(days=n % 40, minutes=n),
                version=1 + n % 5,
                category=("printing", "network", "")[n % 3],
                tags=(("printer", "Spooler,Queue") if n % 4 == 0 else ()),
                visibility=("public", "internal")[n % 2],
                state=("published", "draft")[n % 5 == 0],
                phrasings=(("printer offline again", "打印机 离线") if n % 6 == 0 else ()),
            )
        )
    return out


def whoosh_build(directory: Path, docs: list[Document]) -> None:
    """Index ``docs`` with Whoosh's own writer, the way rebuilds used to."""
    directory.mkdir()
    ix = whoosh_index.create_in(str(directory), build_schema())
    writer = ix.writer()
    for document in docs:
        writer.add_document(**_fields(document))
    writer.commit()


def segment_files(directory: Path) -> tuple[dict[str, bytes], Any]:
    """Return the files inside the index's only segment, by extension, and its reader."""
    ix = whoosh_index.open_dir(str(directory))
    (segment,) = ix._segments()
    compound = segment.open_compound_file(FileStorage(str(directory)))
    files = {}
    for name in compound.list():
        handle = compound.open_file(name)
        files[name.split(".", 1)[1]] = handle.read()
        handle.close()
    compound.close()
    return files, ix.reader()


@pytest.mark.parametrize("parallel_after", [10_000, 1], ids=["one process", "two processes"])
def test_building_writes_the_same_files_as_whooshs_own_writer(
    tmp_path: Path, parallel_after: int
) -> None:
    docs = documents(300)
    whoosh_build(tmp_path / "whoosh", docs)
    (tmp_path / "built").mkdir()
    count = build_index(tmp_path / "built", map(_fields, docs), build_schema(), parallel_after)

    expected, expected_reader = segment_files(tmp_path / "whoosh")
    built, reader = segment_files(tmp_path / "built")
    assert count == 300
    assert sorted(built) == sorted(expected)
    for name, content in expected.items():
        assert built[name] == content, name
    assert reader.doc_count_all() == expected_reader.doc_count_all()
    for name in build_schema().names():
        assert reader.field_length(name) == expected_reader.field_length(name), name
    reader.close()
    expected_reader.close()
    assert not list((tmp_path / "built").glob("*.tmp"))


def test_a_term_in_every_document_spans_several_blocks(tmp_path: Path) -> None:
    (tmp_path / "built").mkdir()
    build_index(tmp_path / "built", map(_fields, documents(300)), build_schema())
    reader = whoosh_index.open_dir(str(tmp_path / "built")).reader()
    assert reader.doc_frequency("body", "printer") == 300
    assert list(reader.postings("body", "printer").all_ids()) == list(range(300))
    reader.close()


def test_repeated_ids_keep_their_first_document(tmp_path: Path) -> None:
    first = Document("7", "First", "kept", datetime(2026, 1, 1), 1)
    second = Document("7", "Second", "dropped", datetime(2026, 1, 2), 2)
    (tmp_path / "built").mkdir()
    assert build_index(tmp_path / "built", map(_fields, [first, second]), build_schema()) == 1
    searcher = whoosh_index.open_dir(str(tmp_path / "built")).searcher()
    assert [fields["title"] for fields in searcher.all_stored_fields()] == ["First"]
    searcher.close()


def test_an_empty_rebuild_leaves_an_empty_index(tmp_path: Path) -> None:
    with SearchIndex.open(tmp_path / "index") as index:
        assert index.rebuild([], outbox_id=4) == 0
        assert index.doc_count() == 0
        assert index.search("printer", EVERYONE).total == 0


def test_a_rebuilt_index_takes_updates_and_removals(tmp_path: Path, make_document: Make) -> None:
    with SearchIndex.open(tmp_path / "index") as index:
        index.rebuild(documents(40), outbox_id=1)
        assert index.search("spooler", EVERYONE).total == 40
        update = make_document("Scanner jam", "Clear the scanner feed", id="3")
        assert index.apply([update], ["4", "5"], 2)
        assert index.doc_count() == 38
        assert index.search("spooler", EVERYONE).total == 37
        assert [hit.id for hit in index.search("scanner", EVERYONE).hits] == ["3"]


def test_a_rebuild_in_two_processes_answers_like_one_in_one(tmp_path: Path) -> None:
    docs = documents(120)
    for parallel_after, name in [(10_000, "one"), (1, "two")]:
        (tmp_path / name).mkdir()
        build_index(tmp_path / name, map(_fields, docs), build_schema(), parallel_after)
    ids = {}
    for name in ("one", "two"):
        searcher = whoosh_index.open_dir(str(tmp_path / name)).searcher()
        ids[name] = [hit["id"] for hit in searcher.find("body", "printer spooler 打印机")]
        searcher.close()
    assert ids["one"] == ids["two"]
    assert ids["one"]


def test_a_failing_document_source_stops_the_helper_process(tmp_path: Path) -> None:
    def failing() -> Iterator[dict[str, Any]]:
        yield from map(_fields, documents(5))
        raise RuntimeError("database went away")

    (tmp_path / "built").mkdir()
    with pytest.raises(RuntimeError, match="database went away"):
        build_index(tmp_path / "built", failing(), build_schema(), parallel_after=2)
    assert not list((tmp_path / "built").glob("*.tmp"))
    assert whoosh_index.open_dir(str(tmp_path / "built")).doc_count() == 0


@pytest.mark.parametrize("text", TRICKY_TEXTS)
def test_positioned_words_are_the_analyzers_unstemmed_tokens(text: str) -> None:
    chain = analysis.BilingualTokenizer() | analysis.StopWordFilter()
    expected = [(token.text, token.pos) for token in chain(text, positions=True)]
    assert analysis.positioned_words(text) == expected


def test_a_schema_read_back_from_pickles_is_analysed_by_building_itself() -> None:
    schema = build_schema()
    copy = pickle.loads(pickle.dumps(schema))  # noqa: S301 - our own schema, pickled just above
    kinds = {name: building._kind(field) for name, field in schema.items()}
    assert {name: building._kind(field) for name, field in copy.items()} == kinds
    assert kinds["body"] is not None
    assert kinds["title_prefix"] is not None
