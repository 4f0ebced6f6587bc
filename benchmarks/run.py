"""`make bench`: index, search, suggestion, publish and HTTP figures at 20k and 100k articles.

Usage: python -m benchmarks.run [--sizes 20000,100000] [--load-seconds 30]
(or BENCH_SIZES=2000,20000). Writes benchmarks/results/bench-<size>.json, a summary.json
and docs/performance.md, and prints a table. See benchmarks/README.md for what each
figure means and how it is measured.
"""

from __future__ import annotations

import argparse
import html
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import corpus
from benchmarks.memory import peak_rss
from benchmarks.report import render_table, update_document
from search.peer import fts_match_or, fts_match_typed, fts_text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "performance.md"
SEED = 20261123
QUERY_SEED = 7
SHORT_QUERIES = 300
TICKET_QUERIES = 100
TYPED_QUERIES = 400
HTTP_QUERIES = 400
PUBLISHES = 30
TYPISTS = 200
PASSWORD = "bench-password-0123"  # noqa: S105 - a throwaway account on a temporary instance
USERNAME = "benchuser"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def percentiles(values: list[float]) -> dict[str, float]:
    """Return p50, p95, mean and max of millisecond figures, rounded."""
    if not values:
        return {"p50": float("nan"), "p95": float("nan"), "mean": float("nan"), "max": 0.0, "n": 0}
    ordered = sorted(values)

    def at(fraction: float) -> float:
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    return {
        "p50": round(at(0.50), 2),
        "p95": round(at(0.95), 2),
        "mean": round(statistics.fmean(ordered), 2),
        "max": round(ordered[-1], 2),
        "n": len(ordered),
    }


def timed(call: Callable[[str], object], inputs: Iterable[str]) -> list[float]:
    """Return the milliseconds each call took."""
    out = []
    for text in inputs:
        started = time.perf_counter()
        call(text)
        out.append((time.perf_counter() - started) * 1000)
    return out


def directory_bytes(path: Path) -> int:
    """Return the total size of the files under ``path``."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def log(message: str) -> None:
    """Print a progress line with the time."""
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)


# Whoosh through SearchIndex


def documents(articles: list[corpus.Article]) -> Iterable[Any]:
    """Yield search Documents for the generated articles."""
    from search.index import Document

    updated = datetime(2026, 1, 1, tzinfo=UTC)
    for article in articles:
        yield Document(
            id=str(article.id),
            title=article.title,
            body=article.body,
            updated=updated,
            version=1,
            category=article.category,
            visibility=article.visibility,
        )


def bench_whoosh(
    articles: list[corpus.Article], queries: corpus.Queries, work: Path
) -> dict[str, Any]:
    """Rebuild an index of ``articles`` and time search and suggest on it."""
    from search import analysis
    from search.index import Scope, SearchIndex

    analysis.warm_up()
    index = SearchIndex.open(work / "whoosh")
    log(f"whoosh: rebuilding {len(articles)} documents")
    started = time.perf_counter()
    count = index.rebuild(documents(articles), 0)
    seconds = time.perf_counter() - started
    size = directory_bytes(index._live_dir())
    log(f"whoosh: rebuilt in {seconds:.1f} s; searching")
    scope = Scope()
    for text in queries.short[:10] + queries.typed[:10]:
        index.search(text, scope, per_page=10)
        index.suggest(text, scope, limit=5)
    totals: list[int] = []
    short = timed(lambda q: totals.append(index.search(q, scope, per_page=10).total), queries.short)
    ticket = timed(lambda q: index.search(q, scope, per_page=10), queries.ticket)
    typed = timed(lambda q: index.suggest(q, scope, limit=5), queries.typed)
    ready = [analysis.suggestion_ready(q) for q in queries.typed]
    typed_ready = [ms for ms, is_ready in zip(typed, ready, strict=True) if is_ready]
    hits = sum(1 for total in totals if total)
    index.close()
    from benchmarks.worker import fresh_worker

    log("whoosh: a fresh worker's first query")
    fresh = fresh_worker(work / "whoosh", queries.short[0])
    # How much of the rebuild is our analyzer alone: tokenise a sample as the schema would.
    sample = articles[:2000]
    started = time.perf_counter()
    for article in sample:
        list(analysis.analyzer()(article.title))
        list(analysis.prefix_analyzer()(article.title))
        list(analysis.analyzer()(article.body))
    analysis_ms = (time.perf_counter() - started) * 1000 / len(sample)
    return {
        "documents": count,
        "analysis_ms_per_doc": round(analysis_ms, 3),
        "rebuild_ms_per_doc": round(seconds * 1000 / count, 3),
        "rebuild_seconds": round(seconds, 2),
        "rebuild_docs_per_second": round(count / seconds, 1),
        "index_bytes": size,
        "search_short_ms": percentiles(short),
        "search_ticket_ms": percentiles(ticket),
        "suggest_ms": percentiles(typed),
        "suggest_ready_ms": percentiles(typed_ready),
        "suggest_ready_share": round(sum(ready) / len(queries.typed), 3),
        "short_queries_with_results": round(hits / len(queries.short), 3),
        "fresh_worker": fresh,
    }


# SQLite FTS5 as the reference peer (its text and queries: search.peer)


def bench_fts(
    articles: list[corpus.Article], queries: corpus.Queries, work: Path
) -> dict[str, Any]:
    """Build an FTS5 table of ``articles`` and run the same queries through it."""
    path = work / "fts.sqlite"
    connection = sqlite3.connect(path)
    log("fts5: building")
    started = time.perf_counter()
    connection.execute(
        "CREATE VIRTUAL TABLE docs USING fts5(title, body, visibility UNINDEXED, "
        "tokenize='unicode61 remove_diacritics 2', prefix='2 3 4 5')"
    )
    with connection:
        connection.executemany(
            "INSERT INTO docs(rowid, title, body, visibility) VALUES (?, ?, ?, ?)",
            ((a.id, fts_text(a.title), fts_text(a.body), a.visibility) for a in articles),
        )
    connection.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    connection.commit()
    seconds = time.perf_counter() - started
    size = path.stat().st_size
    log(f"fts5: built in {seconds:.1f} s; searching")
    # Same work as ours where it is cheap to ask: the top 10 public hits, BM25 with the
    # title weighted 2.5, and the total count of matches.
    search_sql = (
        "SELECT rowid, title, snippet(docs, 1, '', '', '…', 12) FROM docs "
        "WHERE docs MATCH ? AND visibility = 'public' "
        "ORDER BY bm25(docs, 2.5, 1.0) LIMIT 10"
    )
    count_sql = "SELECT count(*) FROM docs WHERE docs MATCH ? AND visibility = 'public'"
    typed_sql = (
        "SELECT rowid, title FROM docs WHERE docs MATCH ? AND visibility = 'public' "
        "ORDER BY bm25(docs, 3.0, 0.0) LIMIT 5"
    )

    def search(text: str) -> None:
        match = fts_match_or(text)
        if match:
            connection.execute(search_sql, (match,)).fetchall()
            connection.execute(count_sql, (match,)).fetchone()

    def typed(text: str) -> None:
        match = fts_match_typed(text)
        if match:
            connection.execute(typed_sql, (match,)).fetchall()

    for text in queries.short[:10]:
        search(text)
    result = {
        "build_seconds": round(seconds, 2),
        "build_docs_per_second": round(len(articles) / seconds, 1),
        "database_bytes": size,
        "search_short_ms": percentiles(timed(search, queries.short)),
        "search_ticket_ms": percentiles(timed(search, queries.ticket)),
        "prefix_ms": percentiles(timed(typed, queries.typed)),
    }
    connection.close()
    return result


# The portal: database, publish path, gunicorn


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Return the environment for our CLI: no SOLVELOOP_* from the caller, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOLVELOOP_")}
    env.update(extra or {})
    return env


def solveloop(instance: Path, *args: str, stdin: str = "") -> str:
    """Run the solveloop CLI on ``instance`` and return its output (raises on failure)."""
    command = [str(Path(sys.executable).parent / "solveloop"), "--instance", str(instance), *args]
    done = subprocess.run(  # noqa: S603 - our own CLI with fixed arguments
        command,
        input=stdin,
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=3600,
        check=False,
        start_new_session=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed: {done.stdout}\n{done.stderr}")
    return done.stdout


def load_database(instance: Path, articles: list[corpus.Article]) -> float:
    """Insert the articles as published rows (bulk insert, no outbox) and return seconds."""
    from sqlalchemy import insert, select

    from articles.models import Article, ArticleState, Category, Visibility
    from portal import create_app

    app = create_app({"INDEXER_THREAD": False}, instance_path=str(instance))
    started = time.perf_counter()
    now = datetime(2026, 1, 1, tzinfo=UTC)
    with app.extensions["solveloop.write_sessions"]() as session:
        categories = {c.slug: c.id for c in session.scalars(select(Category))}
        batch: list[dict[str, Any]] = []
        for article in articles:
            paragraphs = article.body.split("\n\n")
            batch.append(
                {
                    "id": article.id,
                    "slug": f"article-{article.id}",
                    "title": article.title,
                    "body": article.body,
                    "body_html": "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs),
                    "body_text": article.body,
                    "state": ArticleState.PUBLISHED,
                    "visibility": Visibility(article.visibility),
                    "category_id": categories.get(article.category),
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                    "published_at": now,
                }
            )
            if len(batch) == 5000:
                session.execute(insert(Article), batch)
                batch = []
        if batch:
            session.execute(insert(Article), batch)
        session.commit()
    app.extensions["solveloop.engine"].dispose()
    return time.perf_counter() - started


def bench_publish(instance: Path, words: list[str]) -> dict[str, Any]:
    """Publish articles through the use cases and time commit → found by search()."""
    from articles.models import ArticleState
    from articles.service import ArticleFields, change_state, create_article
    from search.index import Scope

    app = create_app_for(instance)
    index = app.extensions["solveloop.index"]
    indexer = app.extensions["solveloop.indexer"]
    latencies, commits, misses = [], [], 0
    for number in range(PUBLISHES):
        marker = f"benchpublish{number}x{int(time.time())}"
        title = f"{marker} {' '.join(words[number * 3 : number * 3 + 3])} problem"
        with app.extensions["solveloop.write_sessions"]() as session:
            article = create_article(
                session,
                ArticleFields(title=title, body=f"{title}. " + " ".join(words[:120])),
                None,
            )
            change_state(session, article, ArticleState.PUBLISHED, None)
            started = time.perf_counter()
            session.commit()
            committed = time.perf_counter()
        found = False
        while time.perf_counter() - started < 10:
            if index.search(marker, Scope(), per_page=1).total:
                found = True
                break
            indexer.apply_pending(wait=True)
        if found:
            latencies.append((time.perf_counter() - started) * 1000)
        else:
            misses += 1
        commits.append((committed - started) * 1000)
    index.close()
    app.extensions["solveloop.engine"].dispose()
    return {
        "publish_to_searchable_ms": percentiles(latencies),
        "commit_ms": percentiles(commits),
        "not_found_within_10s": misses,
    }


def create_app_for(instance: Path) -> Any:
    """Return the portal on ``instance`` without the indexer thread (the commit pokes it)."""
    from portal import create_app

    return create_app({"INDEXER_THREAD": False}, instance_path=str(instance))


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """`solveloop serve` (gunicorn, 2 workers) on loopback, stopped on exit."""

    def __init__(self, instance: Path, env: dict[str, str], logfile: Path) -> None:
        self.instance = instance
        self.port = free_port()
        self.logfile = logfile
        self.env = cli_env(env)
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        command = [
            str(Path(sys.executable).parent / "solveloop"),
            "--instance",
            str(self.instance),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            "2",
        ]
        with self.logfile.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI with fixed arguments
                command, stdout=out, stderr=out, env=self.env, start_new_session=True
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited; see {self.logfile}")
            try:
                status, _body, _headers = request(self.port, "GET", "/login")
                if status == 200 and len(self.workers()) >= 2:
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.__exit__()
        raise RuntimeError("the server did not answer within 120 s")

    def workers(self) -> list[int]:
        """Return the pids of gunicorn's worker processes (children of the master)."""
        assert self.process is not None
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children")
        try:
            return [int(p) for p in children.read_text().split()]
        except OSError:
            return []

    def worker_rss_mb(self, field: str = "VmRSS") -> list[float]:
        """Return each worker's VmRSS (or RssAnon, RssFile…) in MB."""
        sizes = []
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            match = re.search(rf"{field}:\s+(\d+) kB", status)
            if match:
                sizes.append(round(int(match.group(1)) / 1024, 1))
        return sizes

    def __exit__(self, *exc_info: object) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)


def request(
    port: int,
    method: str,
    path: str,
    body: str | None = None,
    cookie: str = "",
    connection: http.client.HTTPConnection | None = None,
) -> tuple[int, str, http.client.HTTPMessage]:
    """Send one request to 127.0.0.1:``port``; return status, body and headers."""
    conn = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode("utf-8", "replace"), response.headers
    finally:
        if connection is None:
            conn.close()


def session_cookie(headers: http.client.HTTPMessage, current: str) -> str:
    """Return the session cookie set by a response, or ``current``."""
    for value in headers.get_all("Set-Cookie") or []:
        pair = value.split(";", 1)[0]
        if pair.startswith("solveloop_session="):
            return pair
    return current


def login(port: int) -> str:
    """Log in as the benchmark user and return the session cookie."""
    status, page, headers = request(port, "GET", "/login")
    cookie = session_cookie(headers, "")
    match = CSRF_META.search(page)
    if status != 200 or match is None:
        raise RuntimeError("no login page with a csrf-token")
    form = urllib.parse.urlencode(
        {"username": USERNAME, "password": PASSWORD, "csrf_token": match.group(1)}
    )
    status, _page, headers = request(port, "POST", "/login", form, cookie)
    if status not in (302, 303):
        raise RuntimeError(f"login failed with HTTP {status}")
    return session_cookie(headers, cookie)


def suggest_path(text: str) -> str:
    """Return the suggestion URL for typed text."""
    return "/requests/suggest?" + urllib.parse.urlencode({"q": text})


def http_latency(port: int, cookie: str, inputs: Iterable[str]) -> dict[str, Any]:
    """Time sequential suggestion requests on one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies, statuses = [], {}
    try:
        for text in inputs:
            started = time.perf_counter()
            status, _body, _headers = request(port, "GET", suggest_path(text), None, cookie, conn)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    finally:
        conn.close()
    return {"ms": percentiles(latencies), "statuses": statuses}


def typist(
    port: int, cookie: str, phrases: list[str], seed: int, deadline: float, out: dict[str, Any]
) -> None:
    """Type phrases keystroke by keystroke; send a request whenever htmx's 250 ms debounce fires."""
    import random

    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    try:
        while time.monotonic() < deadline:
            phrase = rng.choice(phrases)
            for end in range(1, len(phrase) + 1):
                if time.monotonic() >= deadline:
                    break
                pause = rng.uniform(0.08, 0.45) if end < len(phrase) else 0.6
                if pause < 0.25:
                    time.sleep(pause)
                    continue
                time.sleep(0.25)
                started = time.perf_counter()
                try:
                    status, _b, _h = request(
                        port, "GET", suggest_path(phrase[:end]), None, cookie, conn
                    )
                except (OSError, http.client.HTTPException):
                    errors += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                statuses[status] = statuses.get(status, 0) + 1
                time.sleep(max(0.0, pause - 0.25))
    finally:
        conn.close()
        out["latencies"] = latencies
        out["statuses"] = statuses
        out["errors"] = errors


def load_test(port: int, cookie: str, phrases: list[str], seconds: float) -> dict[str, Any]:
    """Run TYPISTS simulated typists for ``seconds``; return latency, errors and rate."""
    deadline = time.monotonic() + seconds
    outs: list[dict[str, Any]] = [{} for _ in range(TYPISTS)]
    threads = [
        threading.Thread(target=typist, args=(port, cookie, phrases, n, deadline, outs[n]))
        for n in range(TYPISTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 60)
    latencies = [ms for out in outs for ms in out.get("latencies", [])]
    statuses: dict[int, int] = {}
    for out in outs:
        for status, n in out.get("statuses", {}).items():
            statuses[status] = statuses.get(status, 0) + n
    errors = sum(out.get("errors", 0) for out in outs) + sum(
        n for status, n in statuses.items() if status >= 500 or status not in (200, 429)
    )
    return {
        "typists": TYPISTS,
        "seconds": seconds,
        "requests": len(latencies),
        "requests_per_second": round(len(latencies) / seconds, 1),
        "errors": errors,
        "statuses": statuses,
        "ms": percentiles(latencies),
    }


def fast_typist(port: int, cookie: str, phrases: list[str], limit: int = 400) -> dict[str, Any]:
    """Send suggestion requests back to back (at most ``limit``, 30 s); count the answers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses: dict[int, int] = {}
    errors = 0
    deadline = time.monotonic() + 30
    sent = 0
    try:
        while sent < limit and time.monotonic() < deadline:
            phrase = phrases[sent % len(phrases)]
            try:
                status, _body, _h = request(port, "GET", suggest_path(phrase), None, cookie, conn)
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            finally:
                sent += 1
            statuses[status] = statuses.get(status, 0) + 1
            if status not in (200, 429):
                errors += 1
    finally:
        conn.close()
    return {"requests": sent, "statuses": statuses, "errors": errors}


def bench_http(
    instance: Path, queries: corpus.Queries, phrases: list[str], load_seconds: float, work: Path
) -> dict[str, Any]:
    """Serve the instance with gunicorn and measure suggestions over HTTP, idle and loaded."""
    result: dict[str, Any] = {}
    logfile = work / "gunicorn.log"
    fast = {"SOLVELOOP_SUGGEST_RATE_LIMIT": "100000 per minute"}
    with Server(instance, fast, logfile) as server:
        result["rss_idle_mb"] = server.worker_rss_mb()
        cookie = login(server.port)
        http_latency(server.port, cookie, queries.typed[:30])
        log("http: unloaded suggestion latency")
        result["unloaded"] = http_latency(server.port, cookie, queries.typed[:HTTP_QUERIES])
        result["rss_after_queries_mb"] = server.worker_rss_mb()
        log(f"http: {TYPISTS} typists for {load_seconds:.0f} s")
        result["loaded"] = load_test(server.port, cookie, phrases, load_seconds)
        result["rss_after_load_mb"] = server.worker_rss_mb()
        # Anonymous memory versus mapped index files (Whoosh mmaps its segment files).
        result["rss_anon_after_load_mb"] = server.worker_rss_mb("RssAnon")
        result["rss_file_after_load_mb"] = server.worker_rss_mb("RssFile")
    unloaded = result["unloaded"]["ms"]["p95"]
    result["loaded_p95_ratio"] = round(result["loaded"]["ms"]["p95"] / unloaded, 2)
    log("http: default rate limit, one too-fast typist")
    with Server(instance, {}, logfile) as server:
        cookie = login(server.port)
        result["rate_limited"] = fast_typist(server.port, cookie, phrases)
    return result


def bench_portal(
    articles: list[corpus.Article],
    queries: corpus.Queries,
    load_seconds: float,
    work: Path,
    reuse_index: bool,
) -> dict[str, Any]:
    """The instance-level figures: CLI rebuild, publish latency, HTTP and load."""
    instance = work / "instance"
    solveloop(instance, "init-db")
    log("portal: loading the database")
    load_seconds_db = load_database(instance, articles)
    cli_rebuild: float | None = None
    rebuild_memory: dict[str, Any] | None = None
    if reuse_index:
        # The same documents as `index rebuild` would write (no outbox rows yet, watermark 0).
        log("portal: reusing the index built by SearchIndex.rebuild")
        shutil.rmtree(instance / "index")
        shutil.copytree(work / "whoosh", instance / "index")
    else:
        log("portal: solveloop index rebuild")
        command = [str(Path(sys.executable).parent / "solveloop"), "--instance", str(instance)]
        rebuild_memory = peak_rss([*command, "index", "rebuild"], cli_env())
        if rebuild_memory["returncode"] != 0:
            raise RuntimeError(f"index rebuild failed: {rebuild_memory['output']}")
        cli_rebuild = rebuild_memory["seconds"]
        rebuild_memory.pop("output")
    solveloop(instance, "create-user", USERNAME, stdin=f"{PASSWORD}\n{PASSWORD}\n")
    log("portal: publish to searchable")
    words = [w for a in articles[:50] if a.language == "en" for w in a.body.split()]
    publish = bench_publish(instance, words)
    phrases = [a.title for a in articles[: min(len(articles), 5000)]]
    http_figures = bench_http(instance, queries, phrases, load_seconds, work)
    return {
        "database_load_seconds": round(load_seconds_db, 2),
        "cli_rebuild_seconds": None if cli_rebuild is None else round(cli_rebuild, 2),
        "cli_rebuild_docs_per_second": (
            None if cli_rebuild is None else round(len(articles) / cli_rebuild, 1)
        ),
        "cli_rebuild_memory": rebuild_memory,
        **publish,
        "http": http_figures,
    }


def run_size(
    size: int, pages: list[corpus.ManPage], load_seconds: float, reuse_index: bool
) -> dict[str, Any]:
    """Run every measurement at one corpus size and return the figures."""
    log(f"== {size} articles: generating")
    articles = list(corpus.generate(size, SEED, pages))
    queries = corpus.sample_queries(
        articles, QUERY_SEED, SHORT_QUERIES, TICKET_QUERIES, TYPED_QUERIES
    )
    work = Path(tempfile.mkdtemp(prefix=f"solveloop-bench-{size}-"))
    try:
        figures: dict[str, Any] = {
            "size": size,
            "seed": SEED,
            "chinese_share": round(sum(a.language == "zh" for a in articles) / size, 3),
            "internal_share": round(sum(a.visibility == "internal" for a in articles) / size, 3),
            "mean_body_words_en": round(
                statistics.fmean(len(a.body.split()) for a in articles if a.language == "en"), 1
            ),
            "queries": {
                "short": len(queries.short),
                "ticket": len(queries.ticket),
                "typed": len(queries.typed),
                "http": min(HTTP_QUERIES, len(queries.typed)),
            },
        }
        figures["whoosh"] = bench_whoosh(articles, queries, work)
        figures["fts5"] = bench_fts(articles, queries, work)
        figures["portal"] = bench_portal(articles, queries, load_seconds, work, reuse_index)
        ours, peer = figures["whoosh"], figures["fts5"]
        figures["ratios_ours_to_fts5"] = {
            "build": round(peer["build_docs_per_second"] / ours["rebuild_docs_per_second"], 2),
            "search_short_p95": round(
                ours["search_short_ms"]["p95"] / peer["search_short_ms"]["p95"], 2
            ),
            "search_ticket_p95": round(
                ours["search_ticket_ms"]["p95"] / peer["search_ticket_ms"]["p95"], 2
            ),
            "suggest_vs_prefix_p95": round(ours["suggest_ms"]["p95"] / peer["prefix_ms"]["p95"], 2),
        }
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def code_version() -> dict[str, Any]:
    """Return the commit and uncommitted changes of the measured code (search/ changes often)."""
    import hashlib

    def git(*args: str) -> str:
        done = subprocess.run(  # noqa: S603 - fixed git arguments
            ["git", *args],  # noqa: S607 - git from PATH, like make
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
        return done.stdout.strip()

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": git("status", "--porcelain", "--", "search", "articles", "portal").splitlines(),
        "search_sha256": {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            for path in sorted((ROOT / "search").glob("*.py"))
        },
    }


def machine() -> dict[str, Any]:
    """Return a description of the machine the figures come from."""
    return {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark at each size, write the JSON and the docs, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_SIZES") or "20000,100000")
    parser.add_argument(
        "--load-seconds", type=float, default=float(os.environ.get("BENCH_LOAD_SECONDS") or 30)
    )
    parser.add_argument(
        "--reuse-index",
        action="store_true",
        default=bool(os.environ.get("BENCH_REUSE_INDEX")),
        help="Serve the index built by SearchIndex.rebuild instead of running "
        "`solveloop index rebuild` again (saves one full rebuild; no CLI rebuild figure).",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="Only re-render the table and the docs."
    )
    parser.add_argument(
        "--skip-debian", action="store_true", help="Leave out the Debian package corpus."
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        log("loading man pages")
        pages = corpus.load_man_pages(SEED)
    version = code_version()
    for size in [] if args.report_only else sizes:
        figures = run_size(size, pages, args.load_seconds, args.reuse_index)
        figures["machine"] = machine()
        figures["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
        figures["code"] = version
        reuse = " BENCH_REUSE_INDEX=1" if args.reuse_index else ""
        figures["command"] = f"make bench BENCH_SIZES={args.sizes}{reuse}"
        (RESULTS / f"bench-{size}.json").write_text(json.dumps(figures, indent=2) + "\n")
        log(f"wrote {RESULTS / f'bench-{size}.json'}")
    if not args.report_only and not args.skip_debian:
        from benchmarks import debian

        log("debian: our search beside FTS5 on this machine's package descriptions")
        try:
            packages = debian.load_packages()
        except debian.CorpusMissing as exc:
            log(f"debian: skipped ({exc})")
        else:
            found = {}
            for size in (10000, 0):
                load = os.getloadavg()
                found[str(size or len(packages))] = {
                    **debian.run(packages, size, debian.QUERIES),
                    "loadavg_before": [round(x, 2) for x in load],
                    "loadavg_after": [round(x, 2) for x in os.getloadavg()],
                }
            found["code"] = version
            (RESULTS / "debian.json").write_text(json.dumps(found, indent=2) + "\n")
    every = {}
    for path in sorted(RESULTS.glob("bench-*.json")):
        data = json.loads(path.read_text())
        every[data["size"]] = data
    summary = {str(size): every[size] for size in sorted(every)}
    (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(render_table(summary))
    debian_path = RESULTS / "debian.json"
    debian_figures = json.loads(debian_path.read_text()) if debian_path.exists() else None
    DOC.write_text(
        update_document(DOC.read_text() if DOC.exists() else "", summary, debian_figures)
    )
    log(f"wrote {DOC}")
    bench = ROOT.parent / "shared" / "bench"
    if not args.report_only and bench.is_dir():
        from benchmarks import peer_quality  # it imports this module's FTS5 helpers

        log("fts5: quality on the public relevance sets")
        peer_quality.main(["--bench", str(bench)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
