"""The demo's service desk: tickets of every status and channel, lived through in business
time by the real use cases, sweep and mail job, whenever the demo is built."""

import json
import mailbox
from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import select

from portal.admin import settings
from portal.demo import load_demo
from portal.demo.desk import TICKETS
from portal.tickets.models import Actor, Channel, EventKind, Status, Ticket, TicketEvent
from portal.tickets.notifications import MailStatus, Notification
from portal.tickets.sla import Calendar, business_minutes

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday afternoon, a Monday night, a Saturday, and the morning after the National Day week.
BUILT = {
    "weekday": datetime(2026, 12, 7, 15, 30, tzinfo=SHANGHAI),
    "night": datetime(2026, 12, 7, 23, 10, tzinfo=SHANGHAI),
    "weekend": datetime(2026, 12, 12, 11, 0, tzinfo=SHANGHAI),
    "after-holiday": datetime(2026, 10, 8, 9, 20, tzinfo=SHANGHAI),
}


def build(app, db, when):
    with time_machine.travel(when, tick=False):
        load_demo(app)
    db.rollback()
    db.expire_all()
    return list(db.scalars(select(Ticket).order_by(Ticket.id)))


@pytest.mark.parametrize("moment", BUILT)
def test_the_demo_has_clocks_on_track_at_risk_breached_and_paused_whenever_it_is_built(
    app, db, moment
):
    now = BUILT[moment].astimezone(UTC)
    tickets = build(app, db, BUILT[moment])
    assert {t.status for t in tickets} == set(Status)
    # Every channel a request arrives by (imported history is loaded, not played).
    assert {t.channel for t in tickets} == set(Channel) - {Channel.IMPORT}
    running = [t for t in tickets if t.sla_due_at is not None]
    breached = [t for t in running if t.sla_due_at <= now]
    at_risk = [t for t in running if t.sla_warn_at <= now < t.sla_due_at]
    on_track = [t for t in running if now < t.sla_warn_at]
    assert len(breached) >= 2 and len(at_risk) >= 2 and len(on_track) >= 2
    paused = [t for t in tickets if t.status is Status.WAITING]
    assert paused and all(t.sla_due_at is None for t in paused)
    # People worked in business hours only, however late or early the demo was built.
    calendar = Calendar.from_setting(settings.get(db, "business_calendar"))
    people = db.scalars(
        select(TicketEvent).where(
            TicketEvent.actor != Actor.SYSTEM, TicketEvent.kind != EventKind.NOTIFICATION_SENT
        )
    ).all()
    for event in people:
        hours = calendar.hours(event.created_at.astimezone(SHANGHAI).date())
        assert hours and hours[0] <= event.created_at <= hours[1], (event.kind, event.created_at)
    assert max(t.created_at for t in tickets) <= now
    # The oldest request is as many business minutes old as its script says.
    oldest = max(json.loads(TICKETS.read_text(encoding="utf-8")), key=lambda e: e["age"])
    first = min(t.created_at for t in tickets)
    assert business_minutes(calendar, first, now) == pytest.approx(oldest["age"])


def test_the_sweep_recorded_its_events_and_requests_came_by_mail_and_phone(app, db):
    tickets = build(app, db, BUILT["weekday"])
    events = db.scalars(select(TicketEvent).order_by(TicketEvent.id)).all()
    kinds = {e.kind for e in events}
    assert {
        EventKind.SLA_WARNING,
        EventKind.SLA_BREACH,
        EventKind.SLA_PAUSED,
        EventKind.REMINDER_SENT,
        EventKind.AUTO_CLOSED,
        EventKind.USER_REOPENED,
        EventKind.RATED,
        EventKind.FOLLOWED_UP,
    } <= kinds
    for event in events:
        if event.kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACH):
            assert event.actor is Actor.SYSTEM and event.internal
            # Within a minute of the moment the clock passed the mark, as the sweep does.
            assert event.created_at.second == 0
    assert [t.rating for t in tickets if t.rating] and all(
        t.status is Status.CLOSED for t in tickets if t.rating
    )
    # Mail came in through mail intake and threaded by the desk's signed Message-ID.
    by_mail = [t for t in tickets if t.channel is Channel.EMAIL]
    assert len(by_mail) >= 3
    created = [t.events[0] for t in by_mail]
    assert all(e.actor is Actor.EMAIL and e.detail["message_id"] for e in created)
    assert any("follows" in e.detail for e in created)
    replies = db.scalars(
        select(TicketEvent).where(
            TicketEvent.kind == EventKind.REPLY, TicketEvent.actor == Actor.EMAIL
        )
    ).all()
    assert replies and all(r.actor_id == r.ticket.requester_id for r in replies)
    # Quoted history and the signature were trimmed by mail intake.
    assert all("wrote:" not in r.body for r in replies)
    phoned = [t for t in tickets if t.channel is Channel.PHONE]
    assert phoned and all(t.recorded_by is not None and t.recorded_by.is_staff for t in phoned)
    assert all(t.first_response_at == t.created_at for t in phoned)


def test_the_demo_mailbox_holds_every_notification_with_the_dates_they_were_sent(app, db):
    build(app, db, BUILT["night"])
    notifications = db.scalars(select(Notification)).all()
    assert notifications
    assert not [n for n in notifications if n.mail_status is MailStatus.PENDING]
    sent = [n for n in notifications if n.mail_status is MailStatus.SENT]
    box = mailbox.Maildir(app.instance_path + "/mailbox", create=False)
    messages = [message_from_bytes(box.get_bytes(key), policy=default) for key in box.iterkeys()]
    assert len(messages) == len(sent) > 20
    ids = {str(m["Message-ID"]) for m in messages}
    assert ids == {n.message_id for n in sent}
    dates = {m["Date"].datetime for m in messages}
    assert len(dates) > 10  # sent as the days went by, not all at the end
    chinese = [m for m in messages if "zhang.wei@" in str(m["To"])]
    assert chinese and all("工单" in str(m["Subject"]) or "#" in str(m["Subject"]) for m in chinese)
