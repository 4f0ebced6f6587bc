"""BM25F over Whoosh's postings with NumPy arrays instead of Python matchers.

Whoosh scores a query one posting at a time in Python: a common word's postings cost
tens of milliseconds at 100k articles. Here each term's postings are decoded once into
arrays (document numbers and term frequencies), kept in a process-wide cache keyed by
the immutable segment they come from, and scored with the same BM25F formula, idf and
average lengths Whoosh uses, so a ranking is Whoosh's ranking, only computed in bulk.

Term clauses (and conjunctions of terms) are scored over every match; phrases are
checked from their positions over a window of the best candidates.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.formats import Positions
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import And, Phrase, Term
from whoosh.reading import TermNotFound
from whoosh.util.numeric import byte_to_length

DocNums = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

# Decoded postings kept per process; the most recently used stay.
POSTINGS_CACHE_BYTES = 96 * 1024 * 1024
# Posting lists shorter than this (two blocks) decode fast enough when first needed.
MIN_WARM_POSTINGS = 256
# The best candidates by term scores whose position-based clauses (phrases) count.
RERANK_DEPTH = 100

_LENGTH_OF_BYTE = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)


@dataclass(frozen=True)
class Postings:
    """One term's postings in one segment: segment-local document numbers and weights."""

    docnums: npt.NDArray[np.int32]
    weights: npt.NDArray[np.float32]
    # Where each block of the postings file starts, and the index of its first posting;
    # None when the postings did not come from blocks (positions are then not at hand).
    block_offsets: tuple[int, ...] | None = None
    block_starts: npt.NDArray[np.int64] | None = None

    @property
    def nbytes(self) -> int:
        """Return the memory the arrays hold."""
        return int(self.docnums.nbytes + self.weights.nbytes)


_EMPTY = Postings(np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32))


class PostingsCache:
    """A thread-safe LRU of decoded postings, bounded by the bytes it holds."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[tuple[str, str, str], Postings] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> Postings | None:
        """Return the cached postings of ``key``, marking them recently used."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str], postings: Postings) -> None:
        """Keep ``postings``, dropping the least recently used beyond the bound."""
        if postings.nbytes > self.max_bytes:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.nbytes
            self._entries[key] = postings
            self._bytes += postings.nbytes
            while self._bytes > self.max_bytes:
                _key, dropped = self._entries.popitem(last=False)
                self._bytes -= dropped.nbytes

    @property
    def nbytes(self) -> int:
        """Return the bytes held."""
        return self._bytes

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0


CACHE = PostingsCache(POSTINGS_CACHE_BYTES)


def _decode(matcher: Any) -> Postings:
    """Return every posting of ``matcher``, reading Whoosh's blocks directly when it can."""
    if isinstance(matcher, FilterMatcher):
        # Deleted documents are excluded by the caller's mask of allowed documents.
        matcher = matcher.child
    ids: list[npt.NDArray[np.int32]] = []
    weights: list[npt.NDArray[np.float32]] = []
    offsets: list[int] = []
    if isinstance(matcher, W3LeafMatcher):
        position = matcher._baseoffset
        while matcher.is_active():
            offsets.append(position)
            position = matcher._nextoffset
            if matcher._data is None:
                matcher._read_data()
            deltas, block_weights, _values = matcher._data
            count = matcher._blocklength
            ids.append(np.cumsum(np.asarray(deltas, dtype=np.int64)).astype(np.int32))
            if block_weights is None:
                weights.append(np.ones(count, dtype=np.float32))
            elif isinstance(block_weights, float):
                weights.append(np.full(count, block_weights, dtype=np.float32))
            else:
                weights.append(np.asarray(block_weights, dtype=np.float32))
            matcher._next_block()
    else:
        found_ids: list[int] = []
        found_weights: list[float] = []
        while matcher.is_active():
            found_ids.append(matcher.id())
            found_weights.append(matcher.weight())
            matcher.next()
        ids.append(np.asarray(found_ids, dtype=np.int32))
        weights.append(np.asarray(found_weights, dtype=np.float32))
    if not ids:
        return _EMPTY
    if offsets:
        starts = np.cumsum([0] + [len(block) for block in ids[:-1]], dtype=np.int64)
        return Postings(np.concatenate(ids), np.concatenate(weights), tuple(offsets), starts)
    return Postings(np.concatenate(ids), np.concatenate(weights))


class _BlockValues:
    """An LRU of posting blocks' raw position values, keyed by segment, field, term and
    block: the same common words' blocks are read query after query."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str, str, int], Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str, int]) -> Any:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple[str, str, str, int], values: Any) -> None:
        with self._lock:
            self._entries[key] = values
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


# Blocks hold at most 128 postings' positions: about 10 MB at this bound.
POSITION_BLOCKS = 4096
_BLOCK_VALUES = _BlockValues(POSITION_BLOCKS)


def _positions(
    reader: Any,
    segment: str,
    field: str,
    word: str,
    postings: Postings,
    indices: npt.NDArray[np.int64],
) -> list[Any]:
    """Return the positions of the postings at ``indices`` (sorted), reading their blocks
    (once per process while they stay in the block cache)."""
    assert postings.block_offsets is not None and postings.block_starts is not None
    blocks = np.searchsorted(postings.block_starts, indices, side="right") - 1
    matcher: Any = None
    found: list[Any] = []
    loaded = -1
    values: Any = None
    for index, block in zip(indices.tolist(), blocks.tolist(), strict=True):
        if block != loaded:
            key = (segment, field, word, block)
            values = _BLOCK_VALUES.get(key)
            if values is None:
                if matcher is None:
                    matcher = reader.postings(field, word)
                    if isinstance(matcher, FilterMatcher):
                        matcher = matcher.child
                matcher._goto(postings.block_offsets[block])
                matcher._read_values()
                values = matcher._values
                _BLOCK_VALUES.put(key, values)
            loaded = block
        value = values[index - int(postings.block_starts[block])]
        found.append(_decode_positions(value))
    return found


def _decode_positions(value: bytes) -> list[int]:
    """Return the positions Whoosh's Positions format packs in ``value`` (its decoder)."""
    return list(_POSITIONS.decode_positions(value))


# Phrase fields (title, body) are TEXT(phrase=True): their postings carry Positions.
_POSITIONS = Positions()


class StoredFields:
    """An LRU of documents' stored fields keyed by segment and document number, bounded
    by the characters of their texts: a query reads the stored fields of its best 50,
    and the articles that common words rank high come back query after query."""

    def __init__(self, max_chars: int) -> None:
        self.max_chars = max_chars
        self._entries: OrderedDict[tuple[str, int], tuple[dict[str, Any], int]] = OrderedDict()
        self._chars = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> dict[str, Any] | None:
        """Return the cached fields of ``key`` (a copy), marking them recently used."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            self._entries.move_to_end(key)
            return dict(found[0])

    def put(self, key: tuple[str, int], fields: dict[str, Any]) -> None:
        """Keep ``fields``, dropping the least recently used beyond the bound."""
        size = sum(len(value) for value in fields.values() if isinstance(value, str)) + 64
        if size > self.max_chars:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._chars -= old[1]
            self._entries[key] = (dict(fields), size)
            self._chars += size
            while self._chars > self.max_chars:
                _key, (_fields, dropped) = self._entries.popitem(last=False)
                self._chars -= dropped

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
            self._chars = 0


# About 8 M characters of stored text (titles and bodies): 8–30 MB per process.
STORED_CACHE_CHARS = 8_000_000
STORED = StoredFields(STORED_CACHE_CHARS)


def segments(searcher: Any) -> list[tuple[Any, int, str]]:
    """Return (reader, first document number, segment id) of each segment of a searcher.

    Segments never change once written, so their id keys what is decoded from them.
    An empty index has one reader without a segment (and without documents): left out.
    """
    return [
        (reader, int(offset), str(reader.segment().segment_id()))
        for reader, offset in searcher.reader().leaf_readers()
        if reader.segment() is not None
    ]


class ArrayScorer:
    """Scores term queries over one open Whoosh searcher; not shared between threads."""

    def __init__(self, searcher: Any, k1: float, b: float, field_b: Mapping[str, float]) -> None:
        self.searcher = searcher
        self.k1 = k1
        self.b = b
        self.field_b = dict(field_b)
        self.size = int(searcher.doc_count_all())
        self._leaves = segments(searcher)
        self._lengths: dict[str, Floats] = {}
        self._sort_values: dict[str, Floats] = {}

    def stored_fields(self, docnum: int) -> dict[str, Any]:
        """Return a document's stored fields, read once per process while they stay cached."""
        for reader, offset, segment in self._leaves:
            if offset <= docnum < offset + reader.doc_count_all():
                key = (segment, docnum - offset)
                found = STORED.get(key)
                if found is None:
                    found = dict(reader.stored_fields(docnum - offset))
                    STORED.put(key, found)
                return found
        return dict(self.searcher.stored_fields(docnum))

    def lengths(self, field: str) -> Floats:
        """Return every document's length of ``field`` as Whoosh stores it (one byte)."""
        found = self._lengths.get(field)
        if found is None:
            codes = np.zeros(self.size, dtype=np.uint8)
            for reader, offset, _segment in self._leaves:
                column = reader._perdoc._cached_reader(f"_{field}_len", LENGTHS_COLUMN)
                if column is None:
                    continue
                count = min(column._count, reader.doc_count_all())
                raw = column._dbfile.get(column._basepos, count)
                codes[offset : offset + count] = np.frombuffer(raw, dtype=np.uint8)
            found = self._lengths[field] = _LENGTH_OF_BYTE[codes]
        return found

    def sort_values(self, field: str) -> Floats:
        """Return every document's value of a sortable numeric ``field`` (0 if none)."""
        found = self._sort_values.get(field)
        if found is not None:
            return found
        values = self._sort_values[field] = np.zeros(self.size, dtype=np.float64)
        for reader, offset, _segment in self._leaves:
            if not reader.has_column(field):
                continue
            column = reader.column_reader(field, translate=False)
            count = reader.doc_count_all()
            values[offset : offset + count] = np.fromiter(
                (column[docnum] for docnum in range(count)), dtype=np.float64, count=count
            )
        return values

    def postings(self, field: str, text: str) -> tuple[DocNums, npt.NDArray[np.float32]]:
        """Return the term's postings over all segments, as global document numbers."""
        docnums: list[DocNums] = []
        weights: list[npt.NDArray[np.float32]] = []
        for reader, offset, segment in self._leaves:
            found = _segment_postings(reader, segment, field, text)
            if len(found.docnums):
                docnums.append(found.docnums.astype(np.int64) + offset)
                weights.append(found.weights)
        if not docnums:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if len(docnums) == 1:
            return docnums[0], weights[0]
        return np.concatenate(docnums), np.concatenate(weights)

    def phrase_ceiling(self, query: Phrase, pool: DocNums | None = None) -> tuple[DocNums, Floats]:
        """Return the documents (of ``pool``, when given) holding every word of the phrase,
        and the phrase score each would get if the words stood together: the most the
        phrase can add.

        Whoosh scores a phrase match as the sum of its words' scores in the field, times
        the phrase's boost.
        """
        field, words = query.fieldname, list(query.words)
        if not words:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        unique = list(dict.fromkeys(words))
        postings = {word: self.postings(field, word) for word in unique}
        docnums = postings[unique[0]][0] if pool is None else np.unique(pool)
        for word in unique:
            holders = postings[word][0]
            if not len(holders) or not len(docnums):
                return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
            at = np.minimum(np.searchsorted(holders, docnums), len(holders) - 1)
            docnums = docnums[holders[at] == docnums]
        total = np.zeros(len(docnums), dtype=np.float64)
        for word in words:
            holders, tf = postings[word]
            at = np.searchsorted(holders, docnums)
            total += self._scores(field, word, docnums, tf[at])
        return docnums, total * query.boost

    def phrase(self, query: Phrase, pool: DocNums) -> tuple[DocNums, Floats] | None:
        """Return the documents of ``pool`` holding the phrase, with Whoosh's phrase score.

        None when the positions are not at hand; Whoosh must score the phrase then.
        """
        field, words = query.fieldname, list(query.words)
        if query.slop != 1:
            return None
        candidates, ceiling = self.phrase_ceiling(query, pool)
        kept = np.zeros(len(candidates), dtype=np.bool_)
        for reader, offset, segment in self._leaves:
            inside = (candidates >= offset) & (candidates < offset + reader.doc_count_all())
            local = candidates[inside] - offset
            if not len(local):
                continue
            positions: dict[str, list[Any]] = {}
            for word in dict.fromkeys(words):
                found = _segment_postings(reader, segment, field, word)
                if found.block_offsets is None:
                    return None
                indices = np.searchsorted(found.docnums, local).astype(np.int64)
                positions[word] = _positions(reader, segment, field, word, found, indices)
            together = [
                any(
                    all(start + i in places[i] for i in range(1, len(words))) for start in places[0]
                )
                for places in (
                    [set(positions[word][number]) for word in words] for number in range(len(local))
                )
            ]
            kept[np.flatnonzero(inside)] = together
        return candidates[kept], ceiling[kept]

    def term(self, field: str, text: str, boost: float) -> tuple[DocNums, Floats]:
        """Return the documents holding the term and their BM25F scores times ``boost``."""
        docnums, tf = self.postings(field, text)
        if not len(docnums):
            return docnums, np.zeros(0, dtype=np.float64)
        return docnums, self._scores(field, text, docnums, tf) * boost

    def _scores(
        self, field: str, text: str, docnums: DocNums, tf: npt.NDArray[np.float32]
    ) -> Floats:
        """Return BM25F's score of the term for documents holding it ``tf`` times."""
        searcher = self.searcher
        idf = float(searcher.idf(field, text))
        average = float(searcher.avg_field_length(field) or 1)
        b = self.field_b.get(field, self.b)
        k1 = self.k1
        lengths = self.lengths(field)[docnums]
        frequencies = tf.astype(np.float64)
        return np.asarray(
            idf * (frequencies * (k1 + 1)) / (frequencies + k1 * ((1 - b) + b * lengths / average))
        )

    def clause(self, query: Any) -> tuple[DocNums, Floats]:
        """Return the matches of a Term, or of an And of Terms (scores summed)."""
        if not is_term_clause(query):
            raise TypeError(f"not a term clause: {query!r}")
        if isinstance(query, Term):
            return self.term(query.fieldname, query.text, query.boost)
        docnums: DocNums | None = None
        total: Floats | None = None
        for sub in query.subqueries:
            ids, scores = self.term(sub.fieldname, sub.text, sub.boost * query.boost)
            if docnums is None or total is None:
                docnums, total = ids, scores
                continue
            common, left, right = np.intersect1d(
                docnums, ids, assume_unique=True, return_indices=True
            )
            docnums, total = common, total[left] + scores[right]
        if docnums is None or total is None:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        return docnums, total


def _segment_postings(reader: Any, segment: str, field: str, text: str) -> Postings:
    """Return one segment's postings of a term, decoded once per process."""
    key = (segment, field, text)
    found = CACHE.get(key)
    if found is None:
        try:
            found = _decode(reader.postings(field, text))
        except TermNotFound:
            found = _EMPTY
        CACHE.put(key, found)
    return found


def warm(scorer: ArrayScorer, fields: Sequence[str], budget: int) -> int:
    """Decode the longest posting lists of ``fields`` into the cache; return the bytes.

    Fields are taken in the order given, each one's lists longest first, until
    ``budget`` bytes are used: a cold cache makes the first keystrokes after a start
    several times slower than later ones.
    """
    used = 0
    for field in fields:
        lists = [
            (info.doc_frequency(), reader, segment, btext.decode("utf-8"))
            for reader, _offset, segment in scorer._leaves
            for btext, info in reader.iter_field(field)
        ]
        lists = [entry for entry in lists if entry[0] >= MIN_WARM_POSTINGS]
        lists.sort(key=lambda entry: -entry[0])
        for frequency, reader, segment, text in lists:
            # Eight bytes per posting: a document number and a weight.
            if used + frequency * 8 > budget:
                return used
            used += _segment_postings(reader, segment, field, text).nbytes
    return used


def is_term_clause(query: Any) -> bool:
    """Return True when ArrayScorer can score ``query`` itself."""
    if isinstance(query, Term):
        return True
    return isinstance(query, And) and all(isinstance(q, Term) for q in query.subqueries)


@dataclass(frozen=True)
class Ranking:
    """The best documents of a query, best first, and how many documents matched."""

    docnums: tuple[int, ...]
    scores: tuple[float, ...]
    total: int


def rank(
    scorer: ArrayScorer,
    clauses: Sequence[Any],
    allowed: npt.NDArray[np.bool_],
    limit: int,
    newest: Floats | None = None,
    factor: Floats | None = None,
) -> Ranking:
    """Return the top ``limit`` allowed documents of the sum of ``clauses``' scores.

    With ``factor`` (a value per document), term scores are multiplied by it.

    Term clauses are scored in bulk; other clauses (phrases) are scored over the best
    ``RERANK_DEPTH`` candidates and added there, as Whoosh's Or would add them. With
    ``newest`` (a value per document), matches are ordered by it, highest first.
    """
    scores = np.zeros(scorer.size, dtype=np.float64)
    matched = np.zeros(scorer.size, dtype=np.bool_)
    others = []
    for query in clauses:
        if not is_term_clause(query):
            others.append(query)
            continue
        docnums, found = scorer.clause(query)
        if len(docnums):
            scores[docnums] += found
            matched[docnums] = True
    if factor is not None:
        scores *= factor
    matched &= allowed
    candidates = np.flatnonzero(matched)
    total = len(candidates)
    if not total or limit < 1:
        return Ranking((), (), total)
    if newest is not None:
        order = np.lexsort((candidates, -newest[candidates]))
        return _ranking(candidates[order[:limit]], scores, total)
    if others:
        return _rank_with_positions(scorer, others, candidates, scores, limit)
    return _ranking(_top(candidates, scores, limit), scores, total)


def _rank_with_positions(
    scorer: ArrayScorer, queries: Sequence[Any], candidates: DocNums, scores: Floats, limit: int
) -> Ranking:
    """Add position-based clauses (phrases) to the best ``RERANK_DEPTH`` candidates.

    A rescoring window, as Elasticsearch's rescore or Lucene's QueryRescorer do: a
    candidate below the window never gets its phrase bonus. Checking positions for
    every candidate that holds all the words costs up to 60 ms a query at 100k
    articles; the window changed no ranking metric on either benchmark.
    """
    pool = _top(candidates, scores, max(limit, RERANK_DEPTH))
    for query in queries:
        matches = scorer.phrase(query, pool) if isinstance(query, Phrase) else None
        if matches is None:
            _add_whoosh_score(scorer.searcher, query, pool, scores)
        else:
            scores[matches[0]] += matches[1]
    return _ranking(_top(pool, scores, limit), scores, len(candidates))


def _ranking(best: DocNums, scores: Floats, total: int) -> Ranking:
    return Ranking(tuple(int(d) for d in best), tuple(float(scores[d]) for d in best), total)


def _top(candidates: DocNums, scores: Floats, limit: int) -> DocNums:
    """Return the ``limit`` best candidates, by score then by document number."""
    values = scores[candidates]
    if len(candidates) > limit:
        keep = np.argpartition(-values, limit - 1)[:limit]
        # Keep every candidate tied with the last one kept, so ties break by docnum.
        floor = values[keep].min()
        keep = np.flatnonzero(values >= floor)
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((candidates, -values))
    return candidates[order[:limit]]


def _add_whoosh_score(searcher: Any, query: Any, pool: DocNums, scores: Floats) -> None:
    """Add the query's Whoosh score to ``scores`` for the documents of ``pool``."""
    found = searcher.search(query, limit=None, filter={int(d) for d in pool}, optimize=False)
    for hit in found:
        scores[hit.docnum] += hit.score
