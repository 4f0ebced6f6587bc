"""Business-hours arithmetic: weekends, holidays, make-up days, DST, pauses, boundaries."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.admin.settings import DEFAULT_CALENDAR
from portal.auth.models import Role
from portal.tickets.models import Status
from portal.tickets.sla import (
    Calendar,
    NoWorkingTime,
    Pause,
    add_business_minutes,
    add_working_days,
    business_minutes,
    due,
    elapsed,
    subtract_business_minutes,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
DESK = Calendar.from_setting(DEFAULT_CALENDAR)


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_the_default_setting_is_mon_to_fri_nine_to_six_in_shanghai():
    assert DESK.zone.key == "Asia/Shanghai"
    assert (DESK.start, DESK.end, DESK.days) == (time(9), time(18), frozenset({1, 2, 3, 4, 5}))


def test_within_one_working_day_business_time_is_clock_time():
    # Monday 7 December 2026.
    assert business_minutes(DESK, sh(2026, 12, 7, 10, 0), sh(2026, 12, 7, 11, 30)) == 90
    assert add_business_minutes(DESK, sh(2026, 12, 7, 10, 0), 30) == sh(2026, 12, 7, 10, 30)


def test_a_ticket_created_outside_hours_starts_counting_at_the_next_opening():
    # Monday 21:00 → Tuesday 09:00 + 2 h.
    assert add_business_minutes(DESK, sh(2026, 12, 7, 21, 0), 120) == sh(2026, 12, 8, 11, 0)
    # Tuesday 06:00, before opening.
    assert add_business_minutes(DESK, sh(2026, 12, 8, 6, 0), 30) == sh(2026, 12, 8, 9, 30)


def test_a_weekend_is_skipped():
    # Friday 11 December 17:00 + 2 h → Monday 14 December 10:00.
    assert add_business_minutes(DESK, sh(2026, 12, 11, 17, 0), 120) == sh(2026, 12, 14, 10, 0)
    assert business_minutes(DESK, sh(2026, 12, 11, 17, 0), sh(2026, 12, 14, 10, 0)) == 120


def test_a_target_that_runs_out_at_closing_time_is_due_at_closing_time():
    assert add_business_minutes(DESK, sh(2026, 12, 7, 9, 0), 9 * 60) == sh(2026, 12, 7, 18, 0)
    assert add_business_minutes(DESK, sh(2026, 12, 7, 18, 0), 1) == sh(2026, 12, 8, 9, 1)
    assert business_minutes(DESK, sh(2026, 12, 7, 18, 0), sh(2026, 12, 8, 9, 0)) == 0


def test_counting_back_skips_nights_weekends_and_holidays():
    # Three business hours before Monday 10:00 is Friday 16:00; at night it is counted from
    # the day's closing time.
    assert subtract_business_minutes(DESK, sh(2026, 12, 14, 10, 0), 180) == sh(2026, 12, 11, 16, 0)
    assert subtract_business_minutes(DESK, sh(2026, 12, 7, 22, 0), 60) == sh(2026, 12, 7, 17, 0)
    assert subtract_business_minutes(DESK, sh(2026, 12, 12, 11, 0), 30) == sh(2026, 12, 11, 17, 30)
    # Exactly a working day back from an opening is the previous opening.
    assert subtract_business_minutes(DESK, sh(2026, 12, 8, 9, 0), 540) == sh(2026, 12, 7, 9, 0)
    # Back over the National Day week (1-7 October 2026 off) to 30 September.
    assert subtract_business_minutes(DESK, sh(2026, 10, 8, 9, 30), 60) == sh(2026, 9, 30, 17, 30)
    # The inverse of counting forward, wherever it starts.
    for start in (sh(2026, 12, 11, 17, 0), sh(2026, 12, 12, 3, 0), sh(2026, 12, 7, 9, 0)):
        for minutes in (1, 59, 540, 2000):
            later = add_business_minutes(DESK, start, minutes)
            back = subtract_business_minutes(DESK, later, minutes)
            assert business_minutes(DESK, back, later) == minutes
    assert subtract_business_minutes(DESK, sh(2026, 12, 7, 10, 0), 0) == sh(2026, 12, 7, 10, 0)
    every_minute = Calendar(zone=SHANGHAI, around_the_clock=True)
    assert subtract_business_minutes(every_minute, sh(2026, 12, 12, 3, 0), 60) == sh(
        2026, 12, 12, 2, 0
    )


def test_public_holidays_are_off_and_make_up_saturdays_are_working_days():
    # National Day 2026: 1–7 October off; Saturday 10 October is the make-up working day.
    assert not DESK.is_working_day(date(2026, 10, 1))
    assert not DESK.is_working_day(date(2026, 10, 5))  # a Monday, still a holiday
    assert DESK.is_working_day(date(2026, 10, 10))  # 国庆节调休
    assert not DESK.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    # Wednesday 30 September 17:00 + 4 h: 1 h that day, then the holiday, resuming Thursday 8th.
    assert add_business_minutes(DESK, sh(2026, 9, 30, 17, 0), 240) == sh(2026, 10, 8, 12, 0)
    # Friday 9 October 17:00 + 2 h: 1 h, then Saturday the 10th at 10:00.
    assert add_business_minutes(DESK, sh(2026, 10, 9, 17, 0), 120) == sh(2026, 10, 10, 10, 0)


def test_the_admins_overrides_win_over_the_weekdays_and_the_holidays():
    calendar = Calendar(
        zone=SHANGHAI, overrides={date(2026, 12, 12): True, date(2026, 12, 14): False}
    )
    assert calendar.is_working_day(date(2026, 12, 12))  # a Saturday made working
    assert not calendar.is_working_day(date(2026, 12, 14))  # a Monday off
    national_day = Calendar(zone=SHANGHAI, overrides={date(2026, 10, 2): True})
    assert national_day.is_working_day(date(2026, 10, 2))


def test_without_public_holidays_only_the_weekdays_count():
    plain = Calendar(zone=SHANGHAI, public_holidays=False)
    assert plain.is_working_day(date(2026, 10, 1))
    assert not plain.is_working_day(date(2026, 10, 10))


def test_a_year_the_holiday_package_does_not_know_yet_falls_back_to_the_weekdays():
    assert DESK.is_working_day(date(2031, 1, 6))  # a Monday
    assert not DESK.is_working_day(date(2031, 1, 4))  # a Saturday


def test_across_a_dst_change_a_working_day_keeps_its_local_hours():
    # New York moves to summer time on Sunday 8 March 2026: Friday 17:00 + 2 h is
    # Monday 10:00 local, 65 hours later on the wall clock but 64 in real time.
    york = Calendar(zone=NEW_YORK, public_holidays=False)
    friday = datetime(2026, 3, 6, 17, 0, tzinfo=NEW_YORK)
    monday = add_business_minutes(york, friday, 120)
    assert monday == datetime(2026, 3, 9, 10, 0, tzinfo=NEW_YORK)
    assert monday - friday == timedelta(hours=64)
    assert business_minutes(york, friday, monday) == 120
    # On the autumn change (1 November) too.
    friday = datetime(2026, 10, 30, 17, 30, tzinfo=NEW_YORK)
    assert add_business_minutes(york, friday, 60) == datetime(2026, 11, 2, 9, 30, tzinfo=NEW_YORK)


def test_around_the_clock_every_minute_counts():
    p1 = Calendar.from_setting(DEFAULT_CALENDAR, around_the_clock=True)
    saturday = sh(2026, 12, 12, 23, 0)
    assert add_business_minutes(p1, saturday, 240) == sh(2026, 12, 13, 3, 0)
    assert business_minutes(p1, saturday, sh(2026, 12, 13, 3, 0)) == 240


def test_a_pause_spanning_days_stops_the_clock():
    start = sh(2026, 12, 7, 16, 0)  # Monday
    # Waiting on the user from Monday 17:00 to Wednesday 10:00.
    pause = Pause(sh(2026, 12, 7, 17, 0), sh(2026, 12, 9, 10, 0))
    # 8 h target: 1 h Monday, then from Wednesday 10:00 another 7 h → 17:00.
    assert due(DESK, start, 480, [pause]) == sh(2026, 12, 9, 17, 0)
    assert elapsed(DESK, start, sh(2026, 12, 9, 11, 0), [pause]) == 120
    # Without the pause the same target was due Tuesday 15:00.
    assert due(DESK, start, 480) == sh(2026, 12, 8, 15, 0)


def test_an_open_pause_holds_the_due_time_and_the_elapsed_time():
    start = sh(2026, 12, 7, 9, 0)
    waiting = Pause(sh(2026, 12, 7, 10, 0))
    assert due(DESK, start, 240, [waiting]) is None
    assert elapsed(DESK, start, sh(2026, 12, 8, 12, 0), [waiting]) == 60


def test_a_target_met_before_a_pause_ignores_it():
    start = sh(2026, 12, 7, 9, 0)
    later = Pause(sh(2026, 12, 7, 15, 0), sh(2026, 12, 8, 15, 0))
    assert due(DESK, start, 30, [later]) == sh(2026, 12, 7, 9, 30)


def test_several_pauses_accumulate_and_a_new_target_reuses_them():
    start = sh(2026, 12, 7, 9, 0)
    pauses = [
        Pause(sh(2026, 12, 7, 10, 0), sh(2026, 12, 7, 11, 0)),
        Pause(sh(2026, 12, 7, 12, 0), sh(2026, 12, 7, 14, 0)),
    ]
    assert due(DESK, start, 240, pauses) == sh(2026, 12, 7, 16, 0)
    # A priority change recomputes from creation with the new target, pauses kept.
    assert due(DESK, start, 8 * 60, pauses) == sh(2026, 12, 8, 11, 0)


def test_a_calendar_without_working_days_says_so():
    never = Calendar(zone=SHANGHAI, days=frozenset(), public_holidays=False)
    with pytest.raises(NoWorkingTime):
        add_business_minutes(never, sh(2026, 12, 7, 9, 0), 30)


def test_the_ticket_page_shows_due_times_that_pause_while_waiting_on_the_user(
    db, client, login, make_user, make_ticket
):
    from portal.tickets import service
    from portal.tickets.clocks import ticket_clocks, waiting_pauses

    requester = make_user()
    tech = make_user(Role.TECHNICIAN)
    ticket = make_ticket(requester)  # P3: 4 h to first response, 24 h to resolution
    clocks = ticket_clocks(db, ticket, ticket.created_at)
    assert clocks["response"].due_at == add_business_minutes(DESK, ticket.created_at, 240)
    assert clocks["resolution"].due_at == add_business_minutes(DESK, ticket.created_at, 1440)

    service.move(ticket, Status.WAITING, db.merge(tech), "Which printer?")
    db.commit()
    (pause,) = waiting_pauses(ticket)
    assert pause.end is None
    clocks = ticket_clocks(db, ticket, ticket.updated_at)
    assert clocks["response"].met_at is not None and not clocks["response"].breached
    assert clocks["resolution"].due_at is None  # held while waiting

    login(requester)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Paused while waiting on the requester" in page
    db.rollback()  # end the read snapshot taken before the request
    service.add_reply(ticket, db.merge(requester), "The one on floor 3.")
    db.commit()
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "business hours left" in page or "overdue by" in page
    zh = client.get(f"/tickets/{ticket.id}", headers={"Accept-Language": "zh-CN"})
    assert "解决期限" in zh.get_data(as_text=True)


def test_working_days_skip_weekends_and_holidays_and_count_make_up_days():
    # Friday 4 December 2026, 10:00 + 3 working days: Wednesday 9 December, 10:00.
    assert add_working_days(DESK, sh(2026, 12, 4, 10, 0), 3) == sh(2026, 12, 9, 10, 0)
    # Resolved Monday 28 September 2026: 1-7 October is the National Day holiday and
    # Saturday 10 October a make-up working day (调休): the 3rd working day is 8 October
    # and the 5th that Saturday.
    assert add_working_days(DESK, sh(2026, 9, 28, 15, 0), 3) == sh(2026, 10, 8, 15, 0)
    assert add_working_days(DESK, sh(2026, 9, 28, 15, 0), 5) == sh(2026, 10, 10, 15, 0)
    never = Calendar(zone=SHANGHAI, days=frozenset(), public_holidays=False)
    with pytest.raises(NoWorkingTime):
        add_working_days(never, sh(2026, 12, 4, 10, 0), 1)


def test_each_commit_stores_the_next_deadline_and_the_sweeps_next_look(db, make_user, make_ticket):
    from portal.tickets import service

    requester = make_user()
    tech = make_user(Role.TECHNICIAN)
    ticket = make_ticket(requester)  # P3: 4 h to first response, 24 h to resolution
    created = ticket.created_at
    assert ticket.sla_due_at == add_business_minutes(DESK, created, 240)
    assert ticket.sla_warn_at == add_business_minutes(DESK, created, 180)
    assert ticket.sla_check_at == ticket.sla_warn_at
    service.set_priority(ticket, "P1", tech, "the whole floor")
    db.commit()
    assert ticket.sla_due_at == add_business_minutes(DESK, created, 30)  # from creation
    service.move(ticket, Status.WAITING, tech, "Which printer?")
    db.commit()
    assert (ticket.sla_due_at, ticket.sla_warn_at, ticket.sla_check_at) == (None, None, None)
    service.add_reply(ticket, requester, "Floor 3.")
    db.commit()
    # The response was met by the question; the resolution clock (P1: 4 h) runs on, later
    # by the time it waited.
    assert ticket.sla_due_at is not None
    assert ticket.sla_due_at >= add_business_minutes(DESK, created, 4 * 60)


def test_changing_the_targets_moves_the_deadlines_of_open_tickets(
    db, client, login, make_user, make_ticket
):
    ticket = make_ticket(make_user())
    before = ticket.sla_due_at
    login(make_user(Role.ADMIN))
    hours = {"P1": ("0.5", "4"), "P2": ("2", "8"), "P3": ("1", "8"), "P4": ("8", "40")}
    form = {
        f"{p}__{t}": h
        for p, pair in hours.items()
        for t, h in zip(("response", "resolution"), pair, strict=True)
    }
    response = client.post("/admin/settings/targets", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    db.rollback()
    db.expire_all()
    assert ticket.sla_due_at == add_business_minutes(DESK, ticket.created_at, 60) != before


def test_the_queue_orders_by_deadline_and_shows_at_risk_and_overdue(
    db, client, login, make_user, make_ticket
):
    from datetime import UTC
    from datetime import datetime as dt

    requester = make_user()
    low = make_ticket(requester, subject="Mouse squeaks", urgency="low")  # P4
    high = make_ticket(
        requester, subject="Server room hot", urgency="critical", impact="organisation"
    )
    late = make_ticket(requester, subject="Old printer jam")
    now = dt.now(UTC)
    # Arrange one ticket at risk and one overdue by their stored times.
    late.sla_warn_at, late.sla_due_at = now - timedelta(hours=2), now - timedelta(hours=1)
    high.sla_warn_at = now - timedelta(minutes=1)
    db.commit()
    login(make_user(Role.TECHNICIAN))
    page = client.get("/queue").get_data(as_text=True)
    assert (
        page.index("Old printer jam") < page.index("Server room hot") < page.index("Mouse squeaks")
    )
    overdue = client.get("/queue?view=breached").get_data(as_text=True)
    assert "Old printer jam" in overdue and "Server room hot" not in overdue
    at_risk = client.get("/queue?view=at_risk").get_data(as_text=True)
    assert "Server room hot" in at_risk and "Old printer jam" not in at_risk
    assert 'class="badge badge-warning"' in at_risk
    by_age = client.get("/queue?sort=age").get_data(as_text=True)
    assert by_age.index("Mouse squeaks") < by_age.index("Old printer jam")
    assert client.get("/queue?sort=nonsense").status_code == 400
    assert low.sla_due_at is not None
