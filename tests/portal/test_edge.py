"""Text is normalised once at the edge; error pages render whatever state the database is in."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from articles.models import Article
from portal.auth.models import User
from portal.text import clean_text
from portal.tickets.models import Ticket


def test_clean_text_removes_controls_and_surrogates_and_composes():
    assert clean_text("a\x00b\x1bc\x7f\x85d\ud800e") == "abcde"
    assert clean_text("tab\there\r\nnext\rline") == "tab\there\nnext\nline"
    assert clean_text("Cafe\u0301") == "Café"


def test_clean_text_drops_bidi_overrides_only_from_single_line_values():
    assert clean_text("invoice\u202efdp.exe", single_line=True) == "invoicefdp.exe"
    assert clean_text("two\nlines \u202e", single_line=False) == "two\nlines \u202e"
    assert clean_text("one\nline", single_line=True) == "one line"


def test_a_request_is_stored_without_the_control_characters_typed(db, make_user, login, client):
    login(make_user())
    response = client.post(
        "/requests/new",
        {
            "subject": "VPN\x00 drops\u202e every hour",
            "symptom": "It\x07 disconnects.\r\nThen\x00 reconnects.",
            "started": "today\x1b[0m",
            "impact": "me",
            "urgency": "medium",
            "contact": "ext\x00 1234",
            "category": "",
        },
    )
    assert response.status_code == 302
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.subject == "VPN drops every hour"
    assert ticket.symptom == "It disconnects.\nThen reconnects."
    assert ticket.contact == "ext 1234"


def test_a_search_with_a_nul_is_answered(client):
    response = client.get("/search?q=vpn%00x%1b")
    assert response.status_code == 200
    assert "\x00" not in response.get_data(as_text=True)


def test_a_login_with_a_nul_in_the_name_is_a_plain_wrong_password(client):
    response = client.post("/login", {"username": "ad\x00min", "password": "x"})
    assert response.status_code == 401


def test_an_edit_without_a_field_is_refused_naming_it_and_changes_nothing(
    db, make_article, make_user, login, client
):
    from portal.auth.models import Role

    article = make_article("VPN guide", tags=("vpn",))
    login(make_user(role=Role.TECHNICIAN))
    form = {
        "title": "VPN guide, renamed",
        "category": "network",
        "visibility": "public",
        "body": "New body",
        "note": "",
    }
    response = client.post(f"/editor/articles/{article.id}/edit", form)
    assert response.status_code == 400
    assert "tags" in response.get_data(as_text=True)
    without_category = {k: v for k, v in form.items() if k != "category"} | {"tags": "vpn"}
    response = client.post(f"/editor/articles/{article.id}/edit", without_category)
    assert response.status_code == 400
    assert "category" in response.get_data(as_text=True)
    db.expire_all()
    unchanged = db.get(Article, article.id)
    assert unchanged.title == "VPN guide" and unchanged.category is not None
    assert unchanged.version == article.version


@pytest.fixture
def failing_flush_app(app):
    """The portal plus one route whose flush fails (a duplicate user name) mid-request."""
    from portal.db import get_session

    def duplicate_user():
        session = get_session()
        session.add(User(username="owner", display_name="Again", password_hash="x"))
        session.flush()
        return "unreachable"

    app.add_url_rule("/test/duplicate-user", "duplicate_user", duplicate_user)
    return app


def test_the_error_page_renders_after_a_failed_flush_signed_in(
    failing_flush_app, make_user, login, client
):
    make_user(username="owner")
    login(make_user(name="Signed In Person"))
    response = client.get("/test/duplicate-user")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side." in page
    assert "Signed In Person" in page  # the header still shows who is signed in


def test_the_json_error_of_a_failed_flush_is_json(failing_flush_app, make_user, client):
    make_user(username="owner")
    response = client.get("/test/duplicate-user", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.get_json()["status"] == 500
    assert response.get_json()["message"] == "Something went wrong on our side."


def test_the_error_page_renders_when_the_database_is_gone(
    app, database_url, make_user, login, client
):
    if not database_url.startswith("sqlite"):
        pytest.skip("stops a SQLite file; PostgreSQL is exercised by the flush failure")
    login(make_user(name="Signed In Person"))
    path = database_url.removeprefix("sqlite:///")
    shutil.move(path, path + ".away")
    Path(path).mkdir()  # SQLite cannot open a directory
    app.extensions["solveloop.engine"].dispose()
    try:
        response = client.get("/tickets")
        assert response.status_code == 500
        assert "Something went wrong on our side." in response.get_data(as_text=True)
    finally:
        shutil.rmtree(path)
        shutil.move(path + ".away", path)
