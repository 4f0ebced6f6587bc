"""Notifications: who is told what, mail through a real SMTP server on loopback, retries,
mail choices, the in-app list, the minutely sweeps, and the rating link."""

from __future__ import annotations

import mailbox
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal.admin import catalogue
from portal.admin.catalogue import Names
from portal.auth.models import Role
from portal.jobs import jobs_of
from portal.tickets import service, threading
from portal.tickets.mail_out import deliver_due, rating_token
from portal.tickets.models import EventKind, Status, Ticket
from portal.tickets.notifications import Kind, MailStatus, Notification
from portal.tickets.sweeps import sweep


class Inbox:
    """An SMTP handler that keeps what it receives, or refuses with a given reply."""

    def __init__(self) -> None:
        self.messages: list = []
        self.refuse: str | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, parsed))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(app_config, smtp):
    return {
        **app_config,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": smtp.port,
        "MAIL_FROM": "servicedesk@corp.example.com",
        "PUBLIC_URL": "https://help.example.com",
    }


@pytest.fixture
def desk(db, make_user, category):
    """A requester with a mail address, two technicians in the network group, an admin."""
    alice = make_user(username="alice", name="Alice", email="alice@corp.example.com")
    tina = make_user(Role.TECHNICIAN, username="tina", name="Tina", email="tina@corp.example.com")
    tom = make_user(Role.TECHNICIAN, username="tom", name="Tom", email="tom@corp.example.com")
    boss = make_user(Role.ADMIN, username="boss", name="Boss", email="boss@corp.example.com")
    group = catalogue.add_group(db, Names("Network", "网络组"), 1, False, [tina.id, tom.id], None)
    network = category("network")
    catalogue.update_category(db, network, Names(network.name_en, network.name_zh), group.id, None)
    db.commit()
    return {"alice": alice, "tina": tina, "tom": tom, "boss": boss, "network": network}


def notices(db, ticket=None):
    db.rollback()
    db.expire_all()
    query = select(Notification).order_by(Notification.id)
    if ticket is not None:
        query = query.where(Notification.ticket_id == ticket.id)
    return [(n.user.username, n.kind) for n in db.scalars(query)]


def file_request(client, login, desk, subject="VPN drops every hour"):
    login(desk["alice"])
    response = client.post(
        "/requests/new",
        {
            "subject": subject,
            "symptom": "The VPN disconnects every hour.",
            "started": "yesterday",
            "impact": "me",
            "urgency": "medium",
            "contact": "ext. 1234",
            "category": "network",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:400]
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def test_each_step_tells_the_right_people_and_never_the_one_who_acted(
    client, login, make_client, db, desk
):
    ticket_id = file_request(client, login, desk)
    ticket = db.get(Ticket, ticket_id)
    assert sorted(notices(db, ticket)) == [
        ("alice", Kind.RECEIVED),
        ("tina", Kind.NEW_IN_GROUP),
        ("tom", Kind.NEW_IN_GROUP),
    ]
    tech = login(desk["tina"], on=make_client())
    tech.post(f"/tickets/{ticket_id}/take", {})
    tech.post(f"/tickets/{ticket_id}/status", {"status": "waiting", "body": "Which office?"})
    tech.post(f"/tickets/{ticket_id}/note", {"body": "Probably the Shanghai gateway."})
    client.post(f"/tickets/{ticket_id}/reply", {"body": "The Shanghai office."})
    new = notices(db, ticket)[3:]
    # Waiting sends one mail (the question), not a reply mail too; the note tells no one;
    # Tina is not told of her own take; Alice's answer goes to her assignee only.
    assert new == [("alice", Kind.WAITING), ("tina", Kind.USER_REPLIED)]


def test_mail_goes_through_smtp_in_the_readers_language_and_is_recorded(
    client, login, app, db, desk, smtp
):
    desk["alice"].locale = "zh_CN"
    db.commit()
    ticket_id = file_request(client, login, desk, subject="VPN 断线\r\nBcc: evil@example.net")
    done = deliver_due(app)
    assert (done.sent, done.failed) == (3, 0)
    to_alice = next(m for rcpt, m in smtp.messages if rcpt == ["alice@corp.example.com"])
    assert to_alice["Subject"].startswith(f"[#{ticket_id}] ")
    assert "我们已收到您的请求" in to_alice["Subject"]
    assert "Bcc" not in to_alice and "evil@example.net" not in str(to_alice["To"])
    assert to_alice["Auto-Submitted"] == "auto-generated"
    assert threading.signed_ticket(to_alice["Message-ID"], app.config["SECRET_KEY"]) == ticket_id
    text = to_alice.get_body(("plain",)).get_content()
    html = to_alice.get_body(("html",)).get_content()
    assert f"https://help.example.com/tickets/{ticket_id}" in text
    assert "P3" in text and "4" in text  # the priority and its response target in hours
    assert "&lt;" not in text and "<h1" in html
    to_tina = next(m for rcpt, m in smtp.messages if rcpt == ["tina@corp.example.com"])
    assert "New P3 ticket for your group" in to_tina["Subject"]
    db.rollback()
    db.expire_all()
    ticket = db.get(Ticket, ticket_id)
    sent = [e for e in ticket.events if e.kind is EventKind.NOTIFICATION_SENT]
    assert len(sent) == 3 and all(e.internal for e in sent)
    assert {n.mail_status for n in db.scalars(select(Notification))} == {MailStatus.SENT}
    assert deliver_due(app).sent == 0  # nothing is sent twice


def test_a_later_mail_threads_onto_the_earlier_one(client, login, make_client, app, db, desk, smtp):
    ticket_id = file_request(client, login, desk)
    deliver_due(app)
    tech = login(desk["tina"], on=make_client())
    tech.post(f"/tickets/{ticket_id}/reply", {"body": "Try the other gateway."})
    deliver_due(app)
    to_alice = [m for rcpt, m in smtp.messages if rcpt == ["alice@corp.example.com"]]
    assert len(to_alice) == 2
    assert to_alice[1]["In-Reply-To"] == to_alice[0]["Message-ID"]
    assert "Try the other gateway." in to_alice[1].get_body(("plain",)).get_content()


def test_an_unreachable_server_is_retried_with_backoff_then_marked_failed(
    client, login, app, db, desk, smtp
):
    app.config["SMTP_PORT"] = _free_port()  # nothing listens there
    file_request(client, login, desk)
    now = datetime.now(UTC)
    done = deliver_due(app, now)
    assert (done.sent, done.retrying) == (0, 3)
    db.rollback()
    db.expire_all()
    first = db.scalars(select(Notification)).first()
    assert first.mail_status is MailStatus.PENDING and first.attempts == 1
    assert first.next_attempt_at == now + timedelta(minutes=1)
    assert "ConnectionRefusedError" in first.last_error
    assert deliver_due(app, now).retrying == 0  # not due yet
    for minutes in (2, 10, 30, 120, 400, 1500):
        deliver_due(app, now + timedelta(minutes=minutes) * 3)
    db.rollback()
    db.expire_all()
    assert {n.mail_status for n in db.scalars(select(Notification))} == {MailStatus.FAILED}
    ticket = db.scalars(select(Ticket)).one()
    assert any(e.kind is EventKind.NOTIFICATION_FAILED for e in ticket.events)


def test_a_refused_message_fails_at_once_and_an_admin_can_send_it_again(
    client, login, make_client, app, db, desk, smtp
):
    smtp.refuse = "550 mailbox unavailable"
    file_request(client, login, desk)
    assert deliver_due(app).failed == 3
    admin = login(desk["boss"], on=make_client())
    page = admin.get("/admin/mail?status=failed").get_data(as_text=True)
    assert "550 mailbox unavailable" in page
    db.rollback()
    failed = db.scalars(select(Notification)).first()
    assert admin.post(f"/admin/mail/{failed.id}/retry", {}).status_code == 302
    smtp.refuse = None
    assert deliver_due(app).sent == 1
    user = login(desk["alice"], on=make_client())
    assert user.get("/admin/mail").status_code == 403


def test_without_an_smtp_host_mail_lands_in_the_instance_mailbox(client, login, app, db, desk):
    app.config["SMTP_HOST"] = ""
    file_request(client, login, desk)
    assert deliver_due(app).sent == 3
    box = mailbox.Maildir(Path(app.instance_path) / "mailbox", create=False)
    subjects = sorted(str(m["Subject"]) for m in box)
    assert len(subjects) == 3 and all("VPN drops every hour" in s for s in subjects)


def test_people_switch_off_optional_mails_but_not_the_ones_that_ask_them_to_act(
    client, login, make_client, app, db, desk
):
    login(desk["alice"])
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert 'value="waiting" checked disabled' in page
    response = client.post("/notifications/settings", {"mail": ["received", "closed"]})
    assert response.status_code == 302
    db.rollback()
    db.expire_all()
    assert sorted(desk["alice"].mail_off) == ["reply"]  # waiting etc. cannot be switched off
    assert client.post("/notifications/settings", {"mail": ["sla_breach"]}).status_code == 422
    ticket_id = file_request(client, login, desk)
    tech = login(desk["tina"], on=make_client())
    tech.post(f"/tickets/{ticket_id}/reply", {"body": "Looking into it."})
    tech.post(f"/tickets/{ticket_id}/status", {"status": "waiting", "body": "Which office?"})
    db.rollback()
    db.expire_all()
    mails = {
        n.kind: n.mail_status
        for n in db.scalars(select(Notification).where(Notification.user_id == desk["alice"].id))
    }
    assert mails == {
        Kind.RECEIVED: MailStatus.PENDING,
        Kind.REPLY: MailStatus.NONE,  # in the app only
        Kind.WAITING: MailStatus.PENDING,
    }


def test_the_in_app_list_counts_unread_and_is_private(client, login, make_client, db, desk):
    ticket_id = file_request(client, login, desk)
    page = client.get("/notifications").get_data(as_text=True)
    assert "request received" in page and f"#{ticket_id}" in page
    assert 'class="badge badge-danger" aria-label="1 unread">1<' in page
    db.rollback()
    mine = db.scalars(select(Notification).where(Notification.user_id == desk["alice"].id)).one()
    theirs = db.scalars(select(Notification).where(Notification.user_id == desk["tina"].id)).one()
    assert client.get(f"/notifications/{theirs.id}").status_code == 404
    opened = client.get(f"/notifications/{mine.id}")
    assert opened.headers["Location"].endswith(f"/tickets/{ticket_id}")
    assert 'aria-label="1 unread"' not in client.get("/notifications").get_data(as_text=True)
    zh = client.get("/notifications", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "通知" in zh


def test_service_level_warning_and_breach_are_recorded_once_and_go_to_group_and_admins(
    db, desk, make_ticket
):
    ticket = make_ticket(desk["alice"], urgency="critical", impact="organisation")
    ticket.category_id = desk["network"].id
    service.route(db, ticket)
    db.commit()
    assert ticket.priority == "P1"
    created = ticket.created_at
    # P1 responds within 30 business minutes: 25 minutes in is 83%.
    calendar_now = _working_instant(created, minutes=25)
    swept = sweep(db, calendar_now)
    db.commit()
    assert (swept.warnings, swept.breaches) == (1, 0)
    assert sweep(db, calendar_now).warnings == 0  # once only
    later = _working_instant(created, minutes=31)
    assert sweep(db, later).breaches == 1
    db.commit()
    told = notices(db, ticket)
    assert ("boss", Kind.SLA_BREACH) in told and ("tina", Kind.SLA_WARNING) in told
    kinds = [e.kind for e in ticket.events]
    assert kinds.count(EventKind.SLA_WARNING) == 1 and kinds.count(EventKind.SLA_BREACH) == 1


def test_a_ticket_waiting_on_the_user_gets_no_warning(db, desk, make_ticket):
    ticket = make_ticket(desk["alice"], urgency="critical", impact="organisation")
    service.assign(ticket, desk["tina"], desk["tina"])
    service.move(ticket, Status.WAITING, desk["tina"], body="Which office?")
    db.commit()
    kinds = [e.kind for e in ticket.events]
    assert EventKind.SLA_PAUSED in kinds
    swept = sweep(db, ticket.created_at + timedelta(days=30))
    assert (swept.warnings, swept.breaches) <= (0, 1)  # the response was met by the question
    assert not any(
        e.kind in (EventKind.SLA_WARNING, EventKind.SLA_BREACH)
        and e.detail.get("clock") == "resolution"
        for e in ticket.events
    )


def _working_instant(start: datetime, minutes: int) -> datetime:
    """Return ``minutes`` business minutes after ``start`` on the default calendar."""
    from portal.admin.settings import DEFAULT_CALENDAR
    from portal.tickets.sla import Calendar, add_business_minutes

    return add_business_minutes(Calendar.from_setting(DEFAULT_CALENDAR), start, minutes)


def _resolved(db, desk, make_ticket) -> Ticket:
    ticket = make_ticket(desk["alice"])
    service.record_resolution(ticket, desk["tina"], "Stale profile.", "", "Recreated it.")
    db.commit()
    return ticket


def test_an_unconfirmed_fix_is_reminded_then_closed_and_the_mail_link_rates_it(
    app, client, db, desk, make_ticket, smtp
):
    from portal.admin.settings import DEFAULT_CALENDAR
    from portal.tickets.sla import Calendar, add_working_days

    ticket = _resolved(db, desk, make_ticket)
    calendar = Calendar.from_setting(DEFAULT_CALENDAR)
    two_days = add_working_days(calendar, ticket.resolved_at, 2)
    assert sweep(db, two_days - timedelta(minutes=1)).reminders == 0
    assert sweep(db, two_days).reminders == 1
    db.commit()
    assert sweep(db, two_days + timedelta(hours=1)).reminders == 0
    three_days = add_working_days(calendar, ticket.resolved_at, 3)
    assert sweep(db, three_days).closed == 1
    db.commit()
    assert ticket.status is Status.CLOSED
    assert [k for _u, k in notices(db, ticket)][-2:] == [Kind.REMINDER, Kind.CLOSED]
    deliver_due(app)
    closing = [m for rcpt, m in smtp.messages if "rate" in m.get_body(("plain",)).get_content()]
    link = next(
        line.split()[-1]
        for line in closing[-1].get_body(("plain",)).get_content().splitlines()
        if "/rate?token=" in line
    )
    path = link.removeprefix("https://help.example.com")
    form = client.get(path)
    assert form.status_code == 200 and 'name="score"' in form.get_data(as_text=True)
    token = path.split("token=")[1]
    done = client.post(
        f"/tickets/{ticket.id}/rate", {"score": "4", "comment": "Quick.", "token": token}
    )
    assert done.status_code == 200 and "Thank you" in done.get_data(as_text=True)
    again = client.post(f"/tickets/{ticket.id}/rate", {"score": "1", "comment": "", "token": token})
    assert "4 of 5" in again.get_data(as_text=True)
    db.rollback()
    db.expire_all()
    assert ticket.rating == 4
    rated = [e for e in ticket.events if e.kind is EventKind.RATED]
    assert len(rated) == 1 and rated[0].detail == {"score": 4, "via": "mail"}


def test_a_forged_or_foreign_rating_token_is_refused(app, client, db, desk, make_ticket):
    ticket = _resolved(db, desk, make_ticket)
    service.confirm_fix(ticket, desk["alice"])
    db.commit()
    other = make_ticket(desk["alice"], subject="Another")
    token = rating_token(app, other)
    refused = client.get(f"/tickets/{ticket.id}/rate?token={token}")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]
    assert client.get(f"/tickets/{ticket.id}/rate?token=nonsense").status_code == 302


def test_the_requester_rates_from_the_ticket_page(client, login, db, desk, make_ticket):
    ticket = _resolved(db, desk, make_ticket)
    login(desk["alice"])
    client.post(f"/tickets/{ticket.id}/confirm", {})
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Rate our service" in page
    assert (
        client.post(
            f"/tickets/{ticket.id}/rate", {"score": "9", "comment": "", "token": ""}
        ).status_code
        == 422
    )
    done = client.post(f"/tickets/{ticket.id}/rate", {"score": "5", "comment": "", "token": ""})
    assert done.status_code == 302
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Rated 5 of 5." in page and "rated the service 5 of 5" in page


def test_the_in_process_consumer_sends_a_new_tickets_mail_on_its_own(
    app, client, login, db, desk, smtp
):
    jobs = jobs_of(app)
    assert jobs.start_in_process()
    try:
        file_request(client, login, desk)
        deadline = time.monotonic() + 20
        while len(smtp.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(smtp.messages) == 3
    finally:
        jobs.stop()


def test_the_worker_command_sends_what_the_web_queued_and_stops_on_ctrl_c(
    app, client, login, db, desk, smtp, database_url
):
    file_request(client, login, desk)  # the web process queued the mail job
    env = {
        **os.environ,
        "SOLVELOOP_DATABASE_URL": database_url,
        "SOLVELOOP_SECRET_KEY": app.config["SECRET_KEY"],
        "SOLVELOOP_SMTP_HOST": "127.0.0.1",
        "SOLVELOOP_SMTP_PORT": str(smtp.port),
    }
    worker = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "solveloop"),
            "--instance",
            app.instance_path,
            "worker",
            "--no-index",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(smtp.messages) < 3 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(smtp.messages) == 3
    finally:
        worker.send_signal(signal.SIGINT)
        output, _ = worker.communicate(timeout=30)
    assert worker.returncode == 0, output
    assert "Worker stopped." in output


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_a_redis_job_queue_carries_the_mail_job(app_config, tmp_path, smtp):
    from huey import RedisHuey

    from portal import create_app

    queue = f"redis://127.0.0.1:6379/{(os.getpid() % 8) + 8}"
    application = create_app({**app_config, "JOBS_URL": queue}, str(tmp_path / "redis-instance"))
    jobs = jobs_of(application)
    assert isinstance(jobs.huey, RedisHuey)
    jobs.huey.flush()
    jobs.poke_mail()
    assert jobs.huey.pending_count() == 1
    assert jobs.start_in_process()
    try:
        deadline = time.monotonic() + 10
        while jobs.huey.pending_count() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert jobs.huey.pending_count() == 0
    finally:
        jobs.stop()
        jobs.huey.flush()
        application.extensions["solveloop.engine"].dispose()


def test_the_service_levels_page_publishes_the_targets_in_both_languages(client):
    page = client.get("/service-levels").get_data(as_text=True)
    assert "0.5 business hours" in page and "40 business hours" in page
    assert "Monday, Tuesday, Wednesday, Thursday, Friday" in page and "09:00–18:00" in page
    zh = client.get("/service-levels", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "服务级别" in zh and "0.5 个工作小时" in zh and "星期一" in zh


def test_a_reply_to_a_notification_threads_back_and_the_notification_itself_is_not_taken_in(
    app, client, login, db, desk, smtp, database_url, tmp_path
):
    from email.message import EmailMessage

    from click.testing import CliRunner

    from portal.cli import main

    ticket_id = file_request(client, login, desk)
    deliver_due(app)
    sent = next(m for rcpt, m in smtp.messages if rcpt == ["alice@corp.example.com"])
    env = {
        "SOLVELOOP_DATABASE_URL": database_url,
        "SOLVELOOP_INDEXER_THREAD": "false",
        "SOLVELOOP_SECRET_KEY": app.config["SECRET_KEY"],
    }
    instance = str(tmp_path / "mail-instance")
    # Our own mail coming back (an alias loop) is machine-made: ignored, nothing added.
    looped = CliRunner().invoke(
        main, ["--instance", instance, "mail-in"], input=sent.as_bytes(), env=env
    )
    assert looped.exit_code == 0, looped.output
    reply = EmailMessage()
    reply["From"] = "Alice <alice@corp.example.com>"
    reply["To"] = "servicedesk@corp.example.com"
    reply["Subject"] = "Re: " + str(sent["Subject"])
    reply["Message-ID"] = "<reply-1@corp.example.com>"
    reply["In-Reply-To"] = sent["Message-ID"]
    reply.set_content("It happens on the home Wi-Fi only.\n\nOn Monday the desk wrote:\n> old text")
    answered = CliRunner().invoke(
        main, ["--instance", instance, "mail-in"], input=reply.as_bytes(), env=env
    )
    assert answered.exit_code == 0, answered.output
    db.rollback()
    db.expire_all()
    ticket = db.get(Ticket, ticket_id)
    replies = [e for e in ticket.events if e.kind is EventKind.REPLY]
    assert [(e.actor_id, e.body) for e in replies] == [
        (desk["alice"].id, "It happens on the home Wi-Fi only.")
    ]
    # The group hears of the requester's mail (no one is assigned yet).
    assert {("tina", Kind.USER_REPLIED), ("tom", Kind.USER_REPLIED)} <= set(notices(db, ticket))
