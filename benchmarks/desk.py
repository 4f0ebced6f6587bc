"""Service-desk speed (issue 14, section 8): the queue, the ticket page and 50 concurrent
users on generated desks of 100k and 1M tickets.

    python -m benchmarks.desk                    # DESK_SIZES=100000,1000000 by default
    DESK_SIZES=20000 python -m benchmarks.desk   # a quick check
    DESK_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/deskqueue \
        python -m benchmarks.desk                # the same on PostgreSQL
    python -m benchmarks.desk --report-only      # re-render docs/performance.md

The queue and the ticket page are measured in-process through the real app with Flask's
test client (the whole request: routing, login session, queries, template); the load test
runs against gunicorn started by ``solveloop serve``. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from benchmarks import desk_data
from benchmarks.run import (
    CSRF_META,
    Server,
    code_version,
    log,
    machine,
    percentiles,
    request,
    session_cookie,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "performance.md"
PASSWORD = "desk-bench-password-0123"  # noqa: S105 - throwaway accounts on a temporary instance
QUEUE_TARGET_MS = 100
TICKET_TARGET_MS = 50
LOAD_USERS = 50
LOAD_TECHNICIANS = 10
BEGIN, END = "<!-- desk:begin", "<!-- desk:end -->"


def queue_cases(desk: desk_data.Desk) -> list[tuple[str, str]]:
    """Return the queue requests to time: (name, query string)."""
    network = desk.categories["network"]
    security = desk.categories["security"]
    rare = desk.rare_tags[len(desk.rare_tags) // 2]
    cases = [
        ("default view", ""),
        ("all open", "view=open"),
        ("all tickets", "view=all"),
        ("unassigned", "view=unassigned"),
        ("my tickets", "view=mine"),
        ("my groups", "view=my_groups"),
        ("at risk", "view=at_risk"),
        ("overdue", "view=breached"),
        ("resolved and closed", "view=resolved"),
    ]
    cases += [
        (f"status {s}", f"view=all&status={s}")
        for s in ("new", "assigned", "in_progress", "waiting", "resolved", "closed")
    ]
    cases += [(f"all, priority {p}", f"view=all&priority={p}") for p in ("P1", "P2", "P3", "P4")]
    cases += [
        ("open, priority P2", "view=open&priority=P2"),
        ("all, category network", f"view=all&category={network}"),
        ("all, category security", f"view=all&category={security}"),
        ("open, category network", f"view=open&category={network}"),
        ("all, channel phone", "view=all&channel=phone"),
        ("all, channel email", "view=all&channel=email"),
        ("open, channel email", "view=open&channel=email"),
        ("search, rare word", f"view=all&q={rare}"),
        ("search, common word", "view=all&q=vpn"),
        ("search, common Chinese word", f"view=all&q={quote('打印机')}"),
        ("search, two words", f"view=all&q={quote('outlook 密码')}"),
        ("search, common word, open", "view=open&q=vpn"),
        ("search, common word, best match first", "view=all&q=vpn&sort=relevance"),
        (
            "search, two words, best match first",
            f"view=all&q={quote('outlook 密码')}&sort=relevance",
        ),
    ]
    for sort in ("deadline", "priority", "age", "updated"):
        cases.append((f"all, sort {sort}", f"view=all&sort={sort}"))
        cases.append((f"open, sort {sort}", f"view=open&sort={sort}"))
    cases += [
        ("all, sort updated, page 200", "view=all&sort=updated&page=200"),
        ("all, sort age, page 200", "view=all&sort=age&page=200"),
        ("all, priority P3, page 200", "view=all&priority=P3&page=200"),
        ("open, page 20", "view=open&page=20"),
    ]
    return cases


class AppClient:
    """The portal's test client signed in as one user, the way the suite's client works."""

    def __init__(self, app: Any, username: str) -> None:
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        match = CSRF_META.search(page)
        assert match is not None, "no csrf-token on the login page"
        response = self.client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": match.group(1)},
        )
        if response.status_code != 302:
            raise RuntimeError(f"login as {username} failed: HTTP {response.status_code}")

    def timed(self, path: str) -> tuple[float, float]:
        """GET ``path``; return the milliseconds it took, elapsed and of this process's CPU
        (raises unless HTTP 200)."""
        started, cpu = time.perf_counter(), time.process_time()
        response = self.client.get(path)
        response.get_data()
        elapsed = (time.perf_counter() - started) * 1000
        used = (time.process_time() - cpu) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
        return elapsed, used


def timings(samples: list[tuple[float, float]]) -> dict[str, Any]:
    """Return the percentiles of elapsed times, with those of CPU time under ``cpu``."""
    figures = percentiles([wall for wall, _cpu in samples])
    figures["cpu"] = percentiles([cpu for _wall, cpu in samples])
    return figures


def set_passwords(engine: Any, usernames: list[str]) -> None:
    """Give the benchmark's accounts one known password (one hash, written to all)."""
    from sqlalchemy import update

    from portal.auth.models import User

    probe = User(username="x", display_name="x")
    probe.set_password(PASSWORD)
    with engine.begin() as connection:
        connection.execute(
            update(User.__table__)
            .where(User.__table__.c.username.in_(usernames))
            .values(password_hash=probe.password_hash)
        )


def bench_queue(app: Any, desk: desk_data.Desk, repeat: int) -> dict[str, Any]:
    """Return p50/p95 per queue case, as a technician and as an admin."""
    roles = {"technician": AppClient(app, "tech05"), "admin": AppClient(app, "deskadmin")}
    figures: dict[str, Any] = {}
    for name, query in queue_cases(desk):
        path = f"/queue?{query}" if query else "/queue"
        for role, client in roles.items():
            client.timed(path)
            samples = [client.timed(path) for _ in range(repeat)]
            figures.setdefault(name, {"query": query})[role] = timings(samples)
        worst = max(figures[name][r]["p95"] for r in roles)
        log(f"  queue {name}: p95 {worst:.1f} ms")
    worst_p95 = max(figures[n][r]["p95"] for n in figures for r in roles)
    worst_cpu = max(figures[n][r]["cpu"]["p95"] for n in figures for r in roles)
    return {"cases": figures, "worst_p95": worst_p95, "worst_cpu_p95": worst_cpu, "repeat": repeat}


def bench_ticket_page(app: Any, desk: desk_data.Desk, repeat: int) -> dict[str, Any]:
    """Return p50/p95 of the page of tickets with 200 events, as staff and as requester."""
    from sqlalchemy import select

    from portal.auth.models import User
    from portal.tickets.models import Ticket

    tickets = desk.long_tickets[:10]
    with app.extensions["solveloop.sessions"]() as session:
        requester = session.scalars(
            select(User.username)
            .join(Ticket, Ticket.requester_id == User.id)
            .where(Ticket.id == tickets[0])
        ).one()
    set_passwords(app.extensions["solveloop.engine"], [requester])
    out: dict[str, Any] = {"events_per_ticket": desk_data.LONG_HISTORY_EVENTS}
    for role, client, ids in (
        ("technician", AppClient(app, "tech05"), tickets),
        ("requester", AppClient(app, requester), tickets[:1]),
    ):
        for ticket_id in ids:
            client.timed(f"/tickets/{ticket_id}")
        rounds = max(1, repeat * 4 // len(ids))
        samples = [client.timed(f"/tickets/{t}") for _ in range(rounds) for t in ids]
        out[role] = timings(samples)
        log(f"  ticket page as {role}: p95 {out[role]['p95']:.1f} ms")
    return out


class LoadUser:
    """One of the 50 users of the load test: a requester or a technician with a session."""

    def __init__(self, port: int, username: str, staff: bool, seed: int) -> None:
        self.port = port
        self.username = username
        self.staff = staff
        self.random = random.Random(seed)  # noqa: S311 - load-test choices, not secrets
        self.cookie = ""
        self.token = ""
        self.tickets: list[int] = []

    def call(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, str, Any]:
        """Send one request with the session; keep the cookie it sets."""
        body = urllib.parse.urlencode(form) if form is not None else None
        status, page, headers = request(self.port, method, path, body, self.cookie)
        self.cookie = session_cookie(headers, self.cookie)
        return status, page, headers

    def sign_in(self) -> None:
        """Log in and read the CSRF token of the session."""
        status, page, _headers = self.call("GET", "/login")
        match = CSRF_META.search(page)
        if status != 200 or match is None:
            raise RuntimeError("no login page")
        status, _page, _headers = self.call(
            "POST",
            "/login",
            {"username": self.username, "password": PASSWORD, "csrf_token": match.group(1)},
        )
        if status != 302:
            raise RuntimeError(f"login as {self.username}: HTTP {status}")
        _status, page, _headers = self.call("GET", "/")
        found = CSRF_META.search(page)
        if found is None:
            raise RuntimeError("no csrf-token after login")
        self.token = found.group(1)

    def step(self, queue_paths: list[str], open_tickets: list[int]) -> tuple[str, int]:
        """Take one action; return its kind and HTTP status."""
        r = self.random
        roll = r.random()
        if self.staff:
            if roll < 0.6:
                return "queue", self.call("GET", r.choice(queue_paths))[0]
            ticket = r.choice(open_tickets)
            if roll < 0.85:
                return "ticket page", self.call("GET", f"/tickets/{ticket}")[0]
            form = {
                "body": f"Checked again at {time.time():.0f}.",
                "internal": "",
                "csrf_token": self.token,
            }
            return "reply", self.call("POST", f"/tickets/{ticket}/reply", form)[0]
        if roll < 0.3 or not self.tickets:
            form = {
                "subject": r.choice(
                    ["VPN 连接失败", "Printer offline on 3rd floor", "Outlook 一直提示输入密码"]
                ),
                "symptom": "Since this morning it shows an error. 从今天上午开始就不能用。",
                "started": "today",
                "impact": "me",
                "urgency": r.choice(["low", "medium", "high"]),
                "contact": "ext. 3001",
                "category": r.choice(["network", "desktop", "software"]),
                "csrf_token": self.token,
            }
            status, _page, headers = self.call("POST", "/requests/new", form)
            found = re.search(r"/tickets/(\d+)", headers.get("Location") or "")
            if found:
                self.tickets.append(int(found.group(1)))
            return "intake", status
        ticket = r.choice(self.tickets)
        if roll < 0.6:
            form = {"body": "Any news? 有进展吗？", "internal": "", "csrf_token": self.token}
            return "reply", self.call("POST", f"/tickets/{ticket}/reply", form)[0]
        return "own tickets", self.call("GET", r.choice(["/tickets", f"/tickets/{ticket}"]))[0]


def load_test(
    port: int, desk: desk_data.Desk, open_tickets: list[int], requesters: list[str], seconds: float
) -> dict[str, Any]:
    """Run 50 users for ``seconds``; return requests/s, p95 per kind, errors."""
    users = [LoadUser(port, f"tech{n:02d}", True, n) for n in range(LOAD_TECHNICIANS)] + [
        LoadUser(port, name, False, 100 + n) for n, name in enumerate(requesters)
    ]
    errors: list[str] = []
    signed_in = []
    for user in users:
        try:
            user.sign_in()
            signed_in.append(user)
        except (OSError, RuntimeError) as exc:
            errors.append(f"sign-in of {user.username}: {exc!r}"[:200])
    users = signed_in
    cases = queue_cases(desk)
    queue_paths = [f"/queue?{q}" if q else "/queue" for _n, q in cases]
    samples: dict[str, list[float]] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def run(user: LoadUser) -> None:
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                kind, status = user.step(queue_paths, open_tickets)
            except Exception as exc:
                kind, status = "error", 0
                with lock:
                    errors.append(repr(exc)[:200])
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                samples.setdefault(kind, []).append(elapsed)
                if status not in (200, 302):
                    errors.append(f"{kind}: HTTP {status}")
            time.sleep(user.random.uniform(0.5, 3.0))

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(u,)) for u in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    every = [ms for kind in samples.values() for ms in kind]
    return {
        "users": len(users),
        "seconds": round(elapsed, 1),
        "requests": len(every),
        "requests_per_second": round(len(every) / elapsed, 1),
        "all": percentiles(every),
        "by_kind": {kind: percentiles(values) for kind, values in sorted(samples.items())},
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:10],
    }


def bench_load(
    instance: Path, desk: desk_data.Desk, database_url: str, seconds: float
) -> dict[str, Any]:
    """Start ``solveloop serve`` on the desk and run the 50-user load test."""
    from sqlalchemy import create_engine, select

    from portal.auth.models import User
    from portal.tickets.models import Ticket
    from portal.tickets.workflow import OPEN_STATUSES

    engine = create_engine(database_url)
    with engine.connect() as connection:
        open_tickets = list(
            connection.scalars(
                select(Ticket.id)
                .where(Ticket.status.in_(OPEN_STATUSES))
                .order_by(Ticket.id)
                .limit(500)
            )
        )
        # Requesters spread over the directory (the generator deals its busy requesters
        # to accounts at random, so this is an ordinary mix of them).
        everyone = list(
            connection.scalars(
                select(User.username).where(User.username.like("user%")).order_by(User.id)
            )
        )
        step = max(1, len(everyone) // (LOAD_USERS - LOAD_TECHNICIANS))
        requesters = everyone[step // 2 :: step][: LOAD_USERS - LOAD_TECHNICIANS]
    set_passwords(engine, requesters)
    engine.dispose()
    logfile = instance / "serve.log"
    env = {
        "SOLVELOOP_DATABASE_URL": database_url,
        "SOLVELOOP_JOBS_IN_PROCESS": "false",
        "SOLVELOOP_INDEXER_THREAD": "false",
        "SOLVELOOP_LOGIN_RATE_LIMIT": "100000 per minute",
        "SOLVELOOP_ACCOUNT_LOGIN_RATE_LIMIT": "100000 per minute",
    }
    with Server(instance, env, logfile) as server:
        figures = load_test(server.port, desk, open_tickets, requesters, seconds)
    server_log = logfile.read_text(errors="replace")
    figures["database_locked"] = server_log.lower().count("database is locked")
    figures["server_tracebacks"] = server_log.count("Traceback")
    figures["server"] = "solveloop serve (gunicorn, --preload, 2 sync workers)"
    log(
        f"  load: {figures['requests_per_second']} req/s, p95 {figures['all']['p95']} ms, "
        f"{figures['errors']} errors, {figures['database_locked']} 'database is locked'"
    )
    return figures


def _reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def _built_desk(engine: Any, size: int, keep: Path | None, database: Path | None) -> desk_data.Desk:
    """Return a desk of ``size`` tickets in the (migrated) database: generated, or copied
    from ``keep`` where an earlier run left one (SQLite only), then migrated to head."""
    from portal.schema import upgrade

    kept_db = keep / f"desk-{size}.sqlite" if keep else None
    kept_desk = keep / f"desk-{size}.json" if keep else None
    if kept_db and kept_desk and database and kept_db.exists() and kept_desk.exists():
        log(f"{size:,} tickets: copying the desk kept in {keep}")
        engine.dispose()
        shutil.copy(kept_db, database)
        upgrade(engine)
        return desk_data.Desk(**json.loads(kept_desk.read_text()))
    upgrade(engine)
    log(f"{size:,} tickets on {engine.dialect.name}: generating")
    desk = desk_data.build(engine, size)
    if kept_db and kept_desk and database:
        keep.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        engine.dispose()
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        shutil.copy(database, kept_db)
        kept_desk.write_text(json.dumps(asdict(desk)))
    return desk


def run_size(
    size: int, database_url: str | None, repeat: int, load_seconds: float, keep: Path | None
) -> dict[str, Any]:
    """Build a desk of ``size`` tickets and measure it; return the figures."""
    from portal import create_app
    from portal.db import make_engine

    work = Path(tempfile.mkdtemp(prefix=f"desk-{size}-"))
    instance = work / "instance"
    instance.mkdir()
    try:
        database = None if database_url else instance / "portal.sqlite"
        url = database_url or f"sqlite:///{database}"
        if database_url:
            _reset_postgres(database_url)
        engine = make_engine(url)
        started = time.perf_counter()
        desk = _built_desk(engine, size, keep, database)
        set_passwords(engine, ["tech05", "deskadmin", *(f"tech{n:02d}" for n in range(10))])
        engine.dispose()
        log(f"  built in {desk.seconds} s: {desk.rows}")
        load_before = os.getloadavg()
        app = create_app(
            {"DATABASE_URL": url, "INDEXER_THREAD": False, "JOBS_IN_PROCESS": False},
            instance_path=str(instance),
        )
        figures: dict[str, Any] = {
            "size": size,
            "database": engine.dialect.name,
            "build": {
                "seconds": desk.seconds,
                "rows": desk.rows,
                "total_seconds": round(time.perf_counter() - started, 1),
            },
            "client": "Flask test client, in-process (the whole request through the app)",
        }
        figures["queue"] = bench_queue(app, desk, repeat)
        figures["ticket_page"] = bench_ticket_page(app, desk, repeat)
        app.extensions["solveloop.engine"].dispose()
        figures["load"] = (
            bench_load(instance, desk, url, load_seconds) if load_seconds > 0 else None
        )
        figures["load_average"] = {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        }
        figures["machine"] = machine()
        figures["code"] = code_version()
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def result_path(size: int, database: str) -> Path:
    """Return the JSON file of one run."""
    suffix = "" if database == "sqlite" else f"-{database}"
    return RESULTS / f"desk-{size}{suffix}.json"


def _met(value: float, target: float) -> str:
    return f"{_number(value)} (target ≤ {target:g}: {'met' if value <= target else 'missed'})"


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def render(results: list[dict[str, Any]]) -> str:
    """Return the generated block of docs/performance.md for the desk results."""
    results = sorted(results, key=lambda r: (r["database"] != "sqlite", r["database"], r["size"]))
    heads = [f"{r['size']:,} tickets ({r['database']})" for r in results]
    lines = [
        f"{BEGIN} (generated by benchmarks/desk.py from benchmarks/results) -->",
        "Measured by `make bench-desk` (`benchmarks/desk.py`, data from",
        "`benchmarks/desk_data.py`); the raw figures are in `benchmarks/results/desk-<size>.json`.",
        "Queue and ticket page: the Flask test client in-process, each request timed whole",
        "(the worse of technician and admin per row), elapsed time against the target and the",
        "process's CPU time beside it: other work on this shared 2-core machine stretches the",
        "elapsed time (see the load average). Load: 50 users on `solveloop serve` (gunicorn,",
        "2 sync workers), the load generator on the same machine.",
        "",
    ]
    for r in results:
        m = r["machine"]
        lines.append(
            f"- {r['size']:,} tickets on {r['database']}: {m['cpus']} CPUs, Python {m['python']}, "
            f"SQLite {m['sqlite']}, {m['date']}, commit {r['code']['commit'][:10]}; load average "
            f"(1, 5, 15 min) {', '.join(map(str, r['load_average']['before']))} before, "
            f"{', '.join(map(str, r['load_average']['after']))} after; built in "
            f"{r['build']['seconds']:.0f} s ({r['build']['rows']['ticket_events']:,} events, "
            f"{r['build']['rows']['ticket_terms']:,} search terms)."
        )
    lines += ["", "| Figure | " + " | ".join(heads) + " |", "| --- |" + " --- |" * len(results)]
    names = list(dict.fromkeys(n for r in results for n in r["queue"]["cases"]))

    def worst(case: dict[str, Any], key: str, cpu: bool = False) -> float:
        roles = [case[r] for r in ("technician", "admin", "requester") if r in case]
        return float(max((f["cpu"] if cpu else f)[key] for f in roles))

    def figure(case: dict[str, Any] | None, target: float) -> str:
        if case is None:
            return "—"
        return (
            f"{_number(worst(case, 'p50'))} / {_met(worst(case, 'p95'), target)}; "
            f"CPU {_number(worst(case, 'p95', cpu=True))}"
        )

    rows: list[tuple[str, Callable[[dict[str, Any]], str]]] = [
        (
            "Queue, worst p95 of all rows below, ms",
            lambda r: _met(r["queue"]["worst_p95"], QUEUE_TARGET_MS),
        ),
        (
            "Queue, worst CPU p95 of all rows below, ms",
            lambda r: _met(r["queue"]["worst_cpu_p95"], QUEUE_TARGET_MS),
        ),
    ]
    for name in names:
        rows.append(
            (
                f"Queue: {name} — p50 / p95 ms; CPU p95",
                lambda r, n=name: figure(r["queue"]["cases"].get(n), QUEUE_TARGET_MS),
            )
        )
    for role in ("technician", "requester"):
        rows.append(
            (
                f"Ticket page, 200 events, as {role} — p50 / p95 ms; CPU p95",
                lambda r, role=role: figure({role: r["ticket_page"][role]}, TICKET_TARGET_MS),
            )
        )
    rows += [
        (
            "50 users, 2 min: requests/s",
            lambda r: _number(r["load"]["requests_per_second"]) if r["load"] else "—",
        ),
        (
            "50 users: p50 / p95 ms",
            lambda r: (
                f"{_number(r['load']['all']['p50'])} / {_number(r['load']['all']['p95'])}"
                if r["load"]
                else "—"
            ),
        ),
        (
            "50 users: errors",
            lambda r: (
                f"{r['load']['errors']} (target 0: "
                f"{'met' if r['load']['errors'] == 0 else 'missed'})"
                if r["load"]
                else "—"
            ),
        ),
        (
            "50 users: “database is locked” in the log",
            lambda r: (
                f"{r['load']['database_locked']} (target 0: "
                f"{'met' if r['load']['database_locked'] == 0 else 'missed'})"
                if r["load"]
                else "—"
            ),
        ),
    ]
    for label, cell in rows:
        lines.append(f"| {label} | " + " | ".join(cell(r) for r in results) + " |")
    lines.append(END)
    return "\n".join(lines)


def write_docs() -> None:
    """Replace the desk block of docs/performance.md with one rendered from the results."""
    found = (json.loads(p.read_text()) for p in sorted(RESULTS.glob("desk-*.json")))
    # desk-mail.json and desk-sweep.json share the prefix: only the queue runs have a size.
    results = [r for r in found if "size" in r]
    if not results:
        return
    block = render(results)
    doc = DOC.read_text()
    if BEGIN in doc:
        head, rest = doc.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        doc = head + block + tail
    else:
        doc = doc.rstrip("\n") + "\n\n## Service desk\n\n" + block + "\n"
    DOC.write_text(doc)


def main(argv: list[str] | None = None) -> int:
    """Measure each size, write the JSON and the docs block."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=os.environ.get("DESK_SIZES") or "100000,1000000")
    parser.add_argument("--database-url", default=os.environ.get("DESK_DATABASE_URL") or None)
    parser.add_argument("--repeat", type=int, default=int(os.environ.get("DESK_REPEAT") or 12))
    parser.add_argument(
        "--load-seconds", type=float, default=float(os.environ.get("DESK_LOAD_SECONDS") or 120)
    )
    parser.add_argument(
        "--keep",
        type=Path,
        default=Path(os.environ["DESK_KEEP"]) if os.environ.get("DESK_KEEP") else None,
        help="Keep each generated SQLite desk in this folder and reuse it in later runs.",
    )
    parser.add_argument("--report-only", action="store_true")
    args = parser.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    if not args.report_only:
        for size in (int(s) for s in args.sizes.split(",") if s.strip()):
            figures = run_size(size, args.database_url, args.repeat, args.load_seconds, args.keep)
            figures["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
            path = result_path(size, figures["database"])
            path.write_text(json.dumps(figures, indent=1, ensure_ascii=False) + "\n")
            log(f"wrote {path.relative_to(ROOT)}")
    write_docs()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
