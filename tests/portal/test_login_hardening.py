"""Sign-in leaks nothing by timing, throttles each account, and trusts only configured proxies."""

from __future__ import annotations

import statistics
import time
from typing import Any

import pytest
from conftest import PASSWORD

from portal.i18n import LOCALE_COOKIE


def median_seconds(client, username: str, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.post("/login", {"username": username, "password": "wrong password!"})
        times.append(time.perf_counter() - started)
        assert response.status_code == 401
    return statistics.median(times)


@pytest.fixture
def app_config(app_config: dict[str, Any], request: pytest.FixtureRequest) -> dict[str, Any]:
    """Limits high enough for the timing test, unless a test passes its own settings."""
    settings = getattr(
        request,
        "param",
        {"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_LOGIN_RATE_LIMIT": "1000 per minute"},
    )
    return {**app_config, **settings}


def test_a_wrong_password_takes_as_long_for_an_unknown_name_as_for_a_known_one(make_user, client):
    make_user(username="known")
    median_seconds(client, "warm-up", runs=1)
    known = median_seconds(client, "known")
    unknown = median_seconds(client, "nobody-by-this-name")
    # Both verify a password hash; without the dummy hash the unknown name took ~4 ms
    # against ~90 ms.
    assert 0.6 < unknown / known < 1.6, (known, unknown)


@pytest.mark.parametrize(
    "app_config",
    [{"LOGIN_RATE_LIMIT": "1000 per minute", "ACCOUNT_LOGIN_RATE_LIMIT": "5 per minute"}],
    indirect=True,
)
def test_failed_sign_ins_to_one_account_from_many_addresses_are_throttled(
    app, make_user, make_client
):
    user = make_user(username="target")
    statuses = []
    for address in range(20):
        browser = make_client()
        browser.client.environ_base["REMOTE_ADDR"] = f"198.51.100.{address + 1}"
        statuses.append(
            browser.post("/login", {"username": "Target ", "password": "guess"}).status_code
        )
    assert statuses[:5] == [401] * 5
    assert set(statuses[5:]) == {429}
    # While throttled even the right password waits: the throttle is not an oracle.
    browser = make_client()
    refused = browser.post("/login", {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.headers.get("Retry-After")
    # Another account is not affected.
    other = make_user(username="bystander")
    assert (
        browser.post("/login", {"username": other.username, "password": PASSWORD}).status_code
        == 302
    )


@pytest.mark.parametrize(
    "app_config",
    [{"SESSION_COOKIE_SECURE": True, "LOGIN_RATE_LIMIT": "1000 per minute"}],
    indirect=True,
)
def test_with_secure_cookies_every_cookie_is_secure(make_user, client):
    user = make_user()
    responses = [
        client.get("/login"),
        client.post("/login", {"username": user.username, "password": PASSWORD}),
        client.post("/language", {"lang": "zh_CN", "next": "/"}),
        client.post("/logout"),
    ]
    cookies = [c for r in responses for c in r.headers.getlist("Set-Cookie")]
    names = {cookie.split("=", 1)[0] for cookie in cookies}
    assert {"solveloop_session", LOCALE_COOKIE} <= names, names
    for cookie in cookies:
        assert "; Secure" in cookie, cookie


@pytest.mark.parametrize(
    "app_config",
    [{"LOGIN_RATE_LIMIT": "2 per minute", "ACCOUNT_LOGIN_RATE_LIMIT": "1000 per minute"}],
    indirect=True,
)
def test_login_budget_is_per_connection_address_unless_a_proxy_is_trusted(make_client):
    def attempt(remote: str, forwarded: str) -> int:
        browser = make_client()
        return browser.post(
            "/login",
            {"username": "someone", "password": "nope"},
            environ_base={"REMOTE_ADDR": remote},
            headers={"X-Forwarded-For": forwarded},
        ).status_code

    # Spoofed X-Forwarded-For from one address: one budget.
    assert [attempt("192.0.2.9", f"203.0.113.{n}") for n in range(3)] == [401, 401, 429]
    # Another connection address has its own.
    assert attempt("192.0.2.10", "203.0.113.1") == 401


@pytest.mark.parametrize(
    "app_config",
    [
        {
            "LOGIN_RATE_LIMIT": "2 per minute",
            "ACCOUNT_LOGIN_RATE_LIMIT": "1000 per minute",
            "TRUSTED_PROXIES": 1,
        }
    ],
    indirect=True,
)
def test_behind_one_trusted_proxy_the_forwarded_address_decides(make_client):
    def attempt(forwarded: str) -> Any:
        browser = make_client()
        return browser.post(
            "/login",
            {"username": "someone", "password": "nope"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"},
            headers={"X-Forwarded-For": forwarded},
        )

    assert [attempt("203.0.113.1").status_code for _ in range(3)] == [401, 401, 429]
    # What a client puts in front of the address the proxy appended buys no new budget.
    assert attempt("198.51.100.99, 203.0.113.1").status_code == 429
    assert attempt("198.51.100.7").status_code == 401
