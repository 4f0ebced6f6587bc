"""Search reports: what readers searched for and did not find, or found and did not open."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Integer, case, func, select
from sqlalchemy.orm import Session

from portal.kb.models import SearchLog

# Days a report may look back over.
PERIODS = (7, 30, 90)
DEFAULT_PERIOD = 30
REPORT_ROWS = 20


@dataclass(frozen=True)
class SearchGap:
    """One query as logged (redacted, capped), lower-cased: how often it was searched since
    the report's start, how many of those searches opened a result, and when it last was."""

    query: str
    searches: int
    opened: int
    last: datetime


def unanswered_searches(session: Session, since: datetime) -> list[SearchGap]:
    """Return readers' searches since ``since`` that found nothing, most frequent first."""
    return _gaps(session, since, found=False)


def unopened_searches(session: Session, since: datetime) -> list[SearchGap]:
    """Return readers' searches since ``since`` that found articles but mostly opened none
    (fewer than half of the searches), the most searches without an opened result first."""
    return _gaps(session, since, found=True)


def _gaps(session: Session, since: datetime, found: bool) -> list[SearchGap]:
    # Staff search to check articles; the reports are about what readers could not find.
    query = func.lower(SearchLog.query)
    searches = func.count()
    opened = func.sum(case((SearchLog.clicked_article_id.is_not(None), 1), else_=0), type_=Integer)
    last = func.max(SearchLog.created_at)
    stmt = (
        select(query, searches, opened, last)
        .where(
            SearchLog.created_at >= since,
            SearchLog.staff.is_(False),
            SearchLog.results > 0 if found else SearchLog.results == 0,
        )
        .group_by(query)
        .order_by((searches - opened).desc(), last.desc())
        .limit(REPORT_ROWS)
    )
    if found:
        stmt = stmt.having(opened * 2 < searches)
    return [
        SearchGap(str(text), int(n), int(seen or 0), moment)
        for text, n, seen, moment in session.execute(stmt)
    ]
