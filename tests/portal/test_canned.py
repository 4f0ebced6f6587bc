"""Canned replies: admins keep them in both languages; technicians insert one, filled in."""

from __future__ import annotations

import html

from portal.admin.models import SettingChange
from portal.auth.models import Role
from portal.tickets.canned import CannedReply

REPLY = {
    "title_en": "Restart first",
    "title_zh": "先重启",
    "body_en": "Hello {requester_name}, about {ticket_number} ({subject}): restart. {my_name}",
    "body_zh": "{requester_name}您好，关于 {ticket_number}（{subject}）：请先重启。{my_name}",
}


def test_an_admin_adds_edits_and_retires_a_canned_reply_and_each_change_is_recorded(
    db, client, login, make_user
):
    login(make_user(Role.ADMIN))
    assert client.post("/admin/replies", REPLY).status_code == 302
    reply = db.query(CannedReply).one()
    edited = {f"r{reply.id}-{k}": v for k, v in REPLY.items()} | {
        f"r{reply.id}-title_en": "Restart the device first"
    }
    assert client.post(f"/admin/replies/{reply.id}", edited).status_code == 302
    assert client.post(f"/admin/replies/{reply.id}/retire", {"retired": "1"}).status_code == 302
    db.rollback()
    db.expire_all()
    assert (reply.title_en, reply.retired) == ("Restart the device first", True)
    keys = [c.key for c in db.query(SettingChange).order_by(SettingChange.id)]
    assert keys == [f"reply:{reply.id}"] * 3
    page = client.get("/admin/replies").get_data(as_text=True)
    assert "Restart first" in page and "Restart the device first" in page


def test_a_reply_with_an_unknown_placeholder_or_one_language_is_refused(
    db, client, login, make_user
):
    login(make_user(Role.ADMIN))
    bad = client.post("/admin/replies", {**REPLY, "body_en": "Dear {customer}"})
    assert bad.status_code == 422 and "{customer}" in html.unescape(bad.get_data(as_text=True))
    unclosed = client.post("/admin/replies", {**REPLY, "body_zh": "您好 {requester_name"})
    assert unclosed.status_code == 422
    assert client.post("/admin/replies", {**REPLY, "body_zh": " "}).status_code == 422
    assert db.query(CannedReply).count() == 0


def test_a_technician_inserts_a_reply_in_the_requesters_language(
    db, client, login, make_user, make_ticket, make_client
):
    admin = login(make_user(Role.ADMIN), on=make_client())
    admin.post("/admin/replies", REPLY)
    reply = db.query(CannedReply).one()
    requester = make_user(name="张伟", locale="zh_CN")
    ticket = make_ticket(requester, subject="打印机脱机")
    login(make_user(Role.TECHNICIAN, name="Tina"))
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "先重启" not in page and "Restart first" in page  # titles in the reader's language
    filled = client.get(f"/tickets/{ticket.id}?canned={reply.id}").get_data(as_text=True)
    assert f"张伟您好，关于 #{ticket.id}（打印机脱机）：请先重启。Tina" in html.unescape(filled)
    assert client.get(f"/tickets/{ticket.id}?canned=999").status_code == 404
    # The requester sees no canned replies at all.
    own = login(requester, on=make_client())
    assert "Restart first" not in own.get(f"/tickets/{ticket.id}?canned={reply.id}").get_data(
        as_text=True
    )
