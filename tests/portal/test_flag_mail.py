"""A reader's flag reaches the article's owner by mail too, through the desk's one mail path
(real SMTP on loopback), in the owner's language, unless they switched it off."""

import socket
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal.auth.models import Role
from portal.jobs import jobs_of
from portal.tickets import threading
from portal.tickets.mail_out import deliver_due
from portal.tickets.models import TicketEvent
from portal.tickets.notifications import Kind, MailStatus, Notification


class Inbox:
    """An SMTP handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
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
def people(make_user):
    return {
        "owner": make_user(
            Role.TECHNICIAN, username="lina", name="Lina", email="lina@corp.example.com"
        ),
        "reader": make_user(username="alice", name="Alice", email="alice@corp.example.com"),
        "admin": make_user(Role.ADMIN, username="chief", name="Chief", email="c@corp.example.com"),
    }


@pytest.fixture
def article(make_article, people, db):
    made = make_article(title="OA 密码重置 Reset the OA password")
    made.owner_id = people["owner"].id
    db.commit()
    return made


def _flag(client, article, kind="outdated", comment="新版 OA 的入口变了 <script>alert(1)</script>"):
    response = client.post(f"/articles/{article.id}/flag", {"kind": kind, "comment": comment})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def test_a_flag_mails_the_owner_in_english_through_smtp_and_is_listed_as_sent(
    app, article, people, login, make_client, db, smtp
):
    jobs = jobs_of(app)
    jobs.huey.flush()
    _flag(login(people["reader"]), article)
    assert jobs.huey.pending_count() == 1  # the flag asked the mail job at once
    done = deliver_due(app)
    assert (done.sent, done.failed) == (1, 0)
    [(rcpt, mail)] = smtp.messages
    assert rcpt == ["lina@corp.example.com"]
    assert mail["Subject"] == (
        "A reader says your article is outdated: OA 密码重置 Reset the OA password"
    )
    assert "[#" not in mail["Subject"]
    assert threading.signed_ticket(mail["Message-ID"], app.config["SECRET_KEY"]) is None
    assert mail["Auto-Submitted"] == "auto-generated" and "In-Reply-To" not in mail
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "新版 OA 的入口变了 <script>alert(1)</script>" in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    assert f"https://help.example.com/articles/{article.id}" in text
    assert f"https://help.example.com/review-queue#article-{article.id}" in html
    assert "Still correct" in text
    db.rollback()
    db.expire_all()
    notice = db.scalars(select(Notification)).one()
    assert (notice.kind, notice.mail_status, notice.attempts) == (
        Kind.ARTICLE_FLAGGED,
        MailStatus.SENT,
        1,
    )
    assert notice.ticket_id is None and notice.check.comment.startswith("新版 OA")
    assert db.scalars(select(TicketEvent)).all() == []  # no ticket to record it on
    admin = login(people["admin"], make_client())
    listing = admin.get("/admin/mail").get_data(as_text=True)
    assert "a reader flagged your article" in listing and f"/articles/{article.id}" in listing
    shown = admin.get(f"/admin/mail/{notice.id}")
    assert shown.status_code == 200 and "A reader says your article is outdated" in shown.get_data(
        as_text=True
    )
    assert deliver_due(app).sent == 0  # nothing is sent twice


def test_the_owner_reads_it_in_chinese_and_a_wrong_flag_says_so(
    app, article, people, login, db, smtp
):
    owner = db.merge(people["owner"])
    owner.locale = "zh_CN"
    db.commit()
    _flag(login(people["reader"]), article, kind="wrong", comment="第二步写错了")
    deliver_due(app)
    [(_, mail)] = smtp.messages
    assert mail["Subject"] == "有读者认为您的文章有错误：OA 密码重置 Reset the OA password"
    text = mail.get_body(("plain",)).get_content()
    assert "您是这篇文章的负责人" in text and "第二步写错了" in text and "您待检查的文章" in text


def test_an_owner_who_switched_it_off_is_told_in_the_app_only(
    app, article, people, login, make_client, db, smtp
):
    owner = login(people["owner"], make_client())
    choices = owner.get("/notifications/settings").get_data(as_text=True)
    assert 'value="article_flagged"' in choices
    owner.post("/notifications/settings", {"mail": ["new_in_group"]})
    _flag(login(people["reader"]), article)
    assert deliver_due(app).sent == 0 and smtp.messages == []
    db.rollback()
    db.expire_all()
    notice = db.scalars(select(Notification)).one()
    assert notice.mail_status is MailStatus.NONE
    assert "a reader flagged your article" in owner.get("/notifications").get_data(as_text=True)


def test_a_requester_has_no_article_mail_to_choose(people, login, make_client):
    reader = login(people["reader"], make_client())
    assert 'value="article_flagged"' not in reader.get("/notifications/settings").get_data(
        as_text=True
    )
