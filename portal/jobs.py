"""Background work on Huey: sending mail, service-level sweeps, reminders and auto-close,
and computing the knowledge gaps.

Huey was chosen because it is small, well kept, has an embedded SQLite store (no extra
service for one node) and a Redis store (several nodes), periodic tasks, and a consumer
that runs as its own process (`solveloop worker`, under systemd) or, for the demo, as
threads inside one web process. Web requests only enqueue: a committed notification is
in the database already, so a lost job costs a minute's delay, not a mail (the minutely
task sends whatever is due).

The search indexer is not a job: each node follows the index outbox into its own replica.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import IO, Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.consumer import Consumer

log = logging.getLogger(__name__)


class _InProcessConsumer(Consumer):  # type: ignore[misc]
    """A consumer running as threads of a web process, which keeps its own signals."""

    def _set_signal_handlers(self) -> None:
        return None


def _store(app: Flask) -> Huey:
    url = str(app.config.get("JOBS_URL") or "")
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey("solveloop", url=url)
    path = url.removeprefix("sqlite:///") if url else str(Path(app.instance_path) / "jobs.sqlite")
    return SqliteHuey("solveloop", filename=path)


class Jobs:
    """The app's job queue and its tasks."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.huey = _store(app)
        self.consumer: Consumer | None = None
        self._lock: IO[Any] | None = None
        self._tried_pid: int | None = None

        @self.huey.task(name="deliver_mail")
        def deliver_mail() -> None:
            from portal.tickets.mail_out import deliver_due

            deliver_due(app)

        @self.huey.periodic_task(crontab(minute="*"), name="every_minute")
        def every_minute() -> None:
            run_periodic(app)

        @self.huey.task(name="compute_gaps")
        def compute_gaps() -> None:
            from portal.kb.gap_reports import compute_requested

            compute_requested(app)

        @self.huey.periodic_task(crontab(hour="3", minute="15"), name="nightly")
        def nightly() -> None:
            refresh_gaps(app)

        self.deliver_mail = deliver_mail
        self.every_minute = every_minute
        self.compute_gaps = compute_gaps
        self.nightly = nightly

    def poke_mail(self) -> None:
        """Ask for the due mail to be sent soon (the minutely task would anyway)."""
        try:
            self.deliver_mail()
        except Exception:
            log.exception("enqueueing the mail job failed")

    def poke_gaps(self) -> None:
        """Ask for the requested knowledge gaps to be computed soon (the minutely task
        would anyway)."""
        try:
            self.compute_gaps()
        except Exception:
            log.exception("enqueueing the knowledge gaps job failed")

    def consumer_for(self, workers: int = 2) -> Consumer:
        """Return a consumer for this queue (the worker command runs it)."""
        return self.huey.create_consumer(workers=workers, worker_type="thread")

    def start_in_process(self) -> bool:
        """Run the consumer as threads of this process if no other process of this
        instance does (a lock file decides); return whether this process runs it."""
        if self.consumer is not None or self._tried_pid == os.getpid():
            return self.consumer is not None
        self._tried_pid = os.getpid()
        handle = (Path(self.app.instance_path) / "jobs.lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._lock = handle
        consumer = _InProcessConsumer(self.huey, workers=1, worker_type="thread")
        consumer.start()
        self.consumer = consumer
        return True

    def stop(self) -> None:
        """Stop an in-process consumer and release its lock."""
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
            self.consumer = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def run_periodic(app: Flask) -> None:
    """Do what is due every minute: service-level warnings and breaches, confirmation
    reminders and auto-close, then the mail that is due (including what those caused)."""
    from portal.kb.gap_reports import compute_requested
    from portal.tickets.mail_out import deliver_due
    from portal.tickets.sweeps import sweep

    with app.extensions["solveloop.write_sessions"]() as session:
        sweep(session)
        session.commit()
    deliver_due(app)
    compute_requested(app)  # knowledge gaps asked for whose job was lost


def refresh_gaps(app: Flask) -> int:
    """Compute again every knowledge-gaps period that was computed before; return how many."""
    from sqlalchemy import select

    from portal.kb.gap_reports import GapReport, compute_requested, days_of, request_report

    with app.extensions["solveloop.write_sessions"]() as session:
        for period in list(session.scalars(select(GapReport.period))):
            request_report(session, days_of(period))
        session.commit()
    return compute_requested(app)


def jobs_of(app: Flask) -> Jobs:
    """Return ``app``'s job queue."""
    jobs: Jobs = app.extensions["solveloop.jobs"]
    return jobs


def _ensure_consumer() -> None:
    jobs_of(current_app).start_in_process()


def init_app(app: Flask) -> None:
    """Create the job queue; with JOBS_IN_PROCESS, one web process also consumes it."""
    jobs = Jobs(app)
    app.extensions["solveloop.jobs"] = jobs
    if app.config["JOBS_IN_PROCESS"]:
        app.before_request(_ensure_consumer)
