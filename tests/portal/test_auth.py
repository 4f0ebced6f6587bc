"""Signing in and out, sessions ended on the server, safe redirects, rate limits, languages."""

import pytest
from sqlalchemy import func, select, update

from portal.auth.models import AuthSession, Role, User
from tests.conftest import PASSWORD


def test_signing_in_with_the_right_password_starts_a_session(client, make_user):
    user = make_user()
    response = client.post("/login", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/tickets").status_code == 200


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(client, make_user):
    user = make_user()
    response = client.post("/login", {"username": user.username, "password": "nope nope nope"})
    assert response.status_code == 401
    assert "Wrong username or password" in response.get_data(as_text=True)
    assert client.get("/tickets").status_code == 302


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example.com/",
        "//evil.example.com/x",
        "/\\evil.example.com",
        "javascript:alert(1)",
    ],
)
def test_after_login_only_local_next_paths_are_followed(client, make_user, target):
    user = make_user()
    response = client.post(
        "/login?next=" + target, {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_after_login_a_local_next_path_is_followed(client, make_user):
    user = make_user()
    response = client.post(
        "/login?next=/tickets", {"username": user.username, "password": PASSWORD}
    )
    assert response.headers["Location"] == "/tickets"


def replayed_after_logout(app, client, path):
    """GET ``path`` (200), log out, then GET it again with the old session cookie."""
    cookie = client.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert client.get(path).status_code == 200
    assert client.post("/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie.value)
    return replay.get(path)


def test_logout_ends_the_session_on_the_server_so_a_replayed_cookie_is_worthless(
    app, client, make_user, login
):
    login(make_user())
    assert replayed_after_logout(app, client, "/tickets").status_code == 302


def test_a_replayed_cookie_gets_no_suggestions_after_logout(app, client, make_user, login):
    login(make_user())
    response = replayed_after_logout(app, client, "/requests/suggest?q=printer")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_disabling_an_account_signs_out_its_live_sessions(db, client, make_user, login):
    user = make_user()
    login(user)
    assert client.get("/requests/suggest?q=printer").status_code == 200
    db.execute(update(User).where(User.id == user.id).values(active=False))
    db.commit()
    assert client.get("/requests/suggest?q=printer").status_code == 302
    assert client.get("/tickets").status_code == 302


def test_changing_the_password_signs_out_other_sessions(db, make_user, login, make_client):
    user = make_user()
    laptop, phone = make_client(), make_client()
    login(user, on=laptop)
    login(user, on=phone)
    response = laptop.post(
        "/account/password",
        {"current": PASSWORD, "new": "a brand new passphrase", "confirm": "a brand new passphrase"},
    )
    assert response.status_code == 302
    assert laptop.get("/tickets").status_code == 200
    assert phone.get("/tickets").status_code == 302
    assert phone.get("/requests/suggest?q=printer").status_code == 302
    assert db.scalar(select(func.count(AuthSession.id)).where(AuthSession.user_id == user.id)) == 1


def test_a_wrong_current_password_does_not_change_it(make_user, login, client):
    user = make_user()
    login(user)
    response = client.post(
        "/account/password",
        {
            "current": "not my password",
            "new": "a brand new passphrase",
            "confirm": "a brand new passphrase",
        },
    )
    assert response.status_code == 422
    client.post("/logout")
    login(user)


def test_a_form_without_its_csrf_token_is_refused_with_a_message(client, make_user):
    user = make_user()
    response = client.post("/login", {"username": user.username, "password": PASSWORD}, csrf=False)
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)


def test_repeated_login_attempts_from_one_address_are_rate_limited_with_429(client):
    # A different name each time: the per-account limit (5 per minute) does not apply.
    statuses = [
        client.post("/login", {"username": f"name{n}", "password": "wrong password"}).status_code
        for n in range(12)
    ]
    assert statuses[:10] == [401] * 10
    assert statuses[-1] == 429


def test_a_disabled_account_cannot_sign_in(client, make_user):
    user = make_user(active=False)
    response = client.post("/login", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 401


def test_the_language_choice_is_remembered_on_the_account(db, client, make_user, login):
    user = make_user(role=Role.USER)
    login(user)
    client.post("/language", {"lang": "zh_CN", "next": "/"})
    db.refresh(user)
    assert user.locale == "zh_CN"
    page = client.get("/").get_data(as_text=True)
    assert 'lang="zh-CN"' in page


def test_an_anonymous_visitor_can_switch_language_by_cookie(client):
    client.post("/language", {"lang": "zh_CN"})
    assert 'lang="zh-CN"' in client.get("/").get_data(as_text=True)
    client.post("/language", {"lang": "en"})
    assert 'lang="en"' in client.get("/").get_data(as_text=True)


def test_an_unknown_language_is_a_clear_400(client):
    response = client.post("/language", {"lang": "klingon"})
    assert response.status_code == 400
    assert "Unknown language" in response.get_data(as_text=True)


def test_the_browser_language_picks_chinese(client):
    page = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert 'lang="zh-CN"' in page


def test_every_page_carries_a_strict_content_security_policy(client):
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
