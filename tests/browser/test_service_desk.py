"""The service desk end to end in a real headless Chromium: a request routed to its group,
a technician's question and fix, the mail through a real SMTP server, the user's
confirmation and rating; then the Chinese timeline of a ticket that went through it all."""

import re
import socket
from datetime import timedelta
from email import message_from_bytes, policy
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from portal.admin import catalogue
from portal.admin.catalogue import Names
from portal.auth.models import Role
from portal.tickets import service
from portal.tickets.mail_out import deliver_due
from portal.tickets.models import EventKind, Status, Ticket
from portal.tickets.sweeps import sweep

# The live server and Chromium of the core loop test, shared rather than copied.
from tests.browser.test_core_loop import browser, live_server, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


class Inbox:
    """An SMTP handler that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        self.messages.append((envelope.rcpt_tos, parsed))
        return "250 OK"

    def to(self, address):
        """Return the messages sent to ``address``, oldest first."""
        return [m for rcpt, m in self.messages if address in rcpt]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp():
    """A real SMTP server on loopback."""
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
    }


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def link_in(message, pattern) -> str:
    match = re.search(pattern, text_of(message))
    assert match, text_of(message)
    return match.group(0)


def test_a_request_is_routed_answered_fixed_confirmed_from_the_mail_and_rated(
    app,
    live_server,  # noqa: F811
    browser,  # noqa: F811
    db,
    make_user,
    category,
    smtp,
):
    base = live_server
    app.config["PUBLIC_URL"] = base  # the links in the mail lead to this server
    make_user(username="ann", name="Ann Lee", email="ann.lee@corp.example.com")
    tina = make_user(
        Role.TECHNICIAN, username="tina", name="Tina Tech", email="tina@corp.example.com"
    )
    make_user(Role.TECHNICIAN, username="otto", name="Otto Other", email="otto@corp.example.com")
    group = catalogue.add_group(
        db, Names("Desktop support", "桌面支持组"), 1, True, [tina.id], None
    )
    desktop = category("desktop")
    catalogue.update_category(db, desktop, Names(desktop.name_en, desktop.name_zh), group.id, None)
    db.commit()
    errors = []
    user_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    tech_page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    for page in (user_page, tech_page):
        page.on("pageerror", lambda e: errors.append(str(e)))

    # The user files a request.
    sign_in(user_page, base, "ann")
    user_page.goto(f"{base}/requests/new")
    user_page.fill("input[name=subject]", "Docking station does not charge the laptop")
    user_page.keyboard.press("Escape")
    user_page.fill(
        "textarea[name=symptom]", "Since this morning the dock no longer charges my laptop."
    )
    user_page.fill("input[name=started]", "this morning")
    user_page.select_option("select[name=category]", "desktop")
    user_page.fill("input[name=contact]", "ext. 4411")
    user_page.click("form[action$='/requests/new'] button[type=submit]")
    user_page.wait_for_url("**/tickets/*")
    ticket_id = int(user_page.url.rstrip("/").rsplit("/", 1)[1])
    assert deliver_due(app).sent >= 2  # the receipt, and the group's member hears of it
    [receipt] = smtp.to("ann.lee@corp.example.com")
    assert f"[#{ticket_id}]" in str(receipt["Subject"])

    # It went to the category's group, which gave it to its member.
    sign_in(tech_page, base, "tina")
    tech_page.goto(f"{base}/tickets/{ticket_id}")
    details = tech_page.locator("dl.details").inner_text()
    assert re.search(r"Support group\s+Desktop support", details), details
    assert re.search(r"Assignee\s+Tina Tech", details), details
    assert "routed the ticket to Desktop support" in tech_page.locator(".timeline").inner_text()
    assert [m for m in smtp.to("tina@corp.example.com") if f"[#{ticket_id}]" in m["Subject"]]

    # The technician asks something, then records the fix.
    tech_page.fill("form[action$='/reply'] textarea[name=body]", "Which dock model is it?")
    tech_page.click("form[action$='/reply'] button[name=internal][value='']")
    tech_page.wait_for_load_state()
    tech_page.fill("textarea[name=diagnosis]", "The dock's firmware stopped USB-C power delivery.")
    tech_page.fill("textarea[name=solution]", "Updated the dock firmware to 1.0.14 and replugged.")
    tech_page.click("form[action$='/resolve'] button[type=submit]")
    tech_page.wait_for_load_state()
    assert "Resolved" in tech_page.locator(".badges").inner_text()

    # The mail job sends the question and the request to confirm.
    deliver_due(app)
    mails = smtp.to("ann.lee@corp.example.com")
    assert any("Which dock model is it?" in text_of(m) for m in mails)
    resolved = mails[-1]
    assert "Updated the dock firmware" in text_of(resolved)
    assert resolved["Auto-Submitted"] == "auto-generated"

    # The user follows the mail's link and confirms the fix.
    user_page.goto(link_in(resolved, rf"{re.escape(base)}/tickets/{ticket_id}\S*"))
    user_page.get_by_role("button", name="Confirm the fix").click()
    user_page.wait_for_load_state()
    assert "Closed" in user_page.locator(".badges").inner_text()

    # Closed by the user's own step, so no closing mail: the ticket page asks for the rating.
    user_page.select_option("form[action*='/rate'] select[name=score]", "4")
    user_page.fill("form[action*='/rate'] textarea[name=comment]", "Quick and clear, thank you.")
    user_page.click("form[action*='/rate'] button[type=submit]")
    user_page.wait_for_load_state()
    assert "Thank you for rating our service." in user_page.content()

    # The closed ticket shows the rating, to the user and to the technician.
    user_page.goto(f"{base}/tickets/{ticket_id}")
    assert "Rated 4 of 5." in user_page.content()
    tech_page.goto(f"{base}/tickets/{ticket_id}")
    timeline = tech_page.locator(".timeline").inner_text()
    assert "Ann Lee rated the service 4 of 5" in timeline
    assert "Quick and clear, thank you." in timeline
    db.rollback()
    db.expire_all()
    ticket = db.get(Ticket, ticket_id)
    assert (ticket.status, ticket.rating, ticket.assignee_id) == (Status.CLOSED, 4, tina.id)
    assert not errors, errors


# English words of event sentences that must not appear in the Chinese timeline.
ENGLISH = re.compile(
    r"\b(changed|assigned|status|replied|note|opened|resolved|confirmed|rated|priority|"
    r"routed|target|service desk|took|from|to)\b",
    re.IGNORECASE,
)


def test_the_timeline_reads_in_chinese_with_times_in_the_desks_zone(
    app,
    live_server,  # noqa: F811
    browser,  # noqa: F811
    db,
    make_user,
    category,
):
    zhang = make_user(username="zhangwei", name="张伟", email="zw@corp.example.com", locale="zh_CN")
    lina = make_user(Role.TECHNICIAN, username="lina", name="李娜", locale="zh_CN")
    group = catalogue.add_group(db, Names("Network", "网络组"), 1, False, [lina.id], None)
    network = category("network")
    catalogue.update_category(db, network, Names(network.name_en, network.name_zh), group.id, None)
    db.commit()
    # A ticket that went through everything.
    ticket = service.open_ticket(
        db,
        service.Intake(
            "Wi-Fi 经常断线", "每半小时断一次。", "上周", "me", "medium", "分机 8021", network.id
        ),
        db.merge(zhang),
    )
    db.commit()
    lina, zhang = db.merge(lina), db.merge(zhang)
    service.take(ticket, lina)
    service.change_fields(ticket, lina, {"urgency": "high", "contact": "手机 138 0013 8000"})
    service.set_priority(ticket, "P2", lina, "影响整个研发部的例会")
    service.move(ticket, Status.WAITING, lina, "请问您的笔记本型号是什么？")
    db.commit()
    service.add_reply(ticket, zhang, "ThinkPad X1 Carbon。")
    service.add_note(ticket, lina, "驱动版本较旧。")
    db.commit()
    # The sweep finds the resolution clock at 75%, later past its target.
    for mark in ("sla_warn_at", "sla_due_at"):
        sweep(db, getattr(ticket, mark) + timedelta(minutes=1))
        db.commit()
    service.record_resolution(ticket, lina, "网卡驱动过旧。", "", "更新驱动。")
    db.commit()
    service.confirm_fix(ticket, zhang)
    service.rate(ticket, zhang, 5, "很快就解决了")
    db.commit()
    kinds = {e.kind for e in ticket.events}
    assert {EventKind.SLA_WARNING, EventKind.SLA_BREACH, EventKind.SLA_PAUSED} <= kinds

    for who in ("lina", "zhangwei"):
        context = browser.new_context(viewport={"width": 1280, "height": 1200}, locale="en-US")
        page = context.new_page()
        sign_in(page, live_server, who)
        page.goto(f"{live_server}/tickets/{ticket.id}")
        page.screenshot(path=str(app.instance_path) + f"/../timeline-{who}.png", full_page=True)
        titles = page.locator(".timeline .event-title").all_inner_texts()
        text = "\n".join(titles)
        assert not ENGLISH.search(text), ENGLISH.search(text)
        for phrase in (
            "张伟 提交了请求",
            "李娜 接手了工单",
            "将状态从“新建”改为“已分派”",
            "将优先级从",
            "李娜 回复了",
            "确认问题已解决，工单已关闭",
            "张伟 给服务打了 5 分",
        ):
            assert phrase in text, (phrase, text)
        if who == "lina":  # staff see the internal steps too
            for phrase in ("添加了内部备注", "服务级别计时暂停", "已用去 75%", "解决目标已超时"):
                assert phrase in text, (phrase, text)
        assert "影响整个研发部的例会" in page.locator(".timeline").inner_text()  # the reason
        # Times in the desk's zone (Asia/Shanghai), whatever the browser's.
        local = ticket.created_at.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")
        times = page.locator(".timeline .event-time").all_inner_texts()
        assert any(local in t for t in times), (local, times)
        context.close()
    assert db.scalars(select(Ticket)).one().rating == 5
