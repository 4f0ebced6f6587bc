"""The NumPy scorer and the in-memory corrector give exactly what Whoosh itself gives."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.query import And, Or, Phrase, Term

from search import analysis, scoring, spelling
from search.index import Document, SearchIndex, _open_for_reading, _weighting

WORDS = [
    *("printer", "offline", "driver", "spooler", "network", "cable", "restart", "vpn"),
    *("password", "reset", "account", "outlook", "mailbox", "quota", "disk", "backup"),
    *("restore", "laptop", "screen", "keyboard", "install", "update", "error"),
]

Make = Callable[..., Document]


def _sentence(rng: random.Random, length: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(length))


@pytest.fixture
def corpus_index(tmp_path: Path, make_document: Make) -> Iterator[SearchIndex]:
    """Three segments of random articles, with deletions and a replaced document."""
    rng = random.Random(7)  # noqa: S311 - test data, not secrets
    with SearchIndex.open(tmp_path / "index") as index:
        for batch in range(3):
            documents = [
                make_document(
                    _sentence(rng, rng.randint(2, 6)),
                    _sentence(rng, rng.randint(5, 60)),
                    id=f"{batch}-{n}",
                    visibility=rng.choice(["public", "internal"]),
                )
                for n in range(40)
            ]
            assert index.apply(documents, [f"{batch - 1}-3", f"{batch - 1}-5"], None)
        replaced = make_document("printer driver", "printer driver printer", id="0-7")
        assert index.apply([replaced], [], None)
        yield index


@pytest.fixture
def searcher(corpus_index: SearchIndex) -> Iterator[Any]:
    ix = _open_for_reading(corpus_index._live_dir())
    with ix.searcher(weighting=_weighting()) as found:
        assert len(list(found.reader().leaf_readers())) > 1, "the test needs several segments"
        yield found


def _scorer(searcher: Any) -> scoring.ArrayScorer:
    return scoring.ArrayScorer(searcher, 1.2, 0.75, {"title": 0.75})


def _everything(searcher: Any) -> np.ndarray[Any, np.dtype[np.bool_]]:
    mask = np.zeros(searcher.doc_count_all(), dtype=np.bool_)
    mask[list(searcher.reader().all_doc_ids())] = True
    return mask


def _whoosh(searcher: Any, clauses: list[Any], limit: int) -> list[tuple[int, float]]:
    results = searcher.search(Or(clauses), limit=limit, optimize=False)
    return [(hit.docnum, hit.score) for hit in results]


QUERIES = [
    [Term("title", "printer", boost=2.5), Term("body", "printer"), Term("body", "driver")],
    [Term("body", "vpn", boost=0.7), Term("title", "password", boost=3.0)],
    [
        Term("title", "reset", boost=2.5),
        Term("body", "reset"),
        And([Term("body", "outlook", boost=0.3), Term("body", "mailbox", boost=0.3)]),
    ],
    # As search() builds it: every word in both fields, the phrase only on top.
    [
        Term("title", "printer", boost=2.5),
        Term("body", "printer"),
        Term("title", "driver", boost=2.5),
        Term("body", "driver"),
        Phrase("body", ["printer", "driver"], boost=2.0),
        Phrase("title", ["printer", "driver"], boost=2.0),
    ],
]


@pytest.mark.parametrize("clauses", QUERIES)
def test_array_scores_equal_whoosh_scores(
    searcher: Any, clauses: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rescoring window as deep as the index: every phrase match is found.
    monkeypatch.setattr(scoring, "RERANK_DEPTH", searcher.doc_count_all())
    expected = _whoosh(searcher, clauses, 25)
    ranking = scoring.rank(_scorer(searcher), clauses, _everything(searcher), 25)
    assert ranking.total == len(searcher.search(Or(clauses), limit=None))
    assert [docnum for docnum, _ in expected] == list(ranking.docnums)
    assert [score for _, score in expected] == pytest.approx(list(ranking.scores), rel=1e-9)


def test_phrases_only_lift_candidates_inside_the_rescoring_window(
    searcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    terms_only = [clause for clause in QUERIES[3] if not isinstance(clause, Phrase)]
    by_terms = scoring.rank(_scorer(searcher), terms_only, _everything(searcher), 1000)
    monkeypatch.setattr(scoring, "RERANK_DEPTH", 10)
    ranking = scoring.rank(_scorer(searcher), QUERIES[3], _everything(searcher), 10)
    assert set(ranking.docnums) == set(by_terms.docnums[:10])
    assert ranking.total == by_terms.total
    assert ranking.scores >= by_terms.scores[:10]


def test_deleted_and_replaced_documents_never_score(searcher: Any) -> None:
    clauses = [Term("title", word) for word in WORDS] + [Term("body", word) for word in WORDS]
    ranking = scoring.rank(_scorer(searcher), clauses, _everything(searcher), 1000)
    found = {searcher.stored_fields(docnum)["id"] for docnum in ranking.docnums}
    assert not found & {"0-3", "0-5", "1-3", "1-5"}
    assert sum(1 for doc_id in found if doc_id == "0-7") == 1
    assert ranking.total == searcher.doc_count()


def test_a_phrase_scores_only_where_its_words_stand_together(
    search_index: SearchIndex, make_document: Make
) -> None:
    together = make_document("Tips", "Open the portal first. Then reset your password there.")
    apart = make_document("Tips", "Reset the router first. Later, the password expires.")
    assert search_index.apply([together, apart], [], None)
    ix = _open_for_reading(search_index._live_dir())
    with ix.searcher(weighting=_weighting()) as searcher:
        phrase = Phrase("body", [analysis.terms("reset")[0], analysis.terms("password")[0]])
        matches = _scorer(searcher).phrase(phrase, np.arange(searcher.doc_count_all()))
        assert matches is not None
        docnums, scores = matches
        assert [searcher.stored_fields(d)["id"] for d in docnums] == [together.id]
        (expected,) = searcher.search(phrase, limit=None)
        assert scores.tolist() == pytest.approx([expected.score], rel=1e-9)


def test_only_allowed_documents_are_ranked_and_counted(searcher: Any) -> None:
    allowed = np.zeros(searcher.doc_count_all(), dtype=np.bool_)
    public = list(searcher.docs_for_query(Term("visibility", "public")))
    allowed[public] = True
    clauses = [Term("body", word) for word in WORDS]
    ranking = scoring.rank(_scorer(searcher), clauses, allowed, 500)
    assert set(ranking.docnums) == set(public)
    assert ranking.total == len(public)


def test_newest_first_orders_matches_by_the_given_values(searcher: Any) -> None:
    newest = np.arange(searcher.doc_count_all(), dtype=np.float64)
    clauses = [Term("body", "printer")]
    ranking = scoring.rank(_scorer(searcher), clauses, _everything(searcher), 5, newest)
    assert list(ranking.docnums) == sorted(ranking.docnums, reverse=True)
    assert ranking.total == len(searcher.search(Or(clauses), limit=None))


def test_the_postings_cache_keeps_the_recently_used_within_its_bound() -> None:
    def postings(n: int) -> scoring.Postings:
        return scoring.Postings(np.arange(n, dtype=np.int32), np.ones(n, dtype=np.float32))

    cache = scoring.PostingsCache(max_bytes=8 * 250)
    cache.put(("s", "f", "a"), postings(100))
    cache.put(("s", "f", "b"), postings(100))
    assert cache.get(("s", "f", "a")) is not None
    cache.put(("s", "f", "c"), postings(100))
    assert cache.get(("s", "f", "b")) is None
    assert cache.get(("s", "f", "a")) is not None
    assert cache.nbytes <= cache.max_bytes
    cache.put(("s", "f", "huge"), postings(1000))
    assert cache.get(("s", "f", "huge")) is None


@pytest.mark.parametrize(
    ("word", "maxdist"), [("printr", 1), ("spoler", 1), ("pasword", 2), ("kyeboard", 2)]
)
def test_the_corrector_chooses_what_whoosh_chooses(searcher: Any, word: str, maxdist: int) -> None:
    expected = searcher.corrector("spelling").suggest(word, limit=1, maxdist=maxdist, prefix=1)
    assert spelling.closest_word(searcher, "spelling", word, maxdist) == (
        expected[0] if expected else None
    )


def test_the_corrector_prefers_the_most_frequent_close_word(
    tmp_path: Path, make_document: Make
) -> None:
    with SearchIndex.open(tmp_path / "index") as index:
        rare = make_document("Cart", "cart")
        common = make_document("Card", "card card card")
        assert index.apply([rare, common], [], None)
        ix = whoosh_index.open_dir(str(index._live_dir()))
        with ix.searcher() as searcher:
            assert spelling.closest_word(searcher, "spelling", "carx", 1) == "card"
            assert spelling.closest_word(searcher, "spelling", "xard", 1) is None
            assert spelling.closest_word(searcher, "spelling", "card", 1) == "cart"


def test_warming_caches_the_longest_lists_of_the_first_fields_within_the_budget(
    searcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scoring, "MIN_WARM_POSTINGS", 1)
    scoring.CACHE.clear()
    scorer = _scorer(searcher)
    longest = max(
        (info.doc_frequency(), segment, btext.decode())
        for reader, _offset, segment in scorer._leaves
        for btext, info in reader.iter_field("title")
    )
    used = scoring.warm(scorer, ["title", "body"], budget=longest[0] * 8)
    assert used == longest[0] * 8 == scoring.CACHE.nbytes
    assert scoring.CACHE.get((longest[1], "title", longest[2])) is not None
    scoring.CACHE.clear()
    everything = scoring.warm(scorer, ["title", "body"], budget=1 << 30)
    assert everything == scoring.CACHE.nbytes > used
    ranking = scoring.rank(scorer, QUERIES[0], _everything(searcher), 25)
    assert [docnum for docnum, _ in _whoosh(searcher, QUERIES[0], 25)] == list(ranking.docnums)


@pytest.mark.parametrize("prefix", ["p", "pr", "res", "key", "zzz"])
def test_completions_are_the_most_frequent_longer_words_with_the_prefix(
    searcher: Any, prefix: str
) -> None:
    found = [
        (btext.decode(), info.weight())
        for btext, info in searcher.reader().iter_prefix("spelling", prefix)
        if btext.decode() != prefix
    ]
    expected = [word for word, _ in sorted(found, key=lambda item: (-item[1], item[0]))][:3]
    assert spelling.completions(searcher, "spelling", prefix, 3) == expected
    assert spelling.completions(searcher, "spelling", "", 3) == []
