"""The article index: Whoosh behind one small class.

Layout of ``root``::

    current          names the live generation ("gen-7"), swapped with os.replace
    gen-7/           a complete Whoosh index plus solveloop-meta.json (last outbox id)
    writer.lock      flock'ed by whoever writes: apply() or rebuild()

Only the indexer writes (through :meth:`SearchIndex.apply`), so Whoosh's own lock never
fails in front of a user. Readers keep a small pool of open searchers per generation
and swap them when ``current`` changes or Whoosh reports a newer commit.
"""

from __future__ import annotations

import fcntl
import json
import math
import os
import re
import shutil
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypeVar, overload

import numpy as np
import numpy.typing as npt
from rapidfuzz.distance import Indel
from whoosh import index as whoosh_index
from whoosh import scoring as whoosh_scoring
from whoosh.filedb.filestore import FileStorage
from whoosh.query import And, Not, Or, Phrase, Term

from search import analysis, scoring, spelling
from search.building import build_index
from search.schema import INDEX_FORMAT, STATES, VISIBILITIES, build_schema
from search.snippets import Segments, highlight, snippet

_T = TypeVar("_T")

CURRENT = "current"
WRITER_LOCK = "writer.lock"
META = "solveloop-meta.json"
_GENERATION_RE = re.compile(r"gen-(\d+)")

TITLE_BOOST = 2.5
BODY_BOOST = 1.0
PHRASINGS_BOOST = 1.0
TITLE_PHRASE_BOOST = 2.0
BODY_PHRASE_BOOST = 1.0
SUGGEST_TITLE_BOOST = 3.0
SUGGEST_PHRASINGS_BOOST = 1.0
SUGGEST_BODY_BOOST = 1.0
SUGGEST_PREFIX_BOOST = 1.5
SUGGEST_PHRASINGS_PREFIX_BOOST = 0.7
# The last typed word also counts as a whole word, a little less than completed ones.
SUGGEST_LAST_WEIGHT = 1.0
# A half-typed English word also stands for the most frequent words of the index that
# it begins, each at this share of a typed word.
SUGGEST_COMPLETIONS = 3
SUGGEST_COMPLETION_WEIGHT = 0.3
COMPLETION_MIN_LENGTH = 4
BM25_B = 0.75
BM25_K1 = 1.2
TITLE_B = 0.75
PHRASINGS_B = 0.75
# Length normalisation per field where it differs from BM25_B.
_FIELD_B = {
    "title": TITLE_B,
    "phrasings": PHRASINGS_B,
    "title_cjk": TITLE_B,
    "phrasings_cjk": PHRASINGS_B,
}
TITLE_CJK_BOOST = 1.0
BODY_CJK_BOOST = 0.2
PHRASINGS_CJK_BOOST = 0.2
SUGGEST_TITLE_CJK_BOOST = 2.0
SUGGEST_PHRASINGS_CJK_BOOST = 0.2
# Single CJK characters in full search, as a share of a bigram's weight in the same field
# (titles and phrasings only). Suggestions leave them out: no gain measured there.
CJK_CHARACTER_WEIGHT = 2.5
# Chinese full search multiplies scores by the share of the query's characters a title
# (or phrasing) holds, to this power: Lucene's classic coordination, on characters
# because Chinese word boundaries are uncertain. Smoothed so no match is zeroed.
CJK_COVERAGE_POWER = 0.3
# Full search re-ranks its best TITLE_RERANK_DEPTH articles by how alike the query and each
# title are as strings of characters, white space removed (0 to 1): knowledge-base titles
# are questions, and a user's question that reads like one is usually that one. The
# likeness adds this share of the head's mean score (the mean, not the best: one exact
# title match would otherwise set the scale for all the others). English questions are
# compared by the character pairs they share (Dice), which ignores word order ("delete
# all mail" / "mail: delete all"); CJK ones by rapidfuzz's normalised Indel similarity,
# which follows it: Chinese titles have no inflection or word order to blur the comparison.
TITLE_RERANK_DEPTH = 50
TITLE_SIMILARITY_WEIGHT = 2.5
TITLE_SIMILARITY_WEIGHT_CJK = 3.0
# Suggestions do the same over their best SUGGEST_RERANK_DEPTH, more lightly: half a
# question is less like its title than the whole one.
SUGGEST_RERANK_DEPTH = 20
SUGGEST_SIMILARITY_WEIGHT = 1.0
SUGGEST_SIMILARITY_WEIGHT_CJK = 0.5
# A learned phrasing (a past user's words for the article's question) that reads like the
# query counts as the title would, times this share. Less for CJK: bq's questions are a
# dozen characters, and the best of twenty such comparisons is high by chance.
PHRASING_LIKENESS = 1.0
PHRASING_LIKENESS_CJK = 0.5
# Synonyms and spelling corrections count for this share of a word actually typed.
EXPANSION_WEIGHT = 0.6
# Two typed words joined ("back up" -> "backup"), when the index knows the joined word,
# count as one more typed word (stackfaq MRR / nDCG@10 0.800 / 0.753 -> 0.804 / 0.757;
# 1.5 gave 0.805 / 0.759).
COMPOUND_WEIGHT = 1.0
MAX_SYNONYMS = 8
# Tags are curated words for what an article is about: they count as title words do.
TAG_BOOST = 2.5
SUGGEST_TAG_BOOST = 3.0
SUGGEST_PREFIX_MIN = 3
# Informativeness. A query term's weight is its idf among the articles written in its own
# script (English words among English articles, Chinese words among Chinese ones): "not"
# is in 11 of the demo's 13 English articles but "vpn" in 3 of them, while over all 39
# they look alike (11 and 13), because most articles are Chinese and say neither.
# Full search multiplies each article's score by (FLOOR + (1 - FLOOR) × share) ** POWER,
# the share being the informativeness of the query terms it holds over that of all of
# them: holding the decisive word counts for more than holding any number of generic ones.
TERM_COVERAGE_POWER = 0.3
TERM_COVERAGE_FLOOR = 0.1
# The title likeness bonus is multiplied by the share to this power: a title alike in
# its generic words only is not alike in what matters.
LIKENESS_COVERAGE_POWER = 0.5
# The words as typed "find little" below this many articles, or when the best one holds
# less than this share of the query's informativeness (a misspelt word counting as its
# correction would): only then are misspelt words corrected.
FEW_RESULTS = 3
LITTLE_SHARE = 0.5
# A query term is decisive when its informativeness (idf among articles of its script)
# is at least this share of the query's most informative term's: "vpn" (1.39 on the demo
# corpus) in "vpn not working", not "not" (0.20).
DECISIVE_SHARE = 0.5
# Queries of up to this many terms look their shares up in a table of every subset of
# their terms (2 ** 12 at most); longer ones compute each document's share directly.
MAX_SHARE_TERMS = 12
# Where a query term is looked for when counting what an article holds.
HOLDING_FIELDS = ("title", "body", "phrasings", "tag_words")
# Words shorter than this are never corrected (too many neighbours within an edit).
MIN_CORRECTED_LENGTH = 4
MAX_PHRASE_TERMS = 12
# Suggestions for CJK text also look for the words of the titles that the typed text
# matches best (pseudo-relevance feedback): half a Chinese question rarely holds the
# words of its answer's title, the best few titles often do. English suggestions lost
# with it (docs/search-quality.md), so they do without.
SUGGEST_FEEDBACK_TITLES = 3
SUGGEST_FEEDBACK_TERMS = 10
# The feedback words together weigh this many times the typed words.
SUGGEST_FEEDBACK_WEIGHT = 1.5

# Bounds on what a user can make one query cost.
MAX_QUERY_CHARS = 500
# Longer queries keep only their rarest terms (a pasted ticket description).
MAX_QUERY_TERMS = 24
# ... and drop, when they do, the terms found in more than this share of the articles.
COMMON_TERM_SHARE = 0.5
MAX_PER_PAGE = 100
# Seconds to wait for Whoosh's own lock, which only a foreign writer could hold.
_WHOOSH_LOCK_TIMEOUT = 10.0
# Scope filters (sets of document numbers) kept per open searcher.
_FILTER_CACHE_SIZE = 64
# Which documents hold a term, kept per open searcher for this many terms (one byte per
# document each: 6.4 MB at 100k articles): common words come back query after query.
_HOLDING_CACHE_SIZE = 64
# What warm() decodes ahead, in this order: what suggestions read, then bodies.
WARM_FIELDS = ("title_prefix", "title", "phrasings_prefix", "phrasings", "title_cjk", "body")
WARM_BYTES = 64 * 1024 * 1024
# Searchers read segment files with plain reads (see _open_for_reading).
_MMAP_SEGMENTS = False


class IndexUnavailable(Exception):
    """Raised when the index cannot answer: missing, or damaged on disk. Rebuild it."""


class IndexNotFound(IndexUnavailable):
    """Raised when ``root`` holds no index; create one with SearchIndex.open()."""


class IndexDamaged(IndexUnavailable):
    """Raised when reading the index failed: a truncated, zeroed or foreign file."""


@dataclass(frozen=True)
class Document:
    """What the index holds about one article revision."""

    id: str
    title: str
    body: str
    updated: datetime
    version: int
    category: str = ""
    tags: tuple[str, ...] = ()
    visibility: str = "public"
    state: str = "published"
    phrasings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Reject visibilities and states the scope filter would not know."""
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"unknown visibility {self.visibility!r}")
        if self.state not in STATES:
            raise ValueError(f"unknown state {self.state!r}")


@dataclass(frozen=True)
class Scope:
    """What the reader may see; enforced inside the Whoosh query as a filter."""

    visibilities: frozenset[str] = frozenset({"public"})
    states: frozenset[str] = frozenset({"published"})
    # Ids kept out whatever the index says: articles hidden in the database whose change
    # this index has not applied yet, so neither a hit nor the total reveals them.
    hidden: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Hit:
    """One search result, with plain-text segments for highlighting."""

    id: str
    score: float
    title: str
    title_segments: Segments
    snippet: Segments
    category: str
    visibility: str
    state: str
    updated: datetime
    # The share of the query's informativeness (its terms in either language, each
    # weighted by its idf among articles of its script) that this article holds, 0 to 1.
    coverage: float = 1.0
    # The decisive query terms this article holds (see DECISIVE_SHARE), with the synonyms
    # that stood in for them: what to highlight to show why it matched.
    decisive: frozenset[str] = frozenset()


@dataclass(frozen=True)
class SearchPage:
    """One page of results and the total number of matching articles."""

    hits: tuple[Hit, ...]
    total: int
    page: int
    per_page: int
    # The query with its misspelt words corrected, when these are its results: the
    # words as typed found too little (see SearchIndex.search).
    corrected: str | None = None

    @property
    def pages(self) -> int:
        """Return the number of pages (0 when nothing matched)."""
        return -(-self.total // self.per_page)


class _Reader:
    """One open Whoosh searcher, its array scorer and the scope filters computed on it."""

    def __init__(self, searcher: Any) -> None:
        self.searcher = searcher
        self.scorer = scoring.ArrayScorer(searcher, BM25_K1, BM25_B, _FIELD_B)
        self._filters: dict[tuple[Scope, str | None, str | None], npt.NDArray[np.bool_]] = {}
        self._languages: dict[str, npt.NDArray[np.bool_]] = {}
        self._holding: OrderedDict[str, npt.NDArray[np.bool_]] = OrderedDict()
        # Which documents are live (written in either language), and how many in each.
        self._live: tuple[npt.NDArray[np.bool_], int, int, int] | None = None

    def allowed(
        self, scope: Scope, category: str | None, tag: str | None = None
    ) -> npt.NDArray[np.bool_]:
        """Return which documents ``scope`` may see (a mask), computed once per searcher."""
        key = (scope, category, tag)
        mask = self._filters.get(key)
        if mask is None:
            if len(self._filters) >= _FILTER_CACHE_SIZE:
                self._filters.clear()
            mask = np.zeros(self.scorer.size, dtype=np.bool_)
            docnums = np.fromiter(
                self.searcher.docs_for_query(_scope_filter(scope, category, tag)), dtype=np.int64
            )
            mask[docnums] = True
            self._filters[key] = mask
        return mask

    def rank(
        self,
        clauses: Sequence[Any],
        scope: Scope,
        category: str | None,
        limit: int,
        tag: str | None = None,
        newest_first: bool = False,
        factor: npt.NDArray[np.float64] | None = None,
    ) -> scoring.Ranking:
        """Return the best documents for the sum of ``clauses`` among what ``scope`` allows."""
        newest = self.scorer.sort_values("updated") if newest_first else None
        allowed = self.allowed(scope, category, tag)
        return scoring.rank(self.scorer, clauses, allowed, limit, newest, factor)

    def character_coverage(self, characters: Sequence[str]) -> npt.NDArray[np.float64]:
        """Return per document ((1 + query characters in its title or phrasings) /
        (1 + query characters)) ** CJK_COVERAGE_POWER."""
        holders = [
            np.union1d(
                self.scorer.postings("title_cjk", character)[0],
                self.scorer.postings("phrasings_cjk", character)[0],
            )
            for character in characters
        ]
        count = np.bincount(np.concatenate(holders), minlength=self.scorer.size)
        return np.asarray(((count + 1) / (len(characters) + 1)) ** CJK_COVERAGE_POWER)

    def language_mask(self, language: str) -> npt.NDArray[np.bool_]:
        """Return which live documents are written mainly in ``language`` ("zh", "en")."""
        mask = self._languages.get(language)
        if mask is None:
            mask = np.zeros(self.scorer.size, dtype=np.bool_)
            docnums = np.fromiter(
                self.searcher.docs_for_query(Term("language", language)), dtype=np.int64
            )
            mask[docnums] = True
            self._languages[language] = mask
        return mask

    def holding(self, term: str) -> npt.NDArray[np.bool_]:
        """Return which documents hold ``term`` in any of the HOLDING_FIELDS (read-only;
        kept for the searcher's life, the most recently used _HOLDING_CACHE_SIZE)."""
        held = self._holding.get(term)
        if held is not None:
            self._holding.move_to_end(term)
            return held
        held = np.zeros(self.scorer.size, dtype=np.bool_)
        for field in HOLDING_FIELDS:
            held[self.scorer.postings(field, term)[0]] = True
        held.flags.writeable = False
        self._holding[term] = held
        if len(self._holding) > _HOLDING_CACHE_SIZE:
            self._holding.popitem(last=False)
        return held

    def informativeness(self, held: npt.NDArray[np.bool_], cjk: bool) -> tuple[float, float]:
        """Return the idf of a term held where ``held`` is true among the articles written
        in its script, and its idf among all articles (the same when the index holds
        articles of one script only)."""
        if self._live is None:
            zh, en = self.language_mask("zh"), self.language_mask("en")
            live = zh | en
            self._live = (
                live,
                int(np.count_nonzero(live)),
                int(np.count_nonzero(zh)),
                int(np.count_nonzero(en)),
            )
        live, articles, written_zh, written_en = self._live
        everywhere = _idf(articles, int(np.count_nonzero(held & live)))
        written = written_zh if cjk else written_en
        if written in (0, articles):
            return everywhere, everywhere
        own = self.language_mask("zh" if cjk else "en")
        return _idf(written, int(np.count_nonzero(held & own))), everywhere

    def hits(
        self, ranking: scoring.Ranking, skip: int = 0, end: int | None = None
    ) -> list[tuple[dict[str, Any], float]]:
        """Return the stored fields and score of the ranked documents from ``skip`` to ``end``."""
        return [
            (self.scorer.stored_fields(docnum), score)
            for docnum, score in zip(
                ranking.docnums[skip:end], ranking.scores[skip:end], strict=True
            )
        ]


class _Generation:
    """An open generation directory and its idle readers."""

    def __init__(self, name: str, ix: Any) -> None:
        self.name = name
        self.ix = ix
        self.idle: list[_Reader] = []
        self.retired = False

    def retire(self) -> None:
        self.retired = True
        for reader in self.idle:
            reader.searcher.close()
        self.idle.clear()


def _unique(words: Iterable[_T]) -> list[_T]:
    return list(dict.fromkeys(words))


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _read_meta(directory: Path) -> dict[str, Any]:
    """Return a generation's record: the outbox watermark and the format it was built with.

    A missing or unreadable record reads as empty (watermark 0: the outbox is replayed);
    :meth:`SearchIndex.verify` reports it.
    """
    try:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(meta, dict):
        return {}
    if not all(isinstance(meta.get(key, 0), int) for key in ("outbox_id", "format")):
        return {}
    return meta


def _write_meta(directory: Path, outbox_id: int, index_format: int = INDEX_FORMAT) -> None:
    _write_atomically(
        directory / META, json.dumps({"outbox_id": outbox_id, "format": index_format})
    )


def _utc_naive(moment: datetime) -> datetime:
    """Whoosh cannot index aware datetimes; store them as naive UTC."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def _fields(document: Document) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "id": document.id,
        "title": document.title,
        "title_prefix": document.title,
        "body": document.body,
        "spelling": "\n".join((document.title, document.body, *document.tags)),
        "visibility": document.visibility,
        "state": document.state,
        "updated": _utc_naive(document.updated),
        "version": document.version,
        "language": analysis.language(document.title + "\n" + document.body),
    }
    if document.category:
        fields["category"] = document.category
    if document.tags:
        fields["tags"] = ",".join(tag.replace(",", " ") for tag in document.tags)
        fields["tag_words"] = "\n".join(document.tags)
    if analysis.has_cjk(document.title):
        fields["title_cjk"] = document.title
    if analysis.has_cjk(document.body):
        fields["body_cjk"] = document.body
    if document.phrasings:
        phrasings = "\n".join(document.phrasings)
        fields["phrasings"] = fields["phrasings_prefix"] = phrasings
        if analysis.has_cjk(phrasings):
            fields["phrasings_cjk"] = phrasings
    return fields


def _scope_filter(scope: Scope, category: str | None, tag: str | None = None) -> Any:
    """Return the query matching what ``scope`` (and ``category`` and ``tag``) allows."""
    parts = [
        Or([Term("visibility", value) for value in sorted(scope.visibilities)]),
        Or([Term("state", value) for value in sorted(scope.states)]),
    ]
    if category is not None:
        parts.append(Term("category", category))
    if tag is not None:
        parts.append(Term("tags", tag.lower()))
    if scope.hidden:
        parts.append(Not(Or([Term("id", doc_id) for doc_id in sorted(scope.hidden)])))
    return And(parts)


def _hit(fields: dict[str, Any], score: float, terms: set[str], prefixes: Sequence[str]) -> Hit:
    title = str(fields.get("title", ""))
    updated = fields.get("updated")
    if not isinstance(updated, datetime):
        updated = datetime.min
    return Hit(
        id=str(fields["id"]),
        score=float(score),
        title=title,
        title_segments=highlight(title, terms, prefixes),
        snippet=snippet(str(fields.get("body", "")), terms, prefixes),
        category=str(fields.get("category", "")),
        visibility=str(fields.get("visibility", "")),
        state=str(fields.get("state", "")),
        updated=updated.replace(tzinfo=UTC),
    )


class SearchIndex:
    """The article index under ``root``: one writer at a time, any number of readers."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
        self._synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}

    @classmethod
    def open(cls, root: Path) -> SearchIndex:
        """Return the index under ``root``, creating an empty one if there is none."""
        root = Path(root)
        root.mkdir(parents=True, exist_ok=True)
        index = cls(root)
        if index._live_name() is None:
            fd = index._lock_writer(wait=True)
            try:
                if index._live_name() is None:
                    directory = index._new_generation_dir()
                    whoosh_index.create_in(str(directory), build_schema())
                    _write_meta(directory, 0)
                    _write_atomically(root / CURRENT, directory.name + "\n")
            finally:
                _unlock(fd)
        index.remove_orphans()
        return index

    def remove_orphans(self) -> list[str]:
        """Delete generation directories other than the live one; return their names.

        Only when no writer holds the lock: a rebuild in progress owns the newest one. A
        rebuild killed half-way leaves its directory behind, and this is what removes it.
        """
        fd = self._lock_writer(wait=False)
        if fd is None:
            return []
        try:
            live = self._live_name()
            if live is None or not (self.root / live).is_dir():
                return []
            removed = []
            for path in self.root.iterdir():
                if path.name != live and _GENERATION_RE.fullmatch(path.name) and path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                    removed.append(path.name)
            return removed
        finally:
            _unlock(fd)

    def verify(self) -> list[str]:
        """Read the whole live generation and return what is wrong with it (empty: sound)."""
        name = self._live_name()
        if name is None:
            return [f"{self.root / CURRENT} is missing or does not name a generation"]
        directory = self.root / name
        if not directory.is_dir():
            return [f"{directory} is missing"]
        problems = []
        if not _read_meta(directory):
            problems.append(f"{directory / META} is missing or unreadable")
        try:
            ix = _open_for_reading(directory)
            with ix.searcher() as searcher:
                for _fields in searcher.all_stored_fields():
                    pass
                reader = searcher.reader()
                for field in ix.schema.names():
                    if field in reader.indexed_field_names():
                        for _term in reader.lexicon(field):
                            pass
            ix.close()
        except Exception as exc:  # any failure to read is damage to report, not to raise
            problems.append(f"{directory} cannot be read: {type(exc).__name__}: {exc}"[:300])
        return problems

    def close(self) -> None:
        """Close idle searchers; searchers in use close when their query finishes."""
        with self._lock:
            if self._generation is not None:
                self._generation.retire()
                self._generation = None

    def warm(self, budget: int = WARM_BYTES) -> int:
        """Decode the longest posting lists of the suggestion fields, then of bodies, into
        the process-wide cache, and read the spelling vocabulary; return the bytes cached.

        Call it before forking workers: they share the arrays, and the first keystrokes
        after a start are as fast as later ones. Searchers opened here are closed.
        """
        with self._reader() as reader:
            cached = scoring.warm(reader.scorer, WARM_FIELDS, budget)
            # Every search looks its English words up in the vocabulary of "Did you mean".
            spelling.warm(reader.searcher, "spelling")
        self.close()
        return cached

    def __del__(self) -> None:
        # Idle searchers hold open segment files (see _open_for_reading): close them
        # when an index is dropped without close().
        generation = getattr(self, "_generation", None)
        if generation is not None:
            generation.retire()

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # Writing

    def apply(
        self,
        upserts: Iterable[Document],
        removals: Iterable[str],
        outbox_id: int | None,
        wait: bool = True,
    ) -> bool:
        """Upsert and remove documents in one commit, then record ``outbox_id``.

        Returns False, changing nothing, if another writer holds the index and ``wait``
        is False. A later upsert of the same id wins; a removal wins over an upsert.
        """
        latest = {document.id: document for document in upserts}
        removed = _unique(removals)
        for doc_id in removed:
            latest.pop(doc_id, None)
        fd = self._lock_writer(wait)
        if fd is None:
            return False
        try:
            directory = self._live_dir()
            if latest or removed:
                ix = whoosh_index.open_dir(str(directory))
                try:
                    writer = ix.writer(timeout=_WHOOSH_LOCK_TIMEOUT if wait else 0.0)
                except whoosh_index.LockError:
                    return False
                try:
                    for document in latest.values():
                        writer.update_document(**_fields(document))
                    for doc_id in removed:
                        writer.delete_by_term("id", doc_id)
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
            if outbox_id is not None:
                _write_meta(directory, outbox_id, int(_read_meta(directory).get("format") or 1))
            return True
        finally:
            _unlock(fd)

    def rebuild(self, documents: Iterable[Document], outbox_id: int) -> int:
        """Index ``documents`` into a new generation, swap it in, and return their count.

        Waits for and then holds the writer lock throughout, so no apply() can land in
        the generation being replaced; replay the outbox after ``outbox_id`` afterwards.
        Repeated ids keep their first document.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd = self._lock_writer(wait=True)
        try:
            directory = self._new_generation_dir()
            try:
                count = self._build(directory, documents)
                _write_meta(directory, outbox_id)
            except BaseException:
                shutil.rmtree(directory, ignore_errors=True)
                raise
            _write_atomically(self.root / CURRENT, directory.name + "\n")
            for old in self.root.iterdir():
                if old.name != directory.name and _GENERATION_RE.fullmatch(old.name):
                    # Readers elsewhere keep their open files (POSIX) until they notice.
                    shutil.rmtree(old, ignore_errors=True)
            return count
        finally:
            _unlock(fd)

    @staticmethod
    def _build(directory: Path, documents: Iterable[Document]) -> int:
        return build_index(directory, map(_fields, documents), build_schema())

    # Reading

    def applied_outbox_id(self) -> int:
        """Return the last outbox id applied to the live generation (0 if none)."""
        return int(_read_meta(self._live_dir()).get("outbox_id") or 0)

    def index_format(self) -> int:
        """Return the INDEX_FORMAT the live generation was built with (1: not recorded)."""
        return int(_read_meta(self._live_dir()).get("format") or 1)

    def doc_count(self) -> int:
        """Return the number of documents in the index."""
        with self._reader() as reader:
            return int(reader.searcher.doc_count())

    def stored_versions(self) -> dict[str, tuple[int, str, str]]:
        """Return id -> (version, state, visibility) for every indexed document."""
        with self._reader() as reader:
            return {
                str(fields["id"]): (
                    int(fields["version"]),
                    str(fields["state"]),
                    str(fields["visibility"]),
                )
                for fields in reader.searcher.all_stored_fields()
            }

    def set_synonyms(self, groups: Iterable[Iterable[str]]) -> None:
        """Replace the synonym groups applied at query time (in this process).

        Each group lists equivalent words or phrases ("wifi", "无线", "wireless"). A query
        holding every term of one member also looks for the other members of its group,
        at a lower weight than the words actually typed. Members are analysed like the
        indexed text, so stemming and full-width forms need no special care.
        """
        table: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for group in groups:
            members = _unique(
                tuple(_unique(analysis.terms(member)))
                for member in group
                if isinstance(member, str)
            )
            members = [member for member in members if member]
            for member in members:
                others = [other for other in members if other != member]
                if others:
                    known = table.setdefault(member, [])
                    known.extend(other for other in others if other not in known)
        self._synonyms = table

    def _expansions(self, terms: Sequence[str]) -> list[tuple[str, ...]]:
        """Return the synonyms of ``terms`` not already among them, at most a few."""
        present = set(terms)
        found: list[tuple[str, ...]] = []
        for member, others in self._synonyms.items():
            if set(member) <= present:
                for other in others:
                    if not set(other) <= present and other not in found:
                        found.append(other)
        return found[:MAX_SYNONYMS]

    def _stand_ins(
        self, terms: Sequence[str], extra: Sequence[tuple[str, ...]]
    ) -> dict[str, list[str]]:
        """Return each query term with the one-word synonyms (among ``extra``) that stand
        in for it: holding one counts as holding the term."""
        groups = {term: [term] for term in terms}
        for other in extra:
            for member, others in self._synonyms.items():
                if len(member) == 1 and member[0] in groups and other in others:
                    groups[member[0]].extend(other[:1] if len(other) == 1 else ())
        return groups

    def did_you_mean(self, query: str) -> str | None:
        """Return ``query`` with misspelled English words corrected, or None.

        A word is corrected only when no title or body holds it and the index's own
        vocabulary has a word within two edits (the same first letter, the most
        frequent one of the closest); None when nothing needed or could be corrected.
        """
        text = query[:MAX_QUERY_CHARS]
        words = analysis.english_words(text)
        if not words:
            return None
        with self._reader() as reader:
            fixes = _corrections(reader.searcher, words)
        if not fixes:
            return None
        return _corrected_text(text, fixes)

    def search(
        self,
        query: str,
        scope: Scope,
        page: int = 1,
        per_page: int = 10,
        category: str | None = None,
        tag: str | None = None,
        newest_first: bool = False,
    ) -> SearchPage:
        """Return one page of articles matching the words of ``query`` within ``scope``.

        ``query`` is only ever analysed into words: Whoosh's query syntax means nothing.
        Results are ranked by relevance, or by last update when ``newest_first``.
        """
        page = max(1, page)
        per_page = min(max(1, per_page), MAX_PER_PAGE)
        text = query[:MAX_QUERY_CHARS]
        terms = _unique(analysis.terms(text))
        if not terms or not scope.visibilities or not scope.states:
            return SearchPage((), 0, page, per_page)
        with self._reader() as reader:
            searcher = reader.searcher
            if len(terms) > MAX_QUERY_TERMS:
                terms = _most_informative(searcher, terms, MAX_QUERY_TERMS)
            kept = set(terms)
            clauses: list[Any] = []
            held = {term: reader.holding(term) for term in terms}
            for term in terms:
                ratio = _script_ratio(reader, term, held[term])
                clauses.append(Term("title", term, boost=TITLE_BOOST * ratio))
                clauses.append(Term("body", term, boost=BODY_BOOST * ratio))
                clauses.append(Term("phrasings", term, boost=PHRASINGS_BOOST * ratio))
                clauses.append(Term("tag_words", term, boost=TAG_BOOST * ratio))
            phrase = [t for t in analysis.phrase_terms(text) if t in kept]
            if 2 <= len(phrase) <= MAX_PHRASE_TERMS:
                clauses.append(Phrase("title", phrase, boost=TITLE_PHRASE_BOOST))
                clauses.append(Phrase("body", phrase, boost=BODY_PHRASE_BOOST))
            grams = _unique(analysis.cjk_pairs(text))[:MAX_QUERY_TERMS]
            for gram in grams:
                clauses.append(Term("title_cjk", gram, boost=TITLE_CJK_BOOST))
                clauses.append(Term("body_cjk", gram, boost=BODY_CJK_BOOST))
                clauses.append(Term("phrasings_cjk", gram, boost=PHRASINGS_CJK_BOOST))
            # Characters are left out of bodies: a long body holds most common ones.
            characters = _unique(analysis.cjk_characters(text))[:MAX_QUERY_TERMS]
            for character in characters:
                if character not in grams:
                    weight = CJK_CHARACTER_WEIGHT
                    clauses.append(Term("title_cjk", character, boost=TITLE_CJK_BOOST * weight))
                    clauses.append(
                        Term("phrasings_cjk", character, boost=PHRASINGS_CJK_BOOST * weight)
                    )
            extra = self._expansions(terms)
            groups = self._stand_ins(terms, extra)
            # Synonyms first, corrections only when the words as typed find little.
            for other in extra:
                clauses.extend(_expansion_clauses(other))
                kept.update(other)
            for term in _compounds(searcher, text, kept):
                clauses.append(Term("title", term, boost=TITLE_BOOST * COMPOUND_WEIGHT))
                clauses.append(Term("body", term, boost=BODY_BOOST * COMPOUND_WEIGHT))
                clauses.append(Term("phrasings", term, boost=PHRASINGS_BOOST * COMPOUND_WEIGHT))
                kept.add(term)
            characters_held = None
            if characters and CJK_COVERAGE_POWER > 0:
                characters_held = reader.character_coverage(characters)
            # Text with CJK has its own coverage, on characters (word boundaries are
            # uncertain); the words' coverage is for text without: a lone English word or
            # number in a Chinese question would otherwise decide it alone.
            latin = {} if characters else groups
            shares = _informative_shares(reader, list(latin.values()), held)
            corrections = {
                word: fix
                for word, fix in _corrections(searcher, analysis.english_words(text), held).items()
                if _first_term(fix) and _first_term(fix) not in kept
            }
            corrected = None
            if corrections:
                probe = reader.rank(
                    clauses, scope, category, 1, tag, False, _coverage(characters_held, shares)
                )
                meant = [_first_term(fix) for fix in corrections.values()]
                if _finds_little(reader, probe, shares, latin, held, meant):
                    for word, fix in corrections.items():
                        clauses.extend(_expansion_clauses((_first_term(fix),)))
                        kept.add(_first_term(fix))
                        if not characters:
                            latin.setdefault(analysis.stem_word(word), []).append(_first_term(fix))
                    shares = _informative_shares(reader, list(latin.values()), held)
                    corrected = _corrected_text(text, corrections)
            coverage = _coverage(characters_held, shares)
            end = page * per_page
            depth = end if newest_first else max(end, TITLE_RERANK_DEPTH)
            ranking = reader.rank(clauses, scope, category, depth, tag, newest_first, coverage)
            total = ranking.total
            if newest_first:
                start = end - per_page
                found = reader.hits(ranking, start, end)
                read = list(zip(found, ranking.docnums[start:end], strict=True))
            else:
                weight = TITLE_SIMILARITY_WEIGHT_CJK if characters else TITLE_SIMILARITY_WEIGHT
                top = reader.hits(ranking, 0, TITLE_RERANK_DEPTH)
                rest = reader.hits(ranking, TITLE_RERANK_DEPTH, end)
                head = _title_reranked(
                    top,
                    text,
                    weight,
                    bool(characters),
                    None if shares is None else shares.at(ranking.docnums[:TITLE_RERANK_DEPTH]),
                )
                found = (head + rest)[end - per_page : end]
                read = list(zip(top + rest, ranking.docnums[: len(top) + len(rest)], strict=True))
            docnum_of = {str(fields["id"]): docnum for (fields, _score), docnum in read}
            weighed = [
                (group, _weighted_groups(reader, [group], held)) for group in groups.values()
            ]
        weighted = [pair for _group, found_pairs in weighed for pair in found_pairs]
        total_weight = sum(weight for _holding, weight in weighted)
        heaviest = max((weight for _holding, weight in weighted), default=0.0)
        decisive = [
            (group, pairs[0][0])
            for group, pairs in weighed
            if pairs and pairs[0][1] > 0 and pairs[0][1] >= DECISIVE_SHARE * heaviest
        ]

        def coverage_of(fields: dict[str, Any]) -> float:
            if total_weight <= 0:
                return 1.0
            docnum = docnum_of[str(fields["id"])]
            return sum(weight for holding, weight in weighted if holding[docnum]) / total_weight

        def decisive_of(fields: dict[str, Any]) -> frozenset[str]:
            docnum = docnum_of[str(fields["id"])]
            return frozenset(
                term
                for group, holding in decisive
                if holding[docnum]
                for term in group
                if held[term][docnum]
            )

        hits = tuple(
            replace(
                _hit(fields, score, kept, ()),
                coverage=coverage_of(fields),
                decisive=decisive_of(fields),
            )
            for fields, score in found
        )
        return SearchPage(hits, total, page, per_page, corrected)

    def suggest(self, text: str, scope: Scope, limit: int = 5) -> tuple[Hit, ...]:
        """Return up to ``limit`` articles for half-typed ``text`` (as-you-type).

        Completed words match titles and past phrasings, the last word may be half a
        title or phrasing word; CJK text also matches title and phrasing bigrams.
        Completed words also match bodies, below titles. A half-typed English word also
        looks, lightly, for the most frequent index words it begins. Titles that read like
        the typed text rise among the best few.
        """
        if not analysis.suggestion_ready(text):
            return ()
        text = text[:MAX_QUERY_CHARS]
        completed, prefix = analysis.partial_word(text)
        prefix = prefix[: analysis.PREFIX_MAX]
        terms = _unique(analysis.terms(completed))[:MAX_QUERY_TERMS]
        if not (terms or prefix) or not scope.visibilities or not scope.states or limit < 1:
            return ()
        # The last word may already be complete: it then counts as a word too.
        last = _unique(analysis.terms(prefix)) if prefix else []
        words = terms + [term for term in last if term not in terms]
        with self._reader() as reader:
            held = {term: reader.holding(term) for term in words}
            ratio = {term: _script_ratio(reader, term, held[term]) for term in words}
            clauses: list[Any] = []
            for term in words:
                share = SUGGEST_LAST_WEIGHT if term not in terms else 1.0
                weight = share * ratio[term]
                clauses.append(Term("title", term, boost=SUGGEST_TITLE_BOOST * weight))
                clauses.append(Term("phrasings", term, boost=SUGGEST_PHRASINGS_BOOST * weight))
                # Bodies answer with other words than titles ask; array scoring makes
                # them cheap.
                clauses.append(Term("body", term, boost=SUGGEST_BODY_BOOST * ratio[term]))
                clauses.append(Term("tag_words", term, boost=SUGGEST_TAG_BOOST * ratio[term]))
            # A half word of one or two letters begins too many words to tell anything
            # once words have been typed before it.
            if prefix and (
                analysis.has_cjk(prefix) or len(prefix) >= SUGGEST_PREFIX_MIN or not terms
            ):
                clauses.append(Term("title_prefix", prefix, boost=SUGGEST_PREFIX_BOOST))
                clauses.append(
                    Term("phrasings_prefix", prefix, boost=SUGGEST_PHRASINGS_PREFIX_BOOST)
                )
            for gram in _unique(analysis.cjk_pairs(text))[:MAX_QUERY_TERMS]:
                clauses.append(Term("title_cjk", gram, boost=SUGGEST_TITLE_CJK_BOOST))
                clauses.append(Term("phrasings_cjk", gram, boost=SUGGEST_PHRASINGS_CJK_BOOST))
            extra = self._expansions(words)
            for other in extra:
                clauses.extend(_all_terms("title", other, SUGGEST_TITLE_BOOST * EXPANSION_WEIGHT))
                clauses.extend(
                    _all_terms("phrasings", other, SUGGEST_PHRASINGS_BOOST * EXPANSION_WEIGHT)
                )
                # Where the typed words are looked for, as in search.
                clauses.extend(_all_terms("body", other, SUGGEST_BODY_BOOST * EXPANSION_WEIGHT))
                clauses.extend(_all_terms("tag_words", other, SUGGEST_TAG_BOOST * EXPANSION_WEIGHT))
            # Neutral on stackfaq's typing bench (few half queries hold a split compound),
            # kept so that suggestions agree with search.
            for term in _compounds(reader.searcher, completed, set(words)):
                clauses.append(Term("title", term, boost=SUGGEST_TITLE_BOOST * COMPOUND_WEIGHT))
                clauses.append(
                    Term("phrasings", term, boost=SUGGEST_PHRASINGS_BOOST * COMPOUND_WEIGHT)
                )
                clauses.append(Term("body", term, boost=SUGGEST_BODY_BOOST * COMPOUND_WEIGHT))
                words.append(term)
            if len(prefix) >= COMPLETION_MIN_LENGTH and prefix.isascii() and prefix.isalpha():
                for word in spelling.completions(
                    reader.searcher, "spelling", prefix, SUGGEST_COMPLETIONS
                ):
                    term = analysis.stem_word(word)
                    if term not in words:
                        weight = SUGGEST_COMPLETION_WEIGHT
                        clauses.append(Term("title", term, boost=SUGGEST_TITLE_BOOST * weight))
                        clauses.append(Term("body", term, boost=SUGGEST_BODY_BOOST * weight))
            if SUGGEST_FEEDBACK_WEIGHT > 0 and analysis.has_cjk(text):
                first = reader.rank(clauses, scope, None, SUGGEST_FEEDBACK_TITLES)
                share = SUGGEST_FEEDBACK_WEIGHT * max(1, len(words))
                for term, weight in _feedback_terms(reader.searcher, first, set(words)):
                    clauses.append(Term("title", term, boost=SUGGEST_TITLE_BOOST * share * weight))
                    clauses.append(Term("body", term, boost=SUGGEST_BODY_BOOST * share * weight))
            cjk = analysis.has_cjk(text)
            weight = SUGGEST_SIMILARITY_WEIGHT_CJK if cjk else SUGGEST_SIMILARITY_WEIGHT
            depth = max(limit, SUGGEST_RERANK_DEPTH) if weight > 0 else limit
            # As in search: the words' coverage (a one-word synonym standing in for its
            # word) multiplies the scores and the likeness bonus, for text without CJK.
            stand_ins = list(self._stand_ins(words, extra).values())
            shares = None if cjk else _informative_shares(reader, stand_ins, held)
            ranking = reader.rank(clauses, scope, None, depth, factor=_coverage(None, shares))
            found = _title_reranked(
                reader.hits(ranking),
                text,
                weight,
                cjk,
                None if shares is None else shares.at(ranking.docnums),
            )[:limit]
        prefixes = (prefix,) if prefix else ()
        return tuple(_hit(fields, score, set(words), prefixes) for fields, score in found)

    # Generations, locks and searchers

    def _live_name(self) -> str | None:
        try:
            name = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name if _GENERATION_RE.fullmatch(name) else None

    def _live_dir(self) -> Path:
        name = self._live_name()
        if name is None:
            raise IndexNotFound(str(self.root))
        return self.root / name

    def _new_generation_dir(self) -> Path:
        numbers = [
            int(match.group(1))
            for path in self.root.iterdir()
            if (match := _GENERATION_RE.fullmatch(path.name))
        ]
        directory = self.root / f"gen-{max(numbers, default=0) + 1}"
        directory.mkdir()
        return directory

    @overload
    def _lock_writer(self, wait: Literal[True]) -> int: ...

    @overload
    def _lock_writer(self, wait: bool) -> int | None: ...

    def _lock_writer(self, wait: bool) -> int | None:
        """Return a file descriptor holding the writer lock, or None if it is taken."""
        fd = os.open(self.root / WRITER_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return fd

    @contextmanager
    def _reader(self) -> Iterator[_Reader]:
        try:
            generation, reader = self._acquire()
        except IndexUnavailable:
            raise
        except Exception as exc:  # whatever a damaged file makes Whoosh raise
            self._forget_generation()
            raise IndexDamaged(f"{self.root}: {type(exc).__name__}: {exc}") from exc
        try:
            yield reader
        except IndexUnavailable:
            raise
        except Exception as exc:
            # Reading a segment that was truncated or overwritten fails in many ways; an
            # error of the ranking code itself lands here too, and gets the same answer
            # (the portal falls back to the database and rebuilds), never a 500.
            self._forget_generation()
            raise IndexDamaged(f"{self.root}: {type(exc).__name__}: {exc}") from exc
        finally:
            with self._lock:
                if generation.retired:
                    reader.searcher.close()
                else:
                    generation.idle.append(reader)

    def _forget_generation(self) -> None:
        """Drop the open generation, so the next query reopens whatever ``current`` names."""
        with self._lock:
            if self._generation is not None:
                self._generation.retire()
                self._generation = None

    def _acquire(self) -> tuple[_Generation, _Reader]:
        """Return an up-to-date reader of the live generation, reopening as needed."""
        # A rebuild elsewhere may delete the generation just read from ``current``.
        for _attempt in range(3):
            name = self._live_name()
            if name is None:
                raise IndexNotFound(str(self.root))
            with self._lock:
                generation = self._generation
                try:
                    if generation is None or generation.name != name:
                        ix = _open_for_reading(self.root / name)
                        if generation is not None:
                            generation.retire()
                        generation = self._generation = _Generation(name, ix)
                    while generation.idle:
                        reader = generation.idle.pop()
                        if reader.searcher.up_to_date():
                            return generation, reader
                        reader.searcher.close()
                    return generation, _Reader(generation.ix.searcher(weighting=_weighting()))
                except (FileNotFoundError, whoosh_index.EmptyIndexError):
                    if generation is not None and generation is self._generation:
                        generation.retire()
                        self._generation = None
        raise IndexNotFound(str(self.root))


def _open_for_reading(directory: Path) -> Any:
    """Open a generation for searchers that read segment files instead of mapping them.

    With mmap, Whoosh copies each compound segment's postings, terms and stored fields
    into a BytesIO per searcher (about 80 MB at 20k articles), on top of the mapping;
    every pooled searcher paid that. Plain reads share the OS page cache instead.
    """
    return FileStorage(str(directory), supports_mmap=_MMAP_SEGMENTS).open_index()


def _weighting() -> Any:
    """Return BM25F with our length normalisation: titles are short and even."""
    return whoosh_scoring.BM25F(
        B=BM25_B, K1=BM25_K1, **{f"{field}_B": b for field, b in _FIELD_B.items()}
    )


def _feedback_terms(
    searcher: Any, first: scoring.Ranking, typed: set[str]
) -> list[tuple[str, float]]:
    """Return the words of the first-pass titles that best describe them, with weights
    summing to 1: each title's word frequencies, weighted by its score (RM3's model)."""
    total = sum(first.scores)
    if total <= 0:
        return []
    model: dict[str, float] = {}
    for docnum, score in zip(first.docnums, first.scores, strict=True):
        words = analysis.terms(str(searcher.stored_fields(docnum).get("title", "")))
        for word in words:
            model[word] = model.get(word, 0.0) + score / total / len(words)
    best = sorted(
        ((word, weight) for word, weight in model.items() if word not in typed),
        key=lambda item: (-item[1], item[0]),
    )[:SUGGEST_FEEDBACK_TERMS]
    mass = sum(weight for _word, weight in best)
    return [(word, weight / mass) for word, weight in best]


def _idf(articles: int, holding: int) -> float:
    """Return BM25's idf of a term held by ``holding`` of ``articles`` (never negative)."""
    return math.log(1 + (articles - holding + 0.5) / (holding + 0.5))


def _corrected_text(text: str, fixes: dict[str, str]) -> str:
    """Return ``text`` with each (lower-case) word of ``fixes`` replaced by its correction."""
    pattern = re.compile(
        r"(?<![^\W_])("
        + "|".join(re.escape(w) for w in sorted(fixes, key=len, reverse=True))
        + r")(?![^\W_])",
        re.IGNORECASE,
    )
    return pattern.sub(lambda match: fixes.get(match.group().lower(), match.group()), text)


def _expansion_clauses(other: Sequence[str]) -> list[Any]:
    """Return the clauses looking for a synonym or correction, below the typed words."""
    return [
        *_all_terms("title", other, TITLE_BOOST * EXPANSION_WEIGHT),
        *_all_terms("body", other, BODY_BOOST * EXPANSION_WEIGHT),
        *_all_terms("phrasings", other, PHRASINGS_BOOST * EXPANSION_WEIGHT),
        *_all_terms("tag_words", other, TAG_BOOST * EXPANSION_WEIGHT),
    ]


@dataclass(frozen=True)
class _Shares:
    """Per document, the share of the query's informativeness it holds (0 to 1).

    Which query terms a document holds is a small bit set (``code``), so the shares and
    the coverage factor are looked up in a table of every subset of the terms: one pass
    over the documents instead of one per term and another for the power.
    """

    code: npt.NDArray[np.integer[Any]]
    table: npt.NDArray[np.float64]

    def at(self, docnums: Sequence[int]) -> npt.NDArray[np.float64]:
        """Return the shares of the given documents."""
        return np.asarray(self.table[self.code[list(docnums)]])

    def factor(self) -> npt.NDArray[np.float64]:
        """Return per document (FLOOR + (1 - FLOOR) × share) ** POWER (TERM_COVERAGE_*)."""
        per_subset = (
            TERM_COVERAGE_FLOOR + (1 - TERM_COVERAGE_FLOOR) * self.table
        ) ** TERM_COVERAGE_POWER
        return np.asarray(per_subset[self.code])


def _coverage(
    characters_held: npt.NDArray[np.float64] | None, shares: _Shares | None
) -> npt.NDArray[np.float64] | None:
    """Return the factor per document of its CJK character coverage and of the query's
    informativeness it holds (see TERM_COVERAGE_POWER), None when neither applies."""
    if shares is None or TERM_COVERAGE_POWER <= 0:
        return characters_held
    factor = shares.factor()
    return factor if characters_held is None else characters_held * factor


def _finds_little(
    reader: _Reader,
    probe: scoring.Ranking,
    shares: _Shares | None,
    latin: dict[str, list[str]],
    held: dict[str, npt.NDArray[np.bool_]],
    meant: Sequence[str],
) -> bool:
    """Return whether the words as typed find little: fewer than FEW_RESULTS articles, or
    a best one holding less than LITTLE_SHARE of the query's informativeness, each
    misspelt word counting as its correction (``meant``) would."""
    if probe.total < FEW_RESULTS or not probe.docnums:
        return True
    missing = 0.0
    for term in meant:
        holding = reader.holding(term)
        missing += reader.informativeness(holding, False)[0]
    known = 0.0
    for term in latin:
        holding = held[term] if term in held else reader.holding(term)
        if holding.any():
            known += reader.informativeness(holding, False)[0]
    best = 0.0 if shares is None else float(shares.at(probe.docnums[:1])[0])
    return best * known / (known + missing) < LITTLE_SHARE


def _script_ratio(reader: _Reader, term: str, held: npt.NDArray[np.bool_]) -> float:
    """Return the term's idf among the articles of its script over its idf among all: the
    factor that turns a term's usual weight into its weight in its own language."""
    own, everywhere = reader.informativeness(held, analysis.has_cjk(term))
    return own / everywhere if everywhere > 0 else 1.0


def _weighted_groups(
    reader: _Reader, groups: Sequence[Sequence[str]], held: dict[str, npt.NDArray[np.bool_]]
) -> list[tuple[npt.NDArray[np.bool_], float]]:
    """Return, for each group held anywhere, which documents hold it and its weight: the
    idf of its term among the articles of the term's script.

    Each group is a query term and what stands in for it (its spelling correction, a
    one-word synonym); holding a stand-in counts as holding the term. ``held`` caches
    which documents hold a term.
    """
    weighted = []
    for group in groups:
        for term in group:
            if term not in held:
                held[term] = reader.holding(term)
        own = held[group[0]]
        holding = own
        for term in group[1:]:
            holding = holding | held[term]
        if holding.any():
            cjk = analysis.has_cjk(group[0])
            weighted.append(
                (holding, reader.informativeness(own if own.any() else holding, cjk)[0])
            )
    return weighted


def _informative_shares(
    reader: _Reader, groups: Sequence[Sequence[str]], held: dict[str, npt.NDArray[np.bool_]]
) -> _Shares | None:
    """Return per document the informativeness of the query terms (see _weighted_groups)
    it holds over that of all of them (0 to 1), or None when no term is held anywhere."""
    weighted = _weighted_groups(reader, groups, held)
    total = sum(weight for _holding, weight in weighted)
    if total <= 0:
        return None
    if len(weighted) > MAX_SHARE_TERMS:
        # A long query: each document's share computed directly (its own "subset").
        covered = np.zeros(reader.scorer.size, dtype=np.float64)
        for holding, weight in weighted:
            np.add(covered, weight / total, out=covered, where=holding)
        return _Shares(np.arange(reader.scorer.size, dtype=np.int64), covered)
    code = np.zeros(reader.scorer.size, dtype=np.uint16)
    for bit, (holding, _weight) in enumerate(weighted):
        # Shifted bytes of the mask, not code[holding] or a masked or: several times faster.
        code |= holding.view(np.uint8).astype(np.uint16) << bit
    subsets = np.arange(1 << len(weighted), dtype=np.int64)
    weights = np.array([weight for _holding, weight in weighted], dtype=np.float64) / total
    table = ((subsets[:, None] >> np.arange(len(weighted))) & 1) @ weights
    return _Shares(code, table)


def _first_term(word: str) -> str:
    found = analysis.terms(word)
    return found[0] if found else ""


def _all_terms(field: str, terms: Sequence[str], boost: float) -> list[Any]:
    """Return one clause requiring every term (a synonym may be several words)."""
    if len(terms) == 1:
        return [Term(field, terms[0], boost=boost)]
    return [And([Term(field, term, boost=boost / len(terms)) for term in terms])]


def _document_frequency(searcher: Any, term: str) -> int:
    return int(searcher.doc_frequency("title", term) + searcher.doc_frequency("body", term))


def _most_informative(searcher: Any, terms: Sequence[str], keep: int) -> list[str]:
    """Return the ``keep`` rarest terms that occur in the index, in their query order.

    A pasted ticket description can hold a hundred words; the rare ones carry the
    meaning and the common ones cost the most to score.
    """
    frequency = {term: _document_frequency(searcher, term) for term in terms}
    # A term in most articles says next to nothing, and Whoosh's idf never drops below 1.
    common = max(1, int(searcher.doc_count() * COMMON_TERM_SHARE))
    known = [term for term in terms if 0 < frequency[term] <= common]
    known = known or [term for term in terms if frequency[term] > 0] or list(terms)
    chosen = set(sorted(known, key=lambda term: (frequency[term], known.index(term)))[:keep])
    return [term for term in terms if term in chosen]


def _as_characters(text: str) -> str:
    return "".join(analysis.normalise(text)[0].split())


def _character_pairs(text: str) -> frozenset[str]:
    return frozenset({text[i : i + 2] for i in range(len(text) - 1)} or {text})


@lru_cache(maxsize=8192)
def _title_pairs(title: str) -> frozenset[str]:
    """Return a title's character pairs, white space removed; popular titles come back."""
    return _character_pairs(_as_characters(title))


def _title_reranked(
    head: list[tuple[dict[str, Any], float]],
    query: str,
    weight: float,
    cjk: bool,
    shares: npt.NDArray[np.float64] | None = None,
) -> list[tuple[dict[str, Any], float]]:
    """Return the best hits re-ordered by score plus ``weight`` × their titles' (or learned
    phrasings') likeness to ``query`` (see TITLE_SIMILARITY_WEIGHT and PHRASING_LIKENESS),
    times each hit's share of the query's informativeness when ``shares`` are given (see
    LIKENESS_COVERAGE_POWER); no score falls, so the hits below stay below."""
    if len(head) < 2 or weight <= 0 or head[0][1] <= 0:
        return head
    asked = _as_characters(query)
    pairs = _character_pairs(asked)
    share = PHRASING_LIKENESS_CJK if cjk else PHRASING_LIKENESS

    def likeness(text: str) -> float:
        if cjk:
            return float(Indel.normalized_similarity(asked, _as_characters(text)))
        theirs = _title_pairs(text)
        return 2 * len(pairs & theirs) / (len(pairs) + len(theirs))

    def best_likeness(fields: dict[str, Any]) -> float:
        own = likeness(str(fields.get("title", "")))
        phrasings = str(fields.get("phrasings", "")).splitlines() if share > 0 else []
        return max([own] + [share * likeness(text) for text in phrasings if text])

    bonus = weight * sum(score for _fields, score in head) / len(head)
    if shares is None or LIKENESS_COVERAGE_POWER <= 0:
        factors = [1.0] * len(head)
    else:
        factors = [float(share) ** LIKENESS_COVERAGE_POWER for share in shares]
    rescored = [
        (fields, score + bonus * factor * best_likeness(fields))
        for (fields, score), factor in zip(head, factors, strict=True)
    ]
    # sorted() is stable: equal scores keep their lexical order.
    return sorted(rescored, key=lambda hit: hit[1], reverse=True)


def _compounds(searcher: Any, text: str, known: set[str]) -> list[str]:
    """Return the terms of adjacent word pairs written as one word that the index holds."""
    found: list[str] = []
    for joined in analysis.word_pairs(text)[:MAX_QUERY_TERMS]:
        term = _first_term(joined)
        if term and term not in known and term not in found and _document_frequency(searcher, term):
            found.append(term)
    return found


def _corrections(
    searcher: Any,
    words: Sequence[tuple[str, str]],
    held: dict[str, npt.NDArray[np.bool_]] | None = None,
) -> dict[str, str]:
    """Return unknown English word -> the closest known word of the index vocabulary.

    ``held`` (term -> which documents hold it, as the query already knows) answers
    whether a word is known without asking the index again.
    """
    fixes: dict[str, str] = {}
    for word, term in words[:MAX_QUERY_TERMS]:
        if word in fixes or len(word) < MIN_CORRECTED_LENGTH:
            continue
        if held is not None and term in held:
            known = bool(held[term].any())
        else:
            known = bool(_document_frequency(searcher, term))
        if known or searcher.doc_frequency("spelling", word):
            continue
        maxdist = 1 if len(word) < 5 else 2
        closest = spelling.closest_word(searcher, "spelling", word, maxdist)
        if closest:
            fixes[word] = closest
    return fixes


def _unlock(fd: int) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
