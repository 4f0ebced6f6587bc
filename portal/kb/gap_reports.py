"""Knowledge gaps computed in the background and kept with when they were computed.

Grouping the resolved tickets takes one search per uncovered ticket (about 2 s for the
demo desk), too slow for every visit of the admin page. Each period the page offers (all
time, 30, 90, 365 days) has one ``GapReport`` row: the groups the last computation found,
when it started and how long it took. Asking for a computation (the first visit of a
period, or an admin's *Recompute*) marks the row requested and queues the job; the job,
and the minutely task after it as a safety net, compute every requested period. The
command line (``solveloop knowledge gaps``) keeps computing directly.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import JSON, Float, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from articles.models import Base, UTCDateTime, utcnow
from portal.kb.gaps import knowledge_gaps, synonym_groups
from portal.tickets.models import Ticket

log = logging.getLogger(__name__)

PERIODS = (30, 90, 365)
SHOWN = 20  # groups kept per period


class GapReport(Base):
    """The latest knowledge gaps of one period, and whether a new computation is wanted."""

    __tablename__ = "knowledge_gap_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    period: Mapped[str] = mapped_column(String(10), unique=True)  # "all", "30", "90", "365"
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the computation whose groups these are started (the data is as of then).
    computed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # [{"tickets": [ids, largest group first], "representative": id, "title": str}, ...]
    groups: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str] = mapped_column(Text, default="")

    @property
    def pending(self) -> bool:
        """Whether a computation was asked for after the one shown (or none was shown yet)."""
        if self.requested_at is None:
            return False
        return self.computed_at is None or self.requested_at > self.computed_at


def period_key(days: int | None) -> str:
    """Return the report's key for a period in days (None: all time)."""
    return "all" if days is None else str(days)


def report_for(session: Session, days: int | None) -> GapReport | None:
    """Return the stored report of a period, if any."""
    return session.scalar(select(GapReport).where(GapReport.period == period_key(days)))


def request_report(session: Session, days: int | None, now: datetime | None = None) -> GapReport:
    """Mark a period's report as wanted again (creating it); the caller commits and queues
    the job."""
    report = report_for(session, days)
    if report is None:
        report = GapReport(period=period_key(days), seconds=0.0, groups=[], error="")
        session.add(report)
    report.requested_at = now or utcnow()
    return report


@dataclass(frozen=True)
class Computed:
    """What one computation found, when it started and how long it took."""

    groups: list[dict[str, Any]]
    started: datetime
    seconds: float


def compute_groups(session: Session, days: int | None) -> Computed:
    """Compute a period's groups now, reading only (needs the app context, as
    ``knowledge_gaps`` searches the articles' index)."""
    started = utcnow()
    clock = time.perf_counter()
    since = started - timedelta(days=days) if days else None
    found = knowledge_gaps(session, synonym_groups(session), since, limit=SHOWN)
    groups = [
        {
            "tickets": [t.id for t in gap.tickets],
            "representative": gap.representative.id,
            "title": gap.title,
        }
        for gap in found
    ]
    return Computed(groups, started, round(time.perf_counter() - clock, 3))


def store_report(session: Session, days: int | None, computed: Computed) -> GapReport:
    """Keep a computation's groups as the period's report (the caller commits)."""
    report = report_for(session, days)
    if report is None:
        report = GapReport(period=period_key(days), requested_at=None)
        session.add(report)
    report.groups = computed.groups
    report.computed_at = computed.started
    report.seconds = computed.seconds
    report.error = ""
    return report


def days_of(period: str) -> int | None:
    """Return the period in days a report's key stands for (None: all time)."""
    return None if period == "all" else int(period)


def compute_requested(app: Flask) -> int:
    """Compute every period whose report was asked for; return how many were computed.

    The searching happens in a reading session, so no write lock is held meanwhile; the
    result is stored in a short write of its own. A period that fails keeps its old
    groups, records the error and is not retried until someone asks again."""
    with app.extensions["solveloop.sessions"]() as session:
        wanted = [r.period for r in session.scalars(select(GapReport)) if r.pending]
    done = 0
    for period in wanted:
        days = days_of(period)
        try:
            with app.app_context(), app.extensions["solveloop.sessions"]() as reading:
                computed = compute_groups(reading, days)
        except Exception as exc:
            log.exception("computing the knowledge gaps of %s failed", period)
            with app.extensions["solveloop.write_sessions"]() as session:
                report = report_for(session, days)
                if report is not None:
                    report.error = f"{type(exc).__name__}: {exc}"[:500]
                    report.requested_at = None
                    session.commit()
            continue
        with app.extensions["solveloop.write_sessions"]() as session:
            store_report(session, days, computed)
            session.commit()
        done += 1
    return done


@dataclass(frozen=True)
class ShownGap:
    """A stored group with its tickets read again (those gone since are left out)."""

    tickets: tuple[Ticket, ...]
    representative: Ticket
    title: str

    @property
    def size(self) -> int:
        """How many tickets the group holds."""
        return len(self.tickets)


def shown_gaps(session: Session, report: GapReport | None) -> list[ShownGap]:
    """Return a report's groups with their tickets, in the stored order."""
    if report is None:
        return []
    ids = {i for g in report.groups for i in g["tickets"]}
    tickets = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(ids)))}
    shown = []
    for stored in report.groups:
        members = tuple(tickets[i] for i in stored["tickets"] if i in tickets)
        representative = tickets.get(stored["representative"])
        if members and representative is not None:
            shown.append(ShownGap(members, representative, str(stored["title"])))
    return shown
