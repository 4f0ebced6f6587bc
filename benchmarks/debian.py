"""Search on a real corpus: this machine's Debian package descriptions, ours beside FTS5.

Read at bench time from ``/var/lib/apt/lists/*_Packages.lz4`` (decompressed with
``lz4cat``), never committed. One article per package name (the first list that names
it wins, lists in sorted order): the short description is the title, the body is the
package name followed by the long description where the list carries one (bookworm's
lists carry only the short line; their long descriptions live in Translation files).

Queries, drawn with a fixed seed from a package's short description (words as ``\\w+``
finds them), that package being the answer: ``words``, 2–4 of its words of 3 characters
or more, in their order ("tabular data sql"); ``fragments``, 2–4 consecutive words, short
ones included ("on tabular"). Both sets are timed and scored.
Both engines are scored with ``search.evaluation.reciprocal_rank`` over their top 10:
``mrr`` counts any package of the answer's Debian source package as relevant (its
``-dev``, ``-doc`` and library packages often share the description), ``mrr_own_package``
only the package itself.

The peer is the FTS5 query a competent implementer would write: the query's words as an
implicit AND (``"w1" "w2" …``), ordered by ``bm25(docs, 2.5, 1.0)`` (title weighted 2.5),
top 10 with the title and a snippet of the body plus ``count(*)`` of the matches (ours
returns snippets and the total too); when the AND finds nothing, the same with the words
OR'ed. Its ids-only time (the top-10 SELECT alone) is reported beside it.

``mrr_content_words`` is a control for the quality gap, not timed: the peer's MRR when
the query's stop words (our analyzer's list) are left out before it runs, so both
engines see the same words. The queries are cut from the very titles they must find, so
FTS5's AND of "for", "and", "the" with the rest matches the answer's wording; support
requests do not work that way, and our analyzer drops those words on purpose.

Usage: python -m benchmarks.debian [--sizes 10000,0] [--queries 500] (0: every package).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from search.evaluation import reciprocal_rank
from search.peer import fts_terms, fts_text

LISTS = "/var/lib/apt/lists"
SEED = 20261207
QUERIES = 500
WORD = re.compile(r"\w+", re.UNICODE)
DEPTH = 10
# The two query sets (see draw_queries) and the shortest word the first one draws.
WORDS = "words"
FRAGMENTS = "fragments"
KINDS = (WORDS, FRAGMENTS)
MIN_WORD = 3


@dataclass(frozen=True)
class Package:
    """One package as an article: its name, short description and long description."""

    id: int
    name: str
    title: str
    body: str
    # The Debian source package it is built from (its own name when the list names none).
    source: str = ""


@dataclass(frozen=True)
class Query:
    """A query drawn from a package's short description; that package is the answer."""

    text: str
    answer: int
    # Every package built from the answer's source package (the answer among them).
    relevant: frozenset[int] = frozenset()


class CorpusMissing(Exception):
    """Raised when this machine has no Debian package lists (or no lz4cat to read them)."""


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    """Yield each control-file stanza as field -> value (continuation lines joined)."""
    fields: dict[str, str] = {}
    last = ""
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, last = {}, ""
        elif line[0] in " \t" and last:
            fields[last] += "\n" + line[1:]
        elif ":" in line:
            last, _sep, value = line.partition(":")
            fields[last] = value.strip()
    if fields:
        yield fields


def _long_description(continuation: str) -> str:
    """Return a Description's long part as paragraphs (" ." lines separate them)."""
    lines = [line.strip() for line in continuation.splitlines()]
    paragraphs = "\n".join("" if line == "." else line for line in lines).split("\n\n")
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def load_packages(lists: str = LISTS) -> list[Package]:
    """Return every package named by the machine's Packages lists, in name order."""
    paths = sorted(Path(lists).glob("*_Packages.lz4"))
    if not paths or shutil.which("lz4cat") is None:
        raise CorpusMissing(f"no {lists}/*_Packages.lz4 (or no lz4cat) on this machine")
    seen: dict[str, tuple[str, str, str]] = {}
    for path in paths:
        done = subprocess.run(  # noqa: S603 - a fixed tool on a file we listed
            ["lz4cat", str(path)],  # noqa: S607 - lz4cat from PATH
            capture_output=True,
            check=True,
            timeout=300,
        )
        for stanza in _stanzas(done.stdout.decode("utf-8", "replace")):
            name = stanza.get("Package")
            description = stanza.get("Description")
            if not name or not description or name in seen:
                continue
            short, _sep, rest = description.partition("\n")
            source = stanza.get("Source", name).split(" ", 1)[0] or name
            seen[name] = (short.strip(), _long_description(rest), source)
    return [
        Package(number, name, short, f"{name}\n\n{long}".strip(), source)
        for number, (name, (short, long, source)) in enumerate(sorted(seen.items()), start=1)
    ]


def sample(packages: list[Package], size: int, seed: int = SEED) -> list[Package]:
    """Return ``size`` packages chosen with ``seed`` (all of them when size is 0 or more)."""
    if not size or size >= len(packages):
        return packages
    chosen = random.Random(seed).sample(packages, size)  # noqa: S311 - test data
    return sorted(chosen, key=lambda p: p.id)


def _words(title: str, kind: str) -> list[str]:
    """Return the words of a short description a query may be drawn from."""
    words = WORD.findall(title)
    return words if kind == FRAGMENTS else [w for w in words if len(w) >= MIN_WORD]


def draw_queries(
    packages: list[Package], count: int, seed: int = SEED, kind: str = "words"
) -> list[Query]:
    """Return ``count`` queries of 2–4 words of short descriptions.

    ``words``: words of at least MIN_WORD characters chosen from the description, kept
    in its order (what a user types: "tabular data sql"). ``fragments``: 2–4
    consecutive words of it, short words included ("on tabular").
    """
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    eligible = [p for p in packages if len(_words(p.title, kind)) >= 2]
    by_source: dict[str, set[int]] = {}
    for package in packages:
        by_source.setdefault(package.source, set()).add(package.id)
    queries: list[Query] = []
    for package in rng.sample(eligible, min(count, len(eligible))):
        words = _words(package.title, kind)
        length = rng.randint(2, min(4, len(words)))
        if kind == FRAGMENTS:
            start = rng.randint(0, len(words) - length)
            chosen = words[start : start + length]
        else:
            chosen = [words[i] for i in sorted(rng.sample(range(len(words)), length))]
        text = " ".join(chosen)
        queries.append(Query(text, package.id, frozenset(by_source[package.source])))
    return queries


def _ranks(ranking: list[str], query: Query) -> tuple[float, float]:
    """Return the reciprocal rank of the query's source package, and of its own package."""
    relevant = {str(i) for i in query.relevant} or {str(query.answer)}
    return reciprocal_rank(ranking, relevant), reciprocal_rank(ranking, {str(query.answer)})


def _mrr(ranks: list[tuple[float, float]]) -> dict[str, float]:
    return {
        "mrr": round(sum(r[0] for r in ranks) / len(ranks), 3),
        "mrr_own_package": round(sum(r[1] for r in ranks) / len(ranks), 3),
    }


def percentiles(values: list[float]) -> dict[str, float]:
    """Return p50 and p95 (nearest rank) and the mean of millisecond figures."""
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    return {
        "p50": round(at(0.5), 3),
        "p95": round(at(0.95), 3),
        "mean": round(sum(ordered) / len(ordered), 3),
        "n": len(ordered),
    }


def _documents(packages: Iterable[Package]) -> Iterator[Any]:
    from search.index import Document

    updated = datetime(2026, 1, 1, tzinfo=UTC)
    for package in packages:
        yield Document(
            id=str(package.id), title=package.title, body=package.body, updated=updated, version=1
        )


def build_ours(packages: list[Package], work: Path) -> tuple[Any, float]:
    """Return a warm SearchIndex of the packages and the seconds its rebuild took."""
    from search import analysis
    from search.index import SearchIndex

    analysis.warm_up()
    index = SearchIndex.open(work / "whoosh")
    started = time.perf_counter()
    index.rebuild(_documents(packages), 0)
    build = time.perf_counter() - started
    index.warm()
    return index, round(build, 2)


def time_ours(index: Any, queries: list[Query]) -> dict[str, Any]:
    """Time ``search()`` (top 10, public articles) over the queries and score it."""
    from search.index import Scope

    scope = Scope()
    for query in queries[:20]:
        index.search(query.text, scope, per_page=DEPTH)
    latencies, ranks = [], []
    for query in queries:
        started = time.perf_counter()
        page = index.search(query.text, scope, per_page=DEPTH)
        latencies.append((time.perf_counter() - started) * 1000)
        ranks.append(_ranks([hit.id for hit in page.hits], query))
    return {
        "search_ms": percentiles(latencies),
        **_mrr(ranks),
        "slowest": [
            {"query": q.text, "ms": round(ms, 2)}
            for ms, q in sorted(zip(latencies, queries, strict=True), key=lambda x: -x[0])[:5]
        ],
    }


SEARCH_SQL = (
    "SELECT id, title, snippet(docs, 1, '', '', '…', 12) FROM docs WHERE docs MATCH ? "
    "ORDER BY bm25(docs, 2.5, 1.0) LIMIT 10"
)
IDS_SQL = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 2.5, 1.0) LIMIT 10"
COUNT_SQL = "SELECT count(*) FROM docs WHERE docs MATCH ?"


def fts_and(text: str) -> str:
    """Return the FTS5 MATCH of every word of ``text`` (an implicit AND), quoted."""
    return " ".join(f'"{t}"' for t in fts_terms(text))


def fts_or(text: str) -> str:
    """Return the FTS5 MATCH of any word of ``text``, quoted."""
    return " OR ".join(f'"{t}"' for t in fts_terms(text))


def build_fts(packages: list[Package], work: Path) -> tuple[sqlite3.Connection, float]:
    """Return an FTS5 table of the packages (a file in ``work``) and its build seconds."""
    connection = sqlite3.connect(work / "fts.sqlite")
    started = time.perf_counter()
    connection.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, body, id UNINDEXED, "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    with connection:
        connection.executemany(
            "INSERT INTO docs(title, body, id) VALUES (?, ?, ?)",
            ((fts_text(p.title), fts_text(p.body), p.id) for p in packages),
        )
    connection.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    connection.commit()
    return connection, round(time.perf_counter() - started, 2)


def fts_search(connection: sqlite3.Connection, text: str, sql: str = SEARCH_SQL) -> list[int]:
    """Return the peer's top 10 ids: every word (AND), or any (OR) when that finds none."""
    for match in (fts_and(text), fts_or(text)):
        if not match:
            return []
        rows = connection.execute(sql, (match,)).fetchall()
        if rows:
            if sql == SEARCH_SQL:
                connection.execute(COUNT_SQL, (match,)).fetchone()
            return [int(row[0]) for row in rows]
    return []


def content_words(text: str) -> str:
    """Return ``text`` without the words our analyzer drops as stop words."""
    from search.analysis import stop_words

    stops = stop_words()
    return " ".join(word for word in text.split() if word.lower() not in stops)


def time_fts(connection: sqlite3.Connection, queries: list[Query]) -> dict[str, Any]:
    """Time the peer's query (with snippets and the count, and ids only) and score it,
    and score it again on the query's content words alone (see mrr_content_words)."""
    for query in queries[:20]:
        fts_search(connection, query.text)
    latencies, bare, ranks, fallbacks = [], [], [], 0
    controls: list[tuple[float, float]] = []
    for query in queries:
        started = time.perf_counter()
        found = fts_search(connection, query.text)
        latencies.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        fts_search(connection, query.text, IDS_SQL)
        bare.append((time.perf_counter() - started) * 1000)
        ranks.append(_ranks([str(i) for i in found], query))
        fallbacks += not connection.execute(IDS_SQL, (fts_and(query.text),)).fetchall()
        content = content_words(query.text)
        found = fts_search(connection, content, IDS_SQL) if content else []
        controls.append(_ranks([str(i) for i in found], query))
    return {
        "search_ms": percentiles(latencies),
        "ids_only_ms": percentiles(bare),
        **_mrr(ranks),
        "mrr_content_words": _mrr(controls)["mrr"],
        "or_fallbacks": fallbacks,
    }


def run(packages: list[Package], size: int, count: int) -> dict[str, Any]:
    """Return ours and the peer's figures on ``size`` packages (0: all), in one run."""
    chosen = sample(packages, size)
    work = Path(tempfile.mkdtemp(prefix="solveloop-debian-"))
    figures: dict[str, Any] = {"documents": len(chosen)}
    try:
        index = build_ours(chosen, work)
        fts = build_fts(chosen, work)
        figures["build_seconds"] = {"ours": index[1], "fts5": fts[1]}
        for kind in KINDS:
            queries = draw_queries(chosen, count, kind=kind)
            ours = time_ours(index[0], queries)
            peer = time_fts(fts[0], queries)
            figures[kind] = {
                "queries": len(queries),
                "ours": ours,
                "fts5": peer,
                "p95_ratio": round(ours["search_ms"]["p95"] / peer["search_ms"]["p95"], 2),
                "p95_ratio_ids_only": round(
                    ours["search_ms"]["p95"] / peer["ids_only_ms"]["p95"], 2
                ),
                "p50_ratio": round(ours["search_ms"]["p50"] / peer["search_ms"]["p50"], 2),
            }
        index[0].close()
        fts[0].close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print ours and FTS5's latency and MRR on the Debian corpus at each size, as JSON."""
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,0")
    parser.add_argument("--queries", type=int, default=QUERIES)
    args = parser.parse_args(argv)
    try:
        packages = load_packages()
    except CorpusMissing as exc:
        print(f"debian corpus: {exc}", file=sys.stderr)
        return 1
    figures = {}
    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        load = os.getloadavg()
        figures[str(size or len(packages))] = {
            **run(packages, size, args.queries),
            "loadavg_before": [round(x, 2) for x in load],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
