"""Accounts the desk creates for callers and mail senders have no password; the desk's
mails to them carry a link to choose one."""

from sqlalchemy import select

from portal.auth.contacts import create_contact
from portal.auth.invitations import password_token, user_for_token
from portal.auth.models import User
from portal.tickets.mail_out import build
from portal.tickets.notifications import Kind, Notification


def _contact(db, email="wang.fang@corp.example.com"):
    db.commit()
    user = create_contact(db, "Wang Fang", email=email)
    db.commit()
    return user


def test_a_created_contact_cannot_sign_in_with_any_password(db, client):
    user = _contact(db)
    assert not user.has_usable_password
    assert not user.check_password("") and not user.check_password(user.password_hash)
    response = client.post("/login", {"username": user.username, "password": user.password_hash})
    assert response.status_code == 401


def test_the_receipt_mail_to_a_contact_links_to_choosing_a_password(
    app, db, make_ticket, make_user
):
    contact = _contact(db)
    ticket = make_ticket(contact, subject="Printer jam")
    receipt = db.scalars(
        select(Notification).where(
            Notification.ticket_id == ticket.id, Notification.kind == Kind.RECEIVED
        )
    ).one()
    message = build(app, db, receipt)
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "choose a password for your account wang.fang" in text
    assert "/account/set-password/" in html
    # An account with a password gets no such link.
    member = make_user(email="member@corp.example.com")
    other = make_ticket(member)
    receipt = db.scalars(
        select(Notification).where(
            Notification.ticket_id == other.id, Notification.kind == Kind.RECEIVED
        )
    ).one()
    assert "/account/set-password/" not in build(app, db, receipt).as_string()


def test_the_link_sets_the_password_signs_in_and_works_once(app, db, make_ticket, client):
    contact = _contact(db)
    ticket = make_ticket(contact, subject="VPN drops")
    token = password_token(app.config["SECRET_KEY"], contact)
    path = f"/account/set-password/{token}"
    page = client.get(path)
    assert page.status_code == 200 and "wang.fang" in page.get_data(as_text=True)
    short = client.post(path, {"new": "short", "confirm": "short"})
    assert short.status_code == 422
    differ = client.post(path, {"new": "a long enough pass", "confirm": "another long one"})
    assert differ.status_code == 422 and "The passwords differ." in differ.get_data(as_text=True)
    done = client.post(path, {"new": "correct horse battery", "confirm": "correct horse battery"})
    assert done.status_code == 302 and done.headers["Location"] == "/tickets"
    assert "VPN drops" in client.get("/tickets").get_data(as_text=True)
    assert client.get(f"/tickets/{ticket.id}").status_code == 200
    db.rollback()
    db.expire_all()
    assert db.get(User, contact.id).check_password("correct horse battery")
    # Used once, the link is dead.
    again = client.get(path)
    assert again.status_code == 404 and "expired or was already used" in again.get_data(
        as_text=True
    )


def test_forged_expired_and_inactive_links_are_refused(app, db, client):
    contact = _contact(db)
    secret = app.config["SECRET_KEY"]
    token = password_token(secret, contact)
    assert user_for_token(db, secret, token).id == contact.id
    assert user_for_token(db, secret, token, max_age=-1) is None
    assert user_for_token(db, "another secret", token) is None
    assert user_for_token(db, secret, token[:-2] + "xx") is None
    assert client.get("/account/set-password/garbage").status_code == 404
    assert (
        client.post(f"/account/set-password/{token}x", {"new": "x" * 12, "confirm": "x" * 12})
    ).status_code == 404
    contact.active = False
    db.commit()
    assert user_for_token(db, secret, token) is None
