"""The desk's settings: what each one holds, its default, its check, and saving a change.

A setting is a JSON value under a key. Until an admin saves one, its default applies;
saving records who changed what (old → new) in `setting_changes`, which nobody edits.
Checks raise `InvalidSetting` with a message for the admin, so the settings page, the
CLI and tests refuse the same values for the same reasons.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from articles.models import utcnow
from articles.staleness import DEFAULT_REVIEW_DAYS, MAX_REVIEW_DAYS, ReviewPeriods
from portal.admin.models import Setting, SettingChange
from portal.tickets.workflow import DEFAULT_MATRIX, IMPACTS, URGENCIES

PRIORITIES = ("P1", "P2", "P3", "P4")
WEEKDAYS = (1, 2, 3, 4, 5, 6, 7)  # ISO: Monday is 1
SENDER_POLICIES = ("internal", "create", "reject")
MAX_OVERRIDES = 400
MAX_DOMAINS = 50
MAX_SLA_MINUTES = 1000 * 60
DOMAIN = re.compile(r"^(\*\.)?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
MAILBOX = re.compile(r"^[^@\s<>\"(),;:]{1,64}@[^@\s<>\"(),;:]{1,253}$")


class InvalidSetting(ValueError):
    """A value a setting cannot take; ``message`` says why, in the reader's language."""

    def __init__(self, key: str, message: LazyString | str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


# The service standard's response and resolution targets, in business minutes.
DEFAULT_SLA: dict[str, dict[str, int]] = {
    "P1": {"response": 30, "resolution": 4 * 60},
    "P2": {"response": 2 * 60, "resolution": 8 * 60},
    "P3": {"response": 4 * 60, "resolution": 24 * 60},
    "P4": {"response": 8 * 60, "resolution": 40 * 60},
}

DEFAULT_CALENDAR: dict[str, Any] = {
    "timezone": "Asia/Shanghai",
    "days": [1, 2, 3, 4, 5],
    "start": "09:00",
    "end": "18:00",
    # P1 tickets count every hour of every day when this is on.
    "p1_around_the_clock": False,
    # Dates that differ from the public calendar: {"date", "working", "name"}.
    "overrides": [],
}


def _check_matrix(value: Any) -> dict[str, dict[str, str]]:
    if not isinstance(value, dict) or set(value) != set(IMPACTS):
        raise InvalidSetting("priority_matrix", _l("Give a priority for every scope of impact."))
    matrix: dict[str, dict[str, str]] = {}
    for impact in IMPACTS:
        row = value[impact]
        if not isinstance(row, dict) or set(row) != set(URGENCIES):
            raise InvalidSetting("priority_matrix", _l("Give a priority for every urgency."))
        if any(row[u] not in PRIORITIES for u in URGENCIES):
            raise InvalidSetting("priority_matrix", _l("Each cell must be P1, P2, P3 or P4."))
        matrix[impact] = {u: row[u] for u in URGENCIES}
    return matrix


def _check_sla(value: Any) -> dict[str, dict[str, int]]:
    if not isinstance(value, dict) or set(value) != set(PRIORITIES):
        raise InvalidSetting("sla_targets", _l("Give targets for P1, P2, P3 and P4."))
    targets: dict[str, dict[str, int]] = {}
    for priority in PRIORITIES:
        row = value[priority]
        if not isinstance(row, dict) or set(row) != {"response", "resolution"}:
            raise InvalidSetting(
                "sla_targets", _l("Each priority needs a response and a resolution target.")
            )
        response, resolution = row["response"], row["resolution"]
        if not all(type(v) is int and 0 < v <= MAX_SLA_MINUTES for v in (response, resolution)):
            raise InvalidSetting(
                "sla_targets", _l("Targets are between one minute and 1000 business hours.")
            )
        if response > resolution:
            raise InvalidSetting(
                "sla_targets",
                _l(
                    "%(priority)s: the first response cannot be due after the resolution.",
                    priority=priority,
                ),
            )
        targets[priority] = {"response": response, "resolution": resolution}
    return targets


def _check_clock(text: Any) -> time:
    if not isinstance(text, str) or not re.fullmatch(r"\d\d:\d\d", text):
        raise InvalidSetting("business_calendar", _l("Working hours are written as HH:MM."))
    try:
        return time.fromisoformat(text)
    except ValueError as exc:
        raise InvalidSetting(
            "business_calendar", _l("Working hours are written as HH:MM.")
        ) from exc


def _check_calendar(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != set(DEFAULT_CALENDAR):
        raise InvalidSetting("business_calendar", _l("The calendar is incomplete."))
    zone = value["timezone"]
    try:
        if not isinstance(zone, str) or not zone:
            raise ZoneInfoNotFoundError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidSetting(
            "business_calendar",
            _l(
                "%(zone)s is not a time zone; use a name such as Asia/Shanghai.",
                zone=str(zone)[:60],
            ),
        ) from exc
    days = value["days"]
    if not isinstance(days, list) or not days or any(d not in WEEKDAYS for d in days):
        raise InvalidSetting("business_calendar", _l("Choose at least one working day."))
    start, end = _check_clock(value["start"]), _check_clock(value["end"])
    if start >= end:
        raise InvalidSetting("business_calendar", _l("The working day must end after it starts."))
    overrides = value["overrides"]
    if not isinstance(overrides, list) or len(overrides) > MAX_OVERRIDES:
        raise InvalidSetting(
            "business_calendar", _l("At most %(n)s dates can be overridden.", n=MAX_OVERRIDES)
        )
    seen: dict[str, dict[str, Any]] = {}
    for entry in overrides:
        if not isinstance(entry, dict) or set(entry) != {"date", "working", "name"}:
            raise InvalidSetting(
                "business_calendar", _l("Each date override needs a date and a kind.")
            )
        try:
            day = date.fromisoformat(entry["date"]).isoformat()
        except (TypeError, ValueError) as exc:
            raise InvalidSetting(
                "business_calendar",
                _l("%(date)s is not a date (YYYY-MM-DD).", date=str(entry["date"])[:40]),
            ) from exc
        if type(entry["working"]) is not bool or not isinstance(entry["name"], str):
            raise InvalidSetting(
                "business_calendar", _l("Each date override needs a date and a kind.")
            )
        seen[day] = {"date": day, "working": entry["working"], "name": entry["name"].strip()[:80]}
    return {
        "timezone": zone,
        "days": sorted(set(days)),
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
        "p1_around_the_clock": bool(value["p1_around_the_clock"]),
        "overrides": [seen[d] for d in sorted(seen)],
    }


def _check_auto_close(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= 30:
        raise InvalidSetting("auto_close_days", _l("Auto-close after 1 to 30 business days."))
    return value


def _check_flag(key: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if type(value) is not bool:
            raise InvalidSetting(key, _l("Choose yes or no."))
        return value

    return check


def _check_policy(value: Any) -> str:
    if value not in SENDER_POLICIES:
        raise InvalidSetting("unknown_senders", _l("Choose one of the listed policies."))
    return str(value)


def _check_mailbox(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidSetting("mail_address", _l("Give one e-mail address."))
    address = value.strip().lower()
    if address and (
        len(address) > 254 or not MAILBOX.match(address) or "." not in address.split("@")[1]
    ):
        raise InvalidSetting(
            "mail_address", _l("%(address)s is not an e-mail address.", address=address[:80])
        )
    return address


def _check_domains(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > MAX_DOMAINS:
        raise InvalidSetting("internal_domains", _l("At most %(n)s domains.", n=MAX_DOMAINS))
    domains: list[str] = []
    for raw in value:
        domain = str(raw).strip().lower().rstrip(".")
        if not DOMAIN.match(domain):
            raise InvalidSetting(
                "internal_domains",
                _l(
                    "%(domain)s is not a domain such as corp.example.com or *.example.com.",
                    domain=domain[:80],
                ),
            )
        if domain not in domains:
            domains.append(domain)
    return domains


CATEGORY_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
DEFAULT_REVIEW_PERIODS: dict[str, Any] = {"default": DEFAULT_REVIEW_DAYS, "categories": {}}


def _check_review_days(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= MAX_REVIEW_DAYS:
        raise InvalidSetting(
            "review_periods",
            _l("A review period is 1 to %(n)s days.", n=MAX_REVIEW_DAYS),
        )
    return value


def _check_review_periods(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or set(value) != {"default", "categories"}:
        raise InvalidSetting("review_periods", _l("Give a default and per-category periods."))
    categories = value["categories"]
    if not isinstance(categories, dict) or not all(
        isinstance(slug, str) and CATEGORY_SLUG.match(slug) for slug in categories
    ):
        raise InvalidSetting("review_periods", _l("Unknown category."))
    return {
        "default": _check_review_days(value["default"]),
        "categories": {slug: _check_review_days(d) for slug, d in sorted(categories.items())},
    }


@dataclass(frozen=True)
class Spec:
    """A setting: its default and the check that normalises a new value or refuses it."""

    default: Any
    check: Callable[[Any], Any]


SPECS: dict[str, Spec] = {
    "priority_matrix": Spec(DEFAULT_MATRIX, _check_matrix),
    "sla_targets": Spec(DEFAULT_SLA, _check_sla),
    "business_calendar": Spec(DEFAULT_CALENDAR, _check_calendar),
    "auto_close_days": Spec(3, _check_auto_close),
    "confirmation_reminder": Spec(True, _check_flag("confirmation_reminder")),
    "technicians_can_publish": Spec(False, _check_flag("technicians_can_publish")),
    "unknown_senders": Spec("internal", _check_policy),
    "mail_address": Spec("", _check_mailbox),
    "internal_domains": Spec([], _check_domains),
    "review_periods": Spec(DEFAULT_REVIEW_PERIODS, _check_review_periods),
}


class UnknownSetting(KeyError):
    """No setting has this key."""


def _spec(key: str) -> Spec:
    try:
        return SPECS[key]
    except KeyError as exc:
        raise UnknownSetting(key) from exc


def _default(key: str, defaults: Mapping[str, Any] | None) -> Any:
    # A copy, so that a caller changing the value it got cannot change the built-in default.
    return copy.deepcopy((defaults or {}).get(key, _spec(key).default))


def current(session: Session, defaults: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Return every setting's value: the saved one, else ``defaults``, else the built-in one."""
    values = {key: _default(key, defaults) for key in SPECS}
    for row in session.scalars(select(Setting)):
        if row.key in SPECS:
            values[row.key] = row.value
    return values


def get(session: Session, key: str, defaults: Mapping[str, Any] | None = None) -> Any:
    """Return one setting's value (saved, else ``defaults``, else built in)."""
    _spec(key)
    row = session.get(Setting, key)
    if row is not None:
        return row.value
    return _default(key, defaults)


def change(
    session: Session,
    key: str,
    value: Any,
    actor_id: int | None,
    defaults: Mapping[str, Any] | None = None,
) -> bool:
    """Save a new value for ``key`` and record the change; False when it is unchanged."""
    new = _spec(key).check(value)
    old = get(session, key, defaults)
    if new == old:
        return False
    row = session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        session.add(row)
    row.value, row.updated_at, row.updated_by_id = new, utcnow(), actor_id
    session.add(SettingChange(key=key, old_value=old, new_value=new, actor_id=actor_id))
    session.flush()
    return True


def recorded_changes(session: Session, which: Any, limit: int = 50) -> list[SettingChange]:
    """Return the latest recorded changes matching the condition ``which``, newest first."""
    return list(
        session.scalars(
            select(SettingChange)
            .where(which)
            .options(selectinload(SettingChange.actor))
            .order_by(SettingChange.id.desc())
            .limit(limit)
        ).all()
    )


def history(session: Session, limit: int = 50) -> list[SettingChange]:
    """Return the latest setting changes, newest first, with who made them."""
    return recorded_changes(session, SettingChange.key.in_(SPECS), limit)


def differences(
    old: Any, new: Any, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Any, Any]]:
    """Yield (path, old, new) for each leaf that differs between two setting values."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in list(old) + [k for k in new if k not in old]:
            yield from differences(old.get(key), new.get(key), (*path, str(key)))
    elif old != new:
        yield path, old, new


def review_periods(session: Session) -> ReviewPeriods:
    """Return the articles' review periods: the default and those set per category."""
    return ReviewPeriods.from_setting(get(session, "review_periods"))


def config_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return the defaults the site's configuration sets (instance/config.py, SOLVELOOP_*)."""
    return {"technicians_can_publish": bool(config.get("TECHNICIANS_CAN_PUBLISH", False))}
