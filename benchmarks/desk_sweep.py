"""The service-level sweep over 100k open tickets (issue 14, section 8; target ≤ 2 s).

Usage: python -m benchmarks.desk_sweep [--tickets 100000] [--runs 7] [--share 0.05]

Builds a real migrated SQLite database in a temporary folder and fills it with bulk
inserts: requesters, technicians in support groups, admins, categories routed to the
groups, and open tickets with their events (created, assigned, replies, waiting spans,
the warnings and breaches a minutely sweep would already have recorded) and the stored
deadlines the real code keeps (``clocks.store_deadlines``; a sample is checked against
it). Then it times the worker's sweep (``sweeps.sweep`` and the commit, as
``jobs.run_periodic`` runs it):

* steady state: nothing has crossed a threshold since the last sweep;
* a sweep where ``--share`` of the open tickets crossed a warning or breach threshold
  (the database is restored from a copy before each run).

Writes benchmarks/results/desk-sweep.json and the desk block of docs/performance.md.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import random
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from benchmarks.desk_speed_report import RESULTS, machine, percentiles, write_block
from portal import create_app
from portal.admin.settings import DEFAULT_CALENDAR, DEFAULT_SLA
from portal.auth.models import Role, User
from portal.tickets.clocks import WARNING_SHARE, store_deadlines
from portal.tickets.models import (
    Actor,
    CategoryRoute,
    Channel,
    EventKind,
    Status,
    SupportGroup,
    Ticket,
    TicketEvent,
    group_members,
)
from portal.tickets.sla import (
    Calendar,
    Pause,
    add_working_days,
    due,
    elapsed,
    subtract_business_minutes,
)
from portal.tickets.workflow import DEFAULT_MATRIX, IMPACTS, URGENCIES, priority_for

SEED = 20261207
# A Wednesday, 14:30 in Shanghai: the moment the generated desk stands at.
NOW = datetime(2026, 11, 18, 6, 30, tzinfo=UTC)
# (English, Chinese, members) of the support groups; technicians may be in two.
GROUPS = (
    ("Service desk", "服务台", 12),
    ("Network", "网络组", 6),
    ("Accounts and access", "账号与权限", 5),
    ("Desktop support", "桌面支持", 8),
    ("Business systems", "业务系统组", 7),
    ("Security", "安全组", 4),
)
TECHNICIANS = 36
ADMINS = 3
REQUESTERS = 8000
IN_HOURS = 0.85  # the share of requests made in working hours
IMPACT_WEIGHTS = (70, 20, 8, 2)
URGENCY_WEIGHTS = (30, 45, 20, 5)
STATUS_WEIGHTS = {
    Status.NEW: 10,
    Status.ASSIGNED: 25,
    Status.IN_PROGRESS: 45,
    Status.WAITING: 20,
}
SUBJECTS = (
    "VPN 连不上",
    "Outlook keeps asking for the password",
    "打印机卡纸",
    "Cannot reach the ERP",
    "Wi-Fi 断线",
    "New laptop for a new hire",
    "邮箱满了",
    "Teams camera not working",
)
STAFF_PASSWORD_HASH = "!"  # noqa: S105 - accounts nobody signs in to


def _calendars() -> dict[bool, Calendar]:
    return {
        flag: Calendar.from_setting(DEFAULT_CALENDAR, around_the_clock=flag)
        for flag in (False, True)
    }


def _clock_state(
    calendar: Calendar,
    created: datetime,
    priority: str,
    first_response: datetime | None,
    pauses: list[Pause],
    now: datetime,
) -> dict[str, tuple[datetime | None, datetime | None, float, int]]:
    """Return per clock (due, warn, used, target) of a running ticket, as clocks.py does."""
    out = {}
    for name, met in (("response", first_response), ("resolution", None)):
        minutes = DEFAULT_SLA[priority][name]
        out[name] = (
            due(calendar, created, minutes, pauses),
            due(calendar, created, minutes * WARNING_SHARE, pauses),
            elapsed(calendar, created, met or now, pauses) if met is None else -1.0,
            minutes,
        )
    return out


def _event(ticket_id: int, kind: EventKind, at: datetime, **values: Any) -> dict[str, Any]:
    row = {
        "ticket_id": ticket_id,
        "kind": kind,
        "actor": Actor.SYSTEM,
        "actor_id": None,
        "field": "",
        "old_value": None,
        "new_value": None,
        "detail": {},
        "body": "",
        "internal": False,
        "created_at": at,
    }
    row.update(values)
    return row


def _status(ticket_id: int, at: datetime, old: Status, new: Status, actor: int) -> dict[str, Any]:
    return _event(
        ticket_id,
        EventKind.STATUS_CHANGED,
        at,
        actor=Actor.USER,
        actor_id=actor,
        field="status",
        old_value=old.value,
        new_value=new.value,
    )


def populate(session: Any, tickets: int, rng: random.Random) -> dict[str, Any]:
    """Fill the database; return the counts and the open tickets' sweep checks."""
    calendars = _calendars()
    now = NOW
    session.execute(
        insert(User),
        [
            {
                "username": f"tech{i:02d}",
                "display_name": f"Technician {i:02d}",
                "email": f"tech{i:02d}@corp.example.com",
                "password_hash": STAFF_PASSWORD_HASH,
                "role": Role.TECHNICIAN,
            }
            for i in range(TECHNICIANS)
        ]
        + [
            {
                "username": f"admin{i}",
                "display_name": f"Admin {i}",
                "email": f"admin{i}@corp.example.com",
                "password_hash": STAFF_PASSWORD_HASH,
                "role": Role.ADMIN,
            }
            for i in range(ADMINS)
        ]
        + [
            {
                "username": f"user{i:05d}",
                "display_name": f"用户 {i:05d}" if i % 2 else f"User {i:05d}",
                "email": f"user{i:05d}@corp.example.com",
                "password_hash": STAFF_PASSWORD_HASH,
                "role": Role.USER,
                "locale": "zh" if i % 2 else "en",
            }
            for i in range(REQUESTERS)
        ],
    )
    users = {u.username: u.id for u in session.execute(select(User.username, User.id))}
    techs = [users[f"tech{i:02d}"] for i in range(TECHNICIANS)]
    requesters = [users[f"user{i:05d}"] for i in range(REQUESTERS)]
    session.execute(
        insert(SupportGroup),
        [
            {"name_en": en, "name_zh": zh, "line": 1 if n == 0 else 2, "position": n}
            for n, (en, zh, _size) in enumerate(GROUPS)
        ],
    )
    group_ids = list(session.scalars(select(SupportGroup.id).order_by(SupportGroup.id)))
    members: dict[int, list[int]] = {}
    rows = []
    start = 0
    for gid, (_en, _zh, size) in zip(group_ids, GROUPS, strict=True):
        chosen = [techs[(start + k) % len(techs)] for k in range(size)]
        start += size - 2  # neighbouring groups share two technicians
        members[gid] = chosen
        rows += [{"group_id": gid, "user_id": uid} for uid in chosen]
    session.execute(insert(group_members), rows)
    from articles.models import Category

    categories = list(session.scalars(select(Category.id).order_by(Category.id)))
    session.execute(
        insert(CategoryRoute),
        [
            {"category_id": cid, "group_id": group_ids[n % len(group_ids)]}
            for n, cid in enumerate(categories)
        ],
    )
    route = {cid: group_ids[n % len(group_ids)] for n, cid in enumerate(categories)}

    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    ticket_rows: list[dict[str, Any]] = []
    event_rows: list[dict[str, Any]] = []
    checks: list[datetime] = []
    alerts = 0
    for ticket_id in range(1, tickets + 1):
        impact = rng.choices(IMPACTS, IMPACT_WEIGHTS)[0]
        urgency = rng.choices(URGENCIES, URGENCY_WEIGHTS)[0]
        core = rng.random() < 0.01
        priority = priority_for(impact, urgency, DEFAULT_MATRIX, core)
        status = rng.choices(statuses, weights)[0]
        # Open tickets are mostly days old, a few weeks; most arrive in working hours,
        # the rest at night or at the weekend (their clocks start at the next opening).
        if rng.random() < IN_HOURS:
            worked = min(rng.expovariate(1 / (3 * 9 * 60)), 30 * 9 * 60)
            created = subtract_business_minutes(calendars[False], now, worked)
        else:
            created = now - timedelta(minutes=min(rng.expovariate(1 / (4 * 24 * 60)), 45 * 24 * 60))
        category = rng.choice(categories)
        group = route[category]
        requester = rng.choice(requesters)
        assignee = None if status is Status.NEW else rng.choice(members[group])
        first_response = None
        pauses: list[Pause] = []
        event_rows.append(
            _event(
                ticket_id,
                EventKind.CREATED,
                created,
                actor=Actor.USER,
                actor_id=requester,
                detail={"channel": "web"},
            )
        )
        span = now - created
        if assignee is not None:
            at = created + span * rng.uniform(0.01, 0.2)
            event_rows.append(
                _event(
                    ticket_id,
                    EventKind.FIELD_CHANGED,
                    at,
                    actor=Actor.USER,
                    actor_id=assignee,
                    field="assignee",
                    new_value=assignee,
                )
            )
            event_rows.append(_status(ticket_id, at, Status.NEW, Status.ASSIGNED, assignee))
            previous = Status.ASSIGNED
            if status in (Status.IN_PROGRESS, Status.WAITING) or rng.random() < 0.5:
                first_response = created + span * rng.uniform(0.2, 0.4)
                event_rows.append(
                    _event(
                        ticket_id,
                        EventKind.REPLY,
                        first_response,
                        actor=Actor.USER,
                        actor_id=assignee,
                        body="请问是从什么时候开始的？ When did it start?",
                    )
                )
            if status in (Status.IN_PROGRESS, Status.WAITING):
                at = created + span * rng.uniform(0.4, 0.5)
                event_rows.append(_status(ticket_id, at, previous, Status.IN_PROGRESS, assignee))
                previous = Status.IN_PROGRESS
                if rng.random() < 0.15:  # waited on the user once already
                    began = created + span * rng.uniform(0.5, 0.6)
                    ended = created + span * rng.uniform(0.6, 0.7)
                    event_rows.append(_status(ticket_id, began, previous, Status.WAITING, assignee))
                    event_rows.append(
                        _status(ticket_id, ended, Status.WAITING, previous, requester)
                    )
                    pauses.append(Pause(began, ended))
            if status is Status.WAITING:
                began = created + span * rng.uniform(0.75, 0.95)
                event_rows.append(_status(ticket_id, began, previous, Status.WAITING, assignee))
                pauses.append(Pause(began))
        calendar = calendars[priority == "P1" and DEFAULT_CALENDAR["p1_around_the_clock"]]
        state = _clock_state(calendar, created, priority, first_response, pauses, now)
        running = {
            name: s
            for name, s in state.items()
            if s[0] is not None and not (name == "response" and first_response is not None)
        }
        ticket_checks = []
        for name, (due_at, warn_at, used, target) in running.items():
            assert due_at is not None and warn_at is not None
            share = used / target
            detail = {"clock": name, "due": due_at.isoformat(), "priority": priority}
            if share >= WARNING_SHARE:
                event_rows.append(
                    _event(ticket_id, EventKind.SLA_WARNING, warn_at, internal=True, detail=detail)
                )
                alerts += 1
            if share >= 1:
                event_rows.append(
                    _event(ticket_id, EventKind.SLA_BREACH, due_at, internal=True, detail=detail)
                )
                alerts += 1
            elif share >= WARNING_SHARE:
                ticket_checks.append(due_at)
            else:
                ticket_checks.append(warn_at)
        nearest = min(running.values(), key=lambda s: s[0]) if running else None  # type: ignore[arg-type,return-value]
        check = min(ticket_checks, default=None)
        if check is not None:
            checks.append(check)
        ticket_rows.append(
            {
                "id": ticket_id,
                "subject": rng.choice(SUBJECTS),
                "symptom": "详见附件 / see the screenshot",
                "impact": impact,
                "urgency": urgency,
                "core_system_down": core,
                "priority": priority,
                "channel": rng.choices((Channel.WEB, Channel.EMAIL, Channel.PHONE), (5, 3, 2))[0],
                "status": status,
                "category_id": category,
                "group_id": group,
                "requester_id": requester,
                "assignee_id": assignee,
                "created_at": created,
                "updated_at": now - span * 0.05,
                "first_response_at": first_response,
                "sla_due_at": nearest[0] if nearest else None,
                "sla_warn_at": nearest[1] if nearest else None,
                "sla_check_at": check,
            }
        )
        if len(ticket_rows) >= 5000:
            session.execute(insert(Ticket), ticket_rows)
            session.execute(insert(TicketEvent), event_rows)
            ticket_rows, event_rows = [], []
    if ticket_rows:
        session.execute(insert(Ticket), ticket_rows)
        session.execute(insert(TicketEvent), event_rows)
    resolved = _resolved_tickets(session, tickets, rng, requesters, members, route, calendars)
    session.commit()
    return {"open": tickets, "alerts_recorded": alerts, "checks": checks, **resolved}


def _resolved_tickets(
    session: Any,
    first: int,
    rng: random.Random,
    requesters: list[int],
    members: dict[int, list[int]],
    route: dict[int, int],
    calendars: dict[bool, Calendar],
) -> dict[str, int]:
    """Add resolved tickets waiting for the requester's confirmation (none due at NOW;
    those past the reminder already have it) and closed ones."""
    calendar = calendars[False]
    ticket_rows, event_rows = [], []
    counts = {"resolved": 0, "closed": 0}
    categories = list(route)
    for n in range(first + 1, first + 1 + 3000 + 10000):
        closed = n > first + 3000
        category = rng.choice(categories)
        assignee = rng.choice(members[route[category]])
        if closed:
            resolved_at = NOW - timedelta(days=rng.uniform(3, 60))
        else:
            resolved_at = NOW - timedelta(hours=rng.uniform(1, 2.9 * 24))
            if add_working_days(calendar, resolved_at, 3) <= NOW:
                resolved_at = NOW - timedelta(hours=rng.uniform(1, 20))
        created = resolved_at - timedelta(hours=rng.uniform(1, 30))
        status = Status.CLOSED if closed else Status.RESOLVED
        ticket_rows.append(
            {
                "id": n,
                "subject": rng.choice(SUBJECTS),
                "symptom": "已解决 / fixed",
                "impact": "me",
                "urgency": "medium",
                "priority": "P3",
                "status": status,
                "category_id": category,
                "group_id": route[category],
                "requester_id": rng.choice(requesters),
                "assignee_id": assignee,
                "created_at": created,
                "updated_at": resolved_at,
                "first_response_at": created + timedelta(minutes=30),
                "first_resolved_at": resolved_at,
                "resolved_at": resolved_at,
                "closed_at": resolved_at + timedelta(days=3) if closed else None,
                "diagnosis": "配置错误",
                "solution": "Reset it.",
            }
        )
        event_rows.append(_event(n, EventKind.CREATED, created, detail={"channel": "web"}))
        event_rows.append(_status(n, resolved_at, Status.IN_PROGRESS, Status.RESOLVED, assignee))
        if not closed and add_working_days(calendar, resolved_at, 2) <= NOW:
            event_rows.append(
                _event(
                    n,
                    EventKind.REMINDER_SENT,
                    add_working_days(calendar, resolved_at, 2),
                    detail={"closes": add_working_days(calendar, resolved_at, 3).isoformat()},
                )
            )
        counts["closed" if closed else "resolved"] += 1
    session.execute(insert(Ticket), ticket_rows)
    session.execute(insert(TicketEvent), event_rows)
    return counts


def check_sample(session: Any, rng: random.Random, tickets: int, size: int = 300) -> int:
    """Compare a sample's generated deadlines with what ``store_deadlines`` stores."""
    ids = rng.sample(range(1, tickets + 1), size)
    mismatches = 0
    for ticket in session.scalars(select(Ticket).where(Ticket.id.in_(ids))):
        stored = (ticket.sla_due_at, ticket.sla_warn_at, ticket.sla_check_at)
        store_deadlines(session, ticket, NOW)
        if stored != (ticket.sla_due_at, ticket.sla_warn_at, ticket.sla_check_at):
            mismatches += 1
    session.rollback()
    return mismatches


def _app(path: Path) -> Any:
    return create_app(
        {
            "DATABASE_URL": f"sqlite:///{path / 'portal.sqlite'}",
            "INDEXER_THREAD": False,
            "JOBS_IN_PROCESS": False,
            "SECRET_KEY": "bench-secret",
        },
        instance_path=str(path),
    )


def timed_sweep(app: Any, at: datetime) -> tuple[float, dict[str, int]]:
    """Run the worker's sweep at ``at`` and commit; return the seconds and what it did."""
    from portal.tickets.sweeps import sweep

    started = time.perf_counter()
    with app.extensions["solveloop.write_sessions"]() as session:
        swept = sweep(session, at)
        session.commit()
    seconds = time.perf_counter() - started
    return seconds, {
        "warnings": swept.warnings,
        "breaches": swept.breaches,
        "reminders": swept.reminders,
        "closed": swept.closed,
    }


def run(tickets: int, runs: int, share: float, keep: Path | None = None) -> dict[str, Any]:
    """Build the desk (or reuse the one kept in ``keep``), time the sweeps; return the
    figures."""
    from portal.schema import upgrade

    rng = random.Random(SEED)  # noqa: S311 - test data, not secrets
    work = keep or Path(tempfile.mkdtemp(prefix="desk-sweep-"))
    base = work / "base"
    saved = work / "built.json"
    try:
        if keep is not None and saved.exists() and (base / "portal.sqlite").exists():
            built = json.loads(saved.read_text())
            built["checks"] = [datetime.fromisoformat(c) for c in built["checks"]]
            build_seconds, mismatches = built.pop("build_seconds"), built.pop("mismatches")
        else:
            app = _app(base)
            with app.app_context():
                upgrade(app.extensions["solveloop.engine"])
            from portal.demo import ensure_categories

            started = time.perf_counter()
            with app.extensions["solveloop.write_sessions"]() as session:
                ensure_categories(session)
                session.commit()
                built = populate(session, tickets, rng)
            build_seconds = time.perf_counter() - started
            with app.app_context(), app.extensions["solveloop.write_sessions"]() as session:
                mismatches = check_sample(session, rng, tickets)
            app.extensions["solveloop.engine"].dispose()
            if keep is not None:
                kept = {**built, "build_seconds": build_seconds, "mismatches": mismatches}
                kept["checks"] = [c.isoformat() for c in built["checks"]]
                saved.write_text(json.dumps(kept))
        checks = sorted(built.pop("checks"))
        # Many deadlines fall on the same instant (a weekend's tickets all start counting
        # on Monday at 09:00): the sweep runs at the first check time by which at least
        # ``share`` of the open tickets are due, and the figure says how many were.
        limit = max(int(tickets * share), 1)
        at = checks[min(limit, len(checks)) - 1] if checks else NOW
        crossing = bisect.bisect_right(checks, at)
        print(
            f"built {tickets:,} open tickets in {build_seconds:.1f} s;"
            f" sample mismatches {mismatches}; {crossing:,} due at {at.isoformat()}",
            flush=True,
        )

        steady_app = _app(base)
        steady = []
        steady_did: dict[str, int] = {}
        with steady_app.app_context():
            for _ in range(runs):
                seconds, steady_did = timed_sweep(steady_app, NOW)
                steady.append(seconds * 1000)
        steady_app.extensions["solveloop.engine"].dispose()
        print(f"steady state: {percentiles(steady)} {steady_did}", flush=True)

        crossing_ms = []
        did: dict[str, int] = {}
        for number in range(runs):
            copy = work / f"run{number}"
            copy.mkdir(exist_ok=True)
            shutil.copy(base / "portal.sqlite", copy / "portal.sqlite")
            run_app = _app(copy)
            with run_app.app_context():
                seconds, did = timed_sweep(run_app, at)
            run_app.extensions["solveloop.engine"].dispose()
            shutil.rmtree(copy)
            crossing_ms.append(seconds * 1000)
            print(f"  crossing run {number + 1}: {seconds * 1000:.0f} ms {did}", flush=True)
        print(f"{share:.0%} crossing: {percentiles(crossing_ms)} {did}", flush=True)
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "command": "python -m benchmarks.desk_sweep",
        "machine": machine(),
        "database": "sqlite",
        "data": {
            **built,
            "seed": SEED,
            "now": NOW.isoformat(),
            "groups": len(GROUPS),
            "technicians": TECHNICIANS,
            "admins": ADMINS,
            "requesters": REQUESTERS,
            "build_seconds": round(build_seconds, 1),
            "deadline_sample_mismatches": mismatches,
        },
        "steady_ms": percentiles(steady),
        "steady_did": steady_did,
        "crossing_share": share,
        "crossing_tickets": crossing,
        "crossing_at": at.isoformat(),
        "crossing_ms": percentiles(crossing_ms),
        "crossing_did": did,
        "target_ms": 2000,
    }


def main() -> None:
    """Run the sweep benchmark and write its results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--share", type=float, default=0.05)
    parser.add_argument(
        "--keep", type=Path, default=None, help="Keep the built desk here and reuse it next time."
    )
    args = parser.parse_args()
    os.environ.setdefault("SOLVELOOP_JOBS_IN_PROCESS", "false")
    figures = run(args.tickets, args.runs, args.share, args.keep)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "desk-sweep.json").write_text(
        json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    write_block()


if __name__ == "__main__":
    main()
