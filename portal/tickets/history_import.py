"""Resolved tickets from another desk's history (CSV or JSON), so knowledge starts from it.

Each row becomes a closed ticket whose record holds typed events at the row's own times:
created (by the requester), the solution recorded and the ticket resolved and closed (by
the desk, at the resolved time). Requesters are found by e-mail or added as contacts
without a usable password. Imported events notify nobody. A row already imported (same
requester, subject and creation time) is skipped, so running an import twice is harmless.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from articles.models import Category, utcnow
from portal.admin import settings
from portal.admin.settings import MAILBOX
from portal.auth.contacts import create_contact
from portal.auth.models import User
from portal.text import clean_text
from portal.tickets.models import Actor, Channel, EventKind, Status, Ticket, TicketEvent
from portal.tickets.workflow import priority_for

REQUIRED = ("subject", "description", "resolution", "created", "resolved", "requester_email")
OPTIONAL = ("category", "requester_name")
COLUMNS = REQUIRED + OPTIONAL
MAX_FILE_BYTES = 50_000_000
MAX_SUBJECT = 200
MAX_TEXT = 20_000
IMPACT, URGENCY = "me", "medium"


class HistoryFileInvalid(ValueError):
    """The file as a whole cannot be read (format, encoding, columns); str() says why."""


class RowInvalid(ValueError):
    """One row cannot be imported; str() says why."""


@dataclass(frozen=True)
class HistoryRow:
    """One resolved ticket as the file gives it, checked."""

    subject: str
    description: str
    resolution: str
    category_id: int | None
    created: datetime
    resolved: datetime
    requester_email: str
    requester_name: str


@dataclass
class RowOutcome:
    """What importing one row did (or would do)."""

    number: int
    ticket_id: int | None = None
    skipped: bool = False
    problem: str = ""


def read_rows(path: Path) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """Return the file's rows with their numbers (CSV: the line, the header being 1; JSON:
    the position from 1) and the columns it has that import ignores."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise HistoryFileInvalid(f"larger than {MAX_FILE_BYTES:,} bytes")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise HistoryFileInvalid("not UTF-8 text") from exc
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json_rows(text)
    if suffix == ".csv":
        return _csv_rows(text)
    raise HistoryFileInvalid("give a .csv or a .json file")


def _check_columns(names: list[str]) -> list[str]:
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise HistoryFileInvalid(f"missing column(s): {', '.join(missing)}")
    return sorted({n for n in names if n not in COLUMNS})


def _csv_rows(text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    if not header:
        raise HistoryFileInvalid("the file is empty")
    ignored = _check_columns(header)
    reader.fieldnames = header
    rows = []
    try:
        for record in reader:
            if None in record:
                rows.append((reader.line_num, {"__error__": "more values than columns"}))
                continue
            if all(not (v or "").strip() for v in record.values()):
                continue
            rows.append((reader.line_num, dict(record)))
    except csv.Error as exc:
        raise HistoryFileInvalid(f"line {reader.line_num}: {exc}") from exc
    return rows, ignored


def _json_rows(text: str) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryFileInvalid(f"not valid JSON (line {exc.lineno})") from exc
    if isinstance(data, dict) and isinstance(data.get("tickets"), list):
        data = data["tickets"]
    if not isinstance(data, list):
        raise HistoryFileInvalid('give a list of tickets, or {"tickets": [...]}')
    names: set[str] = set()
    rows: list[tuple[int, dict[str, Any]]] = []
    for number, item in enumerate(data, start=1):
        if isinstance(item, dict):
            record = {str(k).strip().lower(): v for k, v in item.items()}
            names.update(record)
            rows.append((number, record))
        else:
            rows.append((number, {"__error__": "not an object with the columns as keys"}))
    ignored = sorted(n for n in names if n not in COLUMNS)
    missing = [c for c in REQUIRED if c not in names]
    if rows and missing:
        raise HistoryFileInvalid(f"missing column(s): {', '.join(missing)}")
    return rows, ignored


def _text(record: dict[str, Any], column: str, limit: int, single_line: bool = False) -> str:
    value = record.get(column)
    if value is None:
        return ""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise RowInvalid(f"{column}: give text")
    text = clean_text(str(value), single_line=single_line).strip()
    if len(text) > limit:
        raise RowInvalid(f"{column}: longer than {limit:,} characters")
    return text


def _moment(record: dict[str, Any], column: str, zone: ZoneInfo) -> datetime:
    value = record.get(column)
    if not isinstance(value, str) or not value.strip():
        raise RowInvalid(f"{column}: give a date such as 2026-03-01 or 2026-03-01 14:30")
    raw = value.strip()
    try:
        moment = datetime.fromisoformat(raw.replace("/", "-"))
    except ValueError:
        try:
            day = date.fromisoformat(raw.replace("/", "-"))
        except ValueError as exc:
            raise RowInvalid(f"{column}: {raw[:40]!r} is not a date or time") from exc
        moment = datetime(day.year, day.month, day.day, 12, 0)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)  # the desk's own time zone
    return moment


def check_row(
    record: dict[str, Any], categories: dict[str, int], zone: ZoneInfo, now: datetime
) -> HistoryRow:
    """Return the row checked and normalised; raise RowInvalid naming the first problem."""
    if "__error__" in record:
        raise RowInvalid(str(record["__error__"]))
    subject = _text(record, "subject", MAX_SUBJECT, single_line=True)
    description = _text(record, "description", MAX_TEXT)
    resolution = _text(record, "resolution", MAX_TEXT)
    if not subject:
        raise RowInvalid("subject: empty")
    if not resolution:
        raise RowInvalid("resolution: empty (only resolved tickets are imported)")
    email = _text(record, "requester_email", 200, single_line=True).lower()
    if not MAILBOX.match(email) or "." not in email.rsplit("@", 1)[-1]:
        raise RowInvalid(f"requester_email: {email[:60]!r} is not an e-mail address")
    category_name = _text(record, "category", 120, single_line=True).lower()
    if category_name and category_name not in categories:
        raise RowInvalid(f"category: no category {category_name!r}")
    created = _moment(record, "created", zone)
    resolved = _moment(record, "resolved", zone)
    if resolved < created:
        raise RowInvalid("resolved: before created")
    if resolved > now:
        raise RowInvalid("resolved: in the future")
    return HistoryRow(
        subject=subject,
        description=description or subject,
        resolution=resolution,
        category_id=categories[category_name] if category_name else None,
        created=created,
        resolved=resolved,
        requester_email=email,
        requester_name=_text(record, "requester_name", 120, single_line=True),
    )


def category_names(session: Session) -> dict[str, int]:
    """Return every category by slug and by its English and Chinese names, lower-cased."""
    names: dict[str, int] = {}
    for category in session.scalars(select(Category)):
        for name in (category.slug, category.name_en, category.name_zh):
            names.setdefault(name.strip().lower(), category.id)
    return names


def _requester(session: Session, row: HistoryRow) -> User:
    found = session.scalar(
        select(User).where(func.lower(User.email) == row.requester_email).order_by(User.id)
    )
    if found is not None:
        return found
    return create_contact(session, row.requester_name, row.requester_email)


def _already_imported(session: Session, row: HistoryRow, requester: User) -> bool:
    query = select(Ticket.id).where(
        Ticket.requester_id == requester.id,
        Ticket.subject == row.subject,
        Ticket.created_at == row.created,
    )
    return session.scalar(query) is not None


def _event(
    ticket: Ticket, kind: EventKind, at: datetime, actor: User | None, source: str, **extra: Any
) -> None:
    detail = {"imported": source, **extra.pop("detail", {})}
    ticket.events.append(
        TicketEvent(
            kind=kind,
            actor=Actor.USER if actor is not None else Actor.SYSTEM,
            actor_user=actor,
            detail=detail,
            created_at=at,
            **extra,
        )
    )


def import_row(session: Session, row: HistoryRow, source: str) -> Ticket | None:
    """Create the closed ticket and its record for ``row``; None if it was imported before."""
    requester = _requester(session, row)
    if _already_imported(session, row, requester):
        return None
    matrix = settings.get(session, "priority_matrix")
    ticket = Ticket(
        subject=row.subject,
        symptom=row.description,
        impact=IMPACT,
        urgency=URGENCY,
        priority=priority_for(IMPACT, URGENCY, matrix),
        contact=row.requester_email,
        channel=Channel.IMPORT,
        status=Status.CLOSED,
        category_id=row.category_id,
        requester=requester,
        solution=row.resolution,
        created_at=row.created,
        updated_at=row.resolved,
        first_resolved_at=row.resolved,
        resolved_at=row.resolved,
        closed_at=row.resolved,
    )
    session.add(ticket)
    created = {"channel": Channel.IMPORT.value, "priority": ticket.priority}
    _event(ticket, EventKind.CREATED, row.created, requester, source, detail=created)
    _event(
        ticket,
        EventKind.FIELD_CHANGED,
        row.resolved,
        None,
        source,
        field="solution",
        old_value="",
        new_value=row.resolution,
    )
    for old, new in ((Status.NEW, Status.RESOLVED), (Status.RESOLVED, Status.CLOSED)):
        _event(
            ticket,
            EventKind.STATUS_CHANGED,
            row.resolved,
            None,
            source,
            field="status",
            old_value=old.value,
            new_value=new.value,
        )
    session.flush()
    return ticket


def import_history(
    session: Session, path: Path, dry_run: bool = False
) -> tuple[list[RowOutcome], list[str]]:
    """Import every good row of the file (each in its own savepoint) and commit, or in a
    dry run do it all and roll back; return each row's outcome and the ignored columns."""
    rows, ignored = read_rows(path)
    zone = ZoneInfo(settings.get(session, "business_calendar")["timezone"])
    categories = category_names(session)
    now = utcnow()
    outcomes = []
    for number, record in rows:
        outcome = RowOutcome(number)
        try:
            row = check_row(record, categories, zone, now)
            with session.begin_nested():
                ticket = import_row(session, row, path.name)
            if ticket is None:
                outcome.skipped = True
            else:
                outcome.ticket_id = ticket.id
        except RowInvalid as exc:
            outcome.problem = str(exc)
        outcomes.append(outcome)
    if dry_run:
        session.rollback()
    else:
        session.commit()
    return outcomes, ignored
