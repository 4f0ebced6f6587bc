"""Business-hours arithmetic for service levels: how much business time lies between two
instants, and when a target counted in business minutes falls due.

A ``Calendar`` says which local days are working days (the desk's weekdays, China's
public holidays and make-up working days (调休) from the ``chinese_calendar`` package,
then the admin's date overrides, which win) and the working hours of those days in the
desk's time zone. All instants are aware datetimes; the results are too. A calendar "around
the clock" (P1 when the admin says so) counts every minute.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

# A due time is looked for at most this far ahead (a calendar with no working day at all
# would otherwise search forever).
HORIZON_DAYS = 3 * 366


class NoWorkingTime(ValueError):
    """The calendar has no working time within the horizon."""


@dataclass(frozen=True)
class Calendar:
    """Working days and hours in a time zone, with public holidays and overrides."""

    zone: ZoneInfo
    days: frozenset[int] = frozenset({1, 2, 3, 4, 5})  # ISO weekdays
    start: time = time(9, 0)
    end: time = time(18, 0)
    overrides: Mapping[date, bool] = field(default_factory=dict)  # True: working
    around_the_clock: bool = False
    public_holidays: bool = True
    # The working hours of each local date looked up so far (the holiday package's lookup
    # is slow, and a sweep asks for the same few weeks thousands of times).
    _hours: dict[date, tuple[datetime, datetime] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _working: dict[date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    @classmethod
    def from_setting(cls, value: Mapping[str, Any], around_the_clock: bool = False) -> Calendar:
        """Build a calendar from the ``business_calendar`` setting's value."""
        return cls(
            zone=ZoneInfo(value["timezone"]),
            days=frozenset(value["days"]),
            start=time.fromisoformat(value["start"]),
            end=time.fromisoformat(value["end"]),
            overrides={
                date.fromisoformat(o["date"]): bool(o["working"]) for o in value["overrides"]
            },
            around_the_clock=around_the_clock,
        )

    def is_working_day(self, day: date) -> bool:
        """Return whether ``day`` (a local date) is a working day."""
        known = self._working.get(day)
        if known is None:
            known = self._working[day] = self._looked_up(day)
        return known

    def _looked_up(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if self.public_holidays:
            try:
                off, name = chinese_calendar.get_holiday_detail(day)
            except NotImplementedError:  # a year the package has no schedule for yet
                name = None
            if name is not None:
                # A named day is either a public holiday or the working day made up for it.
                return not off
        return day.isoweekday() in self.days

    def hours(self, day: date) -> tuple[datetime, datetime] | None:
        """Return the working hours of a local date as UTC instants, or None on a day off.

        Times that a DST change skips or repeats resolve as ``zoneinfo`` does (fold=0).
        """
        if day in self._hours:
            return self._hours[day]
        hours: tuple[datetime, datetime] | None = None
        if self.is_working_day(day):
            begin = datetime.combine(day, self.start, self.zone).astimezone(UTC)
            finish = datetime.combine(day, self.end, self.zone).astimezone(UTC)
            hours = (begin, finish) if finish > begin else None
        self._hours[day] = hours
        return hours

    def intervals(self, since: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield the working intervals from ``since`` on, in order (the first one clipped)."""
        if self.around_the_clock:
            yield since, since + timedelta(days=HORIZON_DAYS)
            return
        day = since.astimezone(self.zone).date()
        for offset in range(-1, HORIZON_DAYS):
            hours = self.hours(day + timedelta(days=offset))
            if hours is None or hours[1] <= since:
                continue
            yield max(hours[0], since), hours[1]


def _minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def business_minutes(calendar: Calendar, start: datetime, end: datetime) -> float:
    """Return the business minutes between two instants (0 when ``end`` is not later)."""
    total = 0.0
    if end <= start:
        return total
    for begin, finish in calendar.intervals(start):
        if begin >= end:
            break
        total += _minutes(min(finish, end) - begin)
    return total


def add_business_minutes(calendar: Calendar, start: datetime, minutes: float) -> datetime:
    """Return the instant ``minutes`` business minutes after ``start``.

    A target that runs out exactly at the end of a working day is due then, not at the
    next day's opening.
    """
    remaining = timedelta(minutes=minutes)
    if remaining <= timedelta(0):
        return start
    for begin, finish in calendar.intervals(start):
        if finish - begin >= remaining:
            return begin + remaining
        remaining -= finish - begin
    raise NoWorkingTime("no working time within the horizon")


def subtract_business_minutes(calendar: Calendar, end: datetime, minutes: float) -> datetime:
    """Return the instant ``minutes`` business minutes before ``end`` (a request that is
    three business hours old on a Monday morning came in on Friday afternoon)."""
    remaining = timedelta(minutes=minutes)
    if remaining <= timedelta(0):
        return end
    if calendar.around_the_clock:
        return end - remaining
    day = end.astimezone(calendar.zone).date()
    for offset in range(-1, HORIZON_DAYS):
        hours = calendar.hours(day - timedelta(days=offset))
        if hours is None or hours[0] >= end:
            continue
        finish = min(hours[1], end)
        if finish - hours[0] >= remaining:
            return finish - remaining
        remaining -= finish - hours[0]
    raise NoWorkingTime("no working time within the horizon")


@dataclass(frozen=True)
class Pause:
    """A span the clock stood still (waiting on the user); ``end`` None: still paused."""

    begin: datetime
    end: datetime | None = None


def elapsed(
    calendar: Calendar, start: datetime, now: datetime, pauses: Iterable[Pause] = ()
) -> float:
    """Return the business minutes the clock has run from ``start`` to ``now``."""
    total = business_minutes(calendar, start, now)
    for pause in pauses:
        begin = max(pause.begin, start)
        end = min(pause.end or now, now)
        total -= business_minutes(calendar, begin, end)
    return max(total, 0.0)


def due(
    calendar: Calendar, start: datetime, minutes: float, pauses: Iterable[Pause] = ()
) -> datetime | None:
    """Return when a target of ``minutes`` business minutes from ``start`` falls due, the
    clock standing still in each pause; None while an open pause holds it."""
    remaining = float(minutes)
    cursor = start
    for pause in sorted(pauses, key=lambda p: p.begin):
        if pause.end is not None and pause.end <= cursor:
            continue
        if pause.begin > cursor:
            running = business_minutes(calendar, cursor, pause.begin)
            if running >= remaining:
                return add_business_minutes(calendar, cursor, remaining)
            remaining -= running
        if pause.end is None:
            return None
        cursor = max(cursor, pause.end)
    return add_business_minutes(calendar, cursor, remaining)


def add_working_days(calendar: Calendar, start: datetime, days: int) -> datetime:
    """Return the same local time ``days`` working days after ``start`` (a resolution
    confirmed for 3 working days from Friday 10:00 closes on Wednesday 10:00)."""
    local = start.astimezone(calendar.zone)
    day = local.date()
    counted = 0
    for _ in range(HORIZON_DAYS):
        if counted >= days:
            break
        day += timedelta(days=1)
        counted += calendar.is_working_day(day)
    else:
        raise NoWorkingTime("no working day within the horizon")
    return datetime.combine(day, local.timetz().replace(tzinfo=None), calendar.zone).astimezone(UTC)
