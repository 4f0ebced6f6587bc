"""Relevance evaluation on an external corpus, through the production index and ranking.

Data format (see ../shared/bench/README.md): ``corpus.jsonl`` and ``queries-SPLIT.jsonl``
hold ``{"id", "title", "body"}`` objects; ``qrels-SPLIT.tsv`` holds
``query_id <TAB> doc_id <TAB> relevance`` lines (relevance > 0 is relevant).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, Protocol

from search.analysis import is_cjk
from search.baseline import PlainWhoosh
from search.index import Document, Scope, SearchIndex
from search.peer import Fts5Peer

# Peers that ``evaluate(..., peer=...)`` can run instead of our ranking.
PEERS = ("fts5",)

Mode = Literal["full", "typing", "typo"]
MODES: tuple[Mode, ...] = ("full", "typing", "typo")
# Ranked results per query used for MAP; deeper than any metric cut-off here.
RANKING_DEPTH = 100
# The suggestion list is judged at the depth of the metrics, not the 5 the UI shows.
SUGGEST_DEPTH = 10
MAX_PHRASINGS = 20
# Typo mode misspells one English word of at least this many letters per query.
TYPO_MIN_LETTERS = 5


@dataclass(frozen=True)
class Query:
    """One evaluation question."""

    id: str
    text: str


@dataclass(frozen=True)
class Metrics:
    """Mean relevance figures over the queries that have a relevant document."""

    map: float
    mrr: float
    p_at_1: float
    p_at_5: float
    ndcg_at_10: float
    recall_at_10: float
    queries: int
    queries_per_second: float

    def as_dict(self) -> dict[str, float | int]:
        """Return the figures under their customary names."""
        return {
            "MAP": self.map,
            "MRR": self.mrr,
            "P@1": self.p_at_1,
            "P@5": self.p_at_5,
            "nDCG@10": self.ndcg_at_10,
            "R@10": self.recall_at_10,
            "queries": self.queries,
            "qps": self.queries_per_second,
        }


def _read_jsonl(path: Path) -> Iterator[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _text(record: dict[str, str]) -> str:
    return " ".join(part for part in (record.get("title", ""), record.get("body", "")) if part)


def load_corpus(data_dir: Path) -> list[dict[str, str]]:
    """Return the corpus records."""
    return list(_read_jsonl(data_dir / "corpus.jsonl"))


def load_queries(data_dir: Path, split: str) -> list[Query]:
    """Return the queries of a split, title and body joined."""
    return [Query(r["id"], _text(r)) for r in _read_jsonl(data_dir / f"queries-{split}.jsonl")]


def load_qrels(data_dir: Path, split: str) -> dict[str, set[str]]:
    """Return query id -> ids of its relevant documents."""
    relevant: dict[str, set[str]] = defaultdict(set)
    with (data_dir / f"qrels-{split}.tsv").open(encoding="utf-8") as handle:
        for line in handle:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[0] != "query_id" and float(parts[2]) > 0:
                relevant[parts[0]].add(parts[1])
    return dict(relevant)


def typing_prefix(text: str) -> str:
    """Cut text to the first half of its words (or, for Chinese, characters), rounded up."""
    stripped = text.strip()
    letters = [ch for ch in stripped if not ch.isspace()]
    if letters and sum(is_cjk(ch) for ch in letters) * 2 >= len(letters):
        return stripped[: math.ceil(len(stripped) / 2)]
    words = stripped.split()
    return " ".join(words[: math.ceil(len(words) / 2)])


_TYPO_WORD_RE = re.compile(rf"(?<![^\W\d_])[A-Za-z]{{{TYPO_MIN_LETTERS},}}(?![^\W\d_])")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def misspelt(text: str, key: str) -> str:
    """Return ``text`` with one English word of TYPO_MIN_LETTERS or more letters changed by
    one edit (a letter dropped, doubled into a wrong one, replaced, or two swapped), the
    word, the edit and its place drawn from a generator seeded with ``key``; the first
    letter stays, as in most real typos. Text without such a word is returned unchanged."""
    words = list(_TYPO_WORD_RE.finditer(text))
    if not words:
        return text
    # A reproducible corruption, not a secret: a seeded generator is what is wanted.
    rng = random.Random(hashlib.sha256(key.encode("utf-8")).digest())  # noqa: S311
    match = rng.choice(words)
    word = match.group()
    at = rng.randrange(1, len(word))
    edit = rng.choice(("delete", "insert", "replace", "swap"))
    if edit == "swap" and word[at - 1].lower() != word[at].lower():
        wrong = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
    elif edit == "delete":
        wrong = word[:at] + word[at + 1 :]
    elif edit == "insert":
        wrong = word[:at] + rng.choice(_LETTERS) + word[at:]
    else:
        letter = rng.choice([c for c in _LETTERS if c != word[at].lower()])
        wrong = word[:at] + letter + word[at + 1 :]
    return text[: match.start()] + wrong + text[match.end() :]


def average_precision(ranking: Sequence[str], relevant: set[str]) -> float:
    """Return AP of a ranking against the relevant set (binary relevance)."""
    hits, total = 0, 0.0
    for rank, doc_id in enumerate(ranking, start=1):
        if doc_id in relevant:
            hits += 1
            total += hits / rank
    return total / len(relevant) if relevant else 0.0


def reciprocal_rank(ranking: Sequence[str], relevant: set[str]) -> float:
    """Return 1/rank of the first relevant document, 0 if none is ranked."""
    for rank, doc_id in enumerate(ranking, start=1):
        if doc_id in relevant:
            return 1.0 / rank
    return 0.0


def precision_at(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Return the share of the first k places held by relevant documents."""
    return sum(1 for doc_id in ranking[:k] if doc_id in relevant) / k


def recall_at(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Return the share of relevant documents found in the first k places."""
    return sum(1 for doc_id in ranking[:k] if doc_id in relevant) / len(relevant)


def ndcg_at(ranking: Sequence[str], relevant: set[str], k: int) -> float:
    """Return nDCG@k with gain 1 for every relevant document."""
    dcg = sum(1 / math.log2(r + 1) for r, d in enumerate(ranking[:k], start=1) if d in relevant)
    ideal = sum(1 / math.log2(r + 1) for r in range(1, min(len(relevant), k) + 1))
    return dcg / ideal if ideal else 0.0


def score(
    rankings: dict[str, Sequence[str]], qrels: dict[str, set[str]], seconds: float
) -> Metrics:
    """Average the metrics over the ranked queries that have relevant documents."""
    judged = [q for q in rankings if qrels.get(q)]
    n = len(judged)

    def mean(metric: Callable[[Sequence[str], set[str]], float]) -> float:
        return sum(metric(rankings[q], qrels[q]) for q in judged) / n if n else 0.0

    return Metrics(
        map=mean(average_precision),
        mrr=mean(reciprocal_rank),
        p_at_1=mean(lambda r, rel: precision_at(r, rel, 1)),
        p_at_5=mean(lambda r, rel: precision_at(r, rel, 5)),
        ndcg_at_10=mean(lambda r, rel: ndcg_at(r, rel, 10)),
        recall_at_10=mean(lambda r, rel: recall_at(r, rel, 10)),
        queries=n,
        queries_per_second=len(rankings) / seconds if seconds > 0 else 0.0,
    )


def documents(
    corpus: Iterable[dict[str, str]], phrasings: dict[str, list[str]] | None = None
) -> Iterator[Document]:
    """Turn corpus records into index documents, with past phrasings when given.

    A record's optional ``tags`` holds its tags one a line."""
    now = datetime.now(UTC)
    learned = phrasings or {}
    for record in corpus:
        yield Document(
            id=record["id"],
            title=record.get("title", ""),
            body=record.get("body", ""),
            updated=now,
            version=1,
            tags=tuple(tag for tag in record.get("tags", "").split("\n") if tag),
            phrasings=tuple(learned.get(record["id"], ())[:MAX_PHRASINGS]),
        )


def history_phrasings(queries: Iterable[Query], qrels: dict[str, set[str]]) -> dict[str, list[str]]:
    """Return doc id -> the (de-duplicated) questions that it answered in the history split."""
    learned: dict[str, list[str]] = defaultdict(list)
    for query in queries:
        for doc_id in sorted(qrels.get(query.id, ())):
            if query.text not in learned[doc_id]:
                learned[doc_id].append(query.text)
    return dict(learned)


class Ranker(Protocol):
    """What the evaluation runs queries through: the production index or plain Whoosh."""

    def full(self, text: str, depth: int) -> list[str]:
        """Return the ids ranked for a whole question (the search page)."""
        ...

    def typing(self, text: str, depth: int) -> list[str]:
        """Return the ids ranked for half-typed text (the suggestion list)."""
        ...


class _Production:
    def __init__(self, index: SearchIndex) -> None:
        self.index = index
        self.scope = Scope()

    def full(self, text: str, depth: int) -> list[str]:
        return [hit.id for hit in self.index.search(text, self.scope, per_page=depth).hits]

    def typing(self, text: str, depth: int) -> list[str]:
        return [hit.id for hit in self.index.suggest(text, self.scope, limit=depth)]


class _Baseline:
    def __init__(self, plain: PlainWhoosh) -> None:
        self.plain = plain

    def full(self, text: str, depth: int) -> list[str]:
        return self.plain.ranking(text, depth)

    def typing(self, text: str, depth: int) -> list[str]:
        return self.plain.ranking(text, depth)


@dataclass(frozen=True)
class Collection:
    """An evaluation set: corpus records, queries, judgements and what the index learns."""

    corpus: list[dict[str, str]]
    queries: list[Query]
    qrels: dict[str, set[str]]
    learned: dict[str, list[str]] | None = None
    synonyms: tuple[tuple[str, ...], ...] = ()


def load_collection(
    data_dir: Path, split: str, history: str | None = None, every: int = 1
) -> Collection:
    """Return a ``../shared/bench``-format set; ``every`` > 1 keeps every n-th query."""
    learned = None
    if history is not None:
        learned = history_phrasings(load_queries(data_dir, history), load_qrels(data_dir, history))
    return Collection(
        corpus=load_corpus(data_dir),
        queries=load_queries(data_dir, split)[:: max(1, every)],
        qrels=load_qrels(data_dir, split),
        learned=learned,
    )


def evaluate(
    data_dir: Path,
    split: str,
    mode: Mode = "full",
    history: str | None = None,
    workdir: Path | None = None,
    every: int = 1,
    baseline: bool = False,
    peer: str | None = None,
) -> Metrics:
    """Index the corpus with the production schema and run the split's queries through the
    search path (full), the suggestion path on half-typed queries (typing) or the search
    path with one word misspelt (typo); plain Whoosh instead when ``baseline``, or a peer
    of PEERS (see search.peer) when ``peer`` names one.

    ``every`` > 1 runs only every n-th query (a quicker, fixed sample for tests)."""
    collection = load_collection(data_dir, split, history, every)
    return evaluate_collection(collection, (mode,), workdir, baseline, peer)[mode]


def evaluate_collection(
    collection: Collection,
    modes: Sequence[Mode] = MODES,
    workdir: Path | None = None,
    baseline: bool = False,
    peer: str | None = None,
) -> dict[Mode, Metrics]:
    """Index the collection once and return the metrics of each of ``modes`` (plain Whoosh
    when ``baseline``, the peer ``peer`` names when given). Peers know no phrasings,
    tags or synonyms: they index titles and bodies."""
    if peer is not None:
        if peer not in PEERS:
            raise ValueError(f"unknown peer {peer!r}; known: {', '.join(PEERS)}")
        fts = Fts5Peer(collection.corpus)
        try:
            return _run_modes(fts, collection, modes)
        finally:
            fts.close()
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        if baseline:
            plain = PlainWhoosh(Path(tmp) / "plain", collection.corpus)
            try:
                return _run_modes(_Baseline(plain), collection, modes)
            finally:
                plain.close()
        index = SearchIndex.open(Path(tmp) / "index")
        try:
            index.rebuild(documents(collection.corpus, collection.learned), 0)
            index.set_synonyms(collection.synonyms)
            return _run_modes(_Production(index), collection, modes)
        finally:
            index.close()


def evaluate_history_halves(
    data_dir: Path, split: str, mode: Mode = "full", workdir: Path | None = None
) -> tuple[Metrics, Metrics]:
    """Measure what past phrasings buy without leakage, on one split.

    The split's queries are dealt alternately into a history half and an evaluation
    half (in file order, so paraphrases of one question land on both sides); returns
    the metrics of the evaluation half without, then with, the history half learned.
    """
    queries = load_queries(data_dir, split)
    qrels = load_qrels(data_dir, split)
    past, judged = queries[0::2], queries[1::2]
    corpus = load_corpus(data_dir)
    without = evaluate_collection(Collection(corpus, judged, qrels), (mode,), workdir)[mode]
    learned = history_phrasings(past, qrels)
    with_history = Collection(corpus, judged, qrels, learned)
    return without, evaluate_collection(with_history, (mode,), workdir)[mode]


def query_text(query: Query, mode: Mode) -> str:
    """Return what a query asks in ``mode``: whole, half-typed, or with one typo."""
    if mode == "typing":
        return typing_prefix(query.text)
    if mode == "typo":
        return misspelt(query.text, query.id)
    return query.text


def _run_modes(
    ranker: Ranker, collection: Collection, modes: Sequence[Mode]
) -> dict[Mode, Metrics]:
    results: dict[Mode, Metrics] = {}
    for mode in modes:
        rankings: dict[str, Sequence[str]] = {}
        started = time.perf_counter()
        for query in collection.queries:
            text = query_text(query, mode)
            if mode == "typing":
                ranked = ranker.typing(text, SUGGEST_DEPTH + 1)
            else:
                ranked = ranker.full(text, RANKING_DEPTH)
            rankings[query.id] = [doc_id for doc_id in ranked if doc_id != query.id]
        seconds = time.perf_counter() - started
        results[mode] = score(rankings, collection.qrels, seconds)
    return results
