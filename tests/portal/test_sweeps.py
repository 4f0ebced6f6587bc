"""The minutely sweep's bulk path: many tickets crossing at once, what each one records,
who is told, what the session shows afterwards, and the indexes its queries use."""

from datetime import timedelta

from sqlalchemy import select, text

from portal.admin import catalogue
from portal.admin.catalogue import Names
from portal.admin.settings import DEFAULT_CALENDAR
from portal.auth.models import Role
from portal.tickets import service
from portal.tickets.models import EventKind, Status, Ticket, TicketEvent
from portal.tickets.notifications import Kind, MailStatus, Notification
from portal.tickets.sla import Calendar, add_business_minutes
from portal.tickets.sweeps import _reminded, _resolved_before, sweep


def _desk(db, make_user, category):
    alice = make_user(username="alice", name="Alice", email="alice@corp.example.com")
    tina = make_user(Role.TECHNICIAN, username="tina", name="Tina", email="tina@corp.example.com")
    tom = make_user(Role.TECHNICIAN, username="tom", name="Tom", email="")
    boss = make_user(Role.ADMIN, username="boss", name="Boss", email="boss@corp.example.com")
    group = catalogue.add_group(db, Names("Network", "网络组"), 1, False, [tina.id, tom.id], None)
    network = category("network")
    catalogue.update_category(db, network, Names(network.name_en, network.name_zh), group.id, None)
    db.commit()
    return alice, tina, tom, boss, network


def _open(db, make_ticket, alice, network, **fields):
    ticket = make_ticket(alice, **fields)
    ticket.category_id = network.id
    service.route(db, ticket)
    db.commit()
    return ticket


def test_a_sweep_over_many_crossing_tickets_records_and_notifies_each_once(
    db, make_user, make_ticket, category
):
    alice, tina, _tom, _boss, network = _desk(db, make_user, category)
    urgent = [
        _open(db, make_ticket, alice, network, urgency="critical", impact="organisation")
        for _ in range(3)
    ]
    routine = _open(db, make_ticket, alice, network)
    service.assign(routine, tina, tina)
    db.commit()
    assert {t.priority for t in urgent} == {"P1"} and routine.priority == "P3"
    calendar = Calendar.from_setting(DEFAULT_CALENDAR)
    latest = max(t.created_at for t in [*urgent, routine])
    # Past the P1 response target (30 min) and at 75% of its resolution target (4 h);
    # the P3 ticket is past 75% of its 4 h response target.
    at = add_business_minutes(calendar, latest, 200)

    swept = sweep(db, at)
    db.commit()

    assert (swept.warnings, swept.breaches) == (4, 3)
    for ticket in urgent:
        # The session's copy shows what the sweep wrote (it was read back).
        alerts = [(e.kind, e.detail["clock"]) for e in ticket.events if e.internal]
        assert alerts == [
            (EventKind.SLA_BREACH, "response"),
            (EventKind.SLA_WARNING, "resolution"),
        ]
        assert all(
            e.actor_id is None and e.detail["priority"] == "P1" for e in ticket.events if e.internal
        )
        assert ticket.updated_at == ticket.events[-1].created_at
        # Next look: the resolution breach, due when the warning said; the nearest
        # deadline is still the missed response.
        assert ticket.sla_check_at.isoformat() == ticket.events[-1].detail["due"]
        assert ticket.sla_due_at.isoformat() == ticket.events[-2].detail["due"]
    db.rollback()
    db.expire_all()
    alerts_only = Notification.kind.in_((Kind.SLA_WARNING, Kind.SLA_BREACH))
    rows = db.scalars(
        select(Notification)
        .where(alerts_only)
        .order_by(Notification.ticket_id, Notification.user_id)
    )
    told = [(n.ticket_id, n.user.username, n.kind, n.mail_status) for n in rows]
    per_urgent = [
        ("tina", Kind.SLA_BREACH, MailStatus.PENDING),
        ("tom", Kind.SLA_BREACH, MailStatus.NONE),  # no mail address: in the app only
        ("boss", Kind.SLA_BREACH, MailStatus.PENDING),  # P1: the admins too
    ]
    expected = [(t.id, *n) for t in urgent for n in sorted(per_urgent, key=_user_order(db))]
    expected += [
        (routine.id, "tina", Kind.SLA_WARNING, MailStatus.PENDING),
        (routine.id, "tom", Kind.SLA_WARNING, MailStatus.NONE),
    ]
    assert told == expected
    for notification in db.scalars(select(Notification).where(alerts_only)):
        assert notification.event.kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACH)
        assert notification.event.ticket_id == notification.ticket_id

    assert sweep(db, at) == type(swept)()  # nothing new to do
    later = sweep(db, at + timedelta(days=7))
    assert (later.warnings, later.breaches) == (0, 5)  # every clock still running


def _user_order(db):
    from portal.auth.models import User

    ids = {u.username: u.id for u in db.scalars(select(User))}
    return lambda row: ids[row[0]]


def test_a_waiting_ticket_in_the_same_sweep_is_left_alone(db, make_user, make_ticket, category):
    alice, tina, _tom, _boss, network = _desk(db, make_user, category)
    running = _open(db, make_ticket, alice, network)
    waiting = _open(db, make_ticket, alice, network)
    service.assign(waiting, tina, tina)
    service.move(waiting, Status.WAITING, tina, body="Which office are you in?")
    db.commit()
    assert waiting.sla_check_at is None and running.sla_check_at is not None

    swept = sweep(db, running.created_at + timedelta(days=30))
    db.commit()

    assert (swept.warnings, swept.breaches) == (0, 2)
    kinds = db.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == waiting.id)).all()
    assert EventKind.SLA_BREACH not in kinds and EventKind.SLA_WARNING not in kinds


def test_the_sweeps_queries_are_served_by_the_status_and_time_indexes(db, make_ticket):
    if db.get_bind().dialect.name != "sqlite":
        return  # the plan is SQLite's; PostgreSQL's depends on its statistics
    from portal.tickets.clocks import RUNNING

    due = (
        select(Ticket.id)
        .where(Ticket.sla_check_at <= text("'2026-12-07'"), Ticket.status.in_(RUNNING))
        .compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    )
    plan = " ".join(str(row) for row in db.execute(text(f"EXPLAIN QUERY PLAN {due}")))
    assert "ix_tickets_status_sla_check_at" in plan
    resolved = (
        select(Ticket.id)
        .where(_resolved_before(text("'2026-12-07'")) & ~_reminded())  # type: ignore[arg-type]
        .compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    )
    plan = " ".join(str(row) for row in db.execute(text(f"EXPLAIN QUERY PLAN {resolved}")))
    assert "ix_tickets_status_resolved_at" in plan
