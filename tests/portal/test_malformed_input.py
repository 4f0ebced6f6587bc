"""Every POST route, as every role, with malformed bodies: a clear 4xx, never a 5xx.

The walk reads the routes from the app's URL map, so a route added later is walked too.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import String, Text, select
from werkzeug.datastructures import MultiDict
from werkzeug.routing.converters import AnyConverter

from articles.models import ArticleState, Visibility
from portal.auth.models import Role
from portal.models import metadata

ROLES = (None, Role.USER, Role.TECHNICIAN, Role.ADMIN)
# Every field name a portal form reads; extra fields are ignored by the routes.
FIELDS = (
    "username",
    "password",
    "current",
    "new",
    "confirm",
    "lang",
    "next",
    "subject",
    "symptom",
    "started",
    "impact",
    "urgency",
    "contact",
    "category",
    "article_id",
    "q",
    "body",
    "internal",
    "diagnosis",
    "cause",
    "solution",
    "solved_by",
    "status",
    "title",
    "visibility",
    "tags",
    "note",
    "back",
    "terms",
    "me__critical",
    "P1__response",
    "timezone",
    "days",
    "start",
    "end",
    "overrides",
    "auto_close_days",
    "mail_address",
    "name_en",
    "name_zh",
    "group",
    "line",
    "members",
    "auto_assign",
    "direction",
    "retired",
    "priority",
    "reason",
    "assignee",
    "core_system_down",
    "c1-name_en",
    "c1-name_zh",
    "c1-group",
    "g1-name_en",
    "g1-name_zh",
    "g1-line",
    "internal_domains",
    "unknown_senders",
    "caller",
    "caller_id",
    "create_caller",
    "new_name",
    "new_email",
    "new_phone",
    "solved_on_call",
)
NASTY = "vpn\x00 \x1b[31m\u202egnp.exe\x85\x07 打印机"
JSON_BODIES = (
    "[" * 100_000,
    "[1, 2, 3]",
    '"just a string"',
    "42",
    '{"username": 9, "password": 10, "body": [1], "title": {"a": 1}}',
    '{"body": "S\\udc80"}',
)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    """Limits high enough that the walk measures the routes, not the rate limiter."""
    return {**app_config, "LOGIN_RATE_LIMIT": "100000 per minute"}


@pytest.fixture
def world(make_user, make_article, make_ticket):
    owner = make_user(username="owner")
    return {
        "article_id": make_article("Public VPN guide").id,
        "draft_id": make_article("Draft VPN notes", state=ArticleState.DRAFT).id,
        "internal_id": make_article("Internal runbook", visibility=Visibility.INTERNAL).id,
        "ticket_id": make_ticket(owner).id,
        "group_id": 1,
    }


def post_urls(app, world) -> list[str]:
    """Return a URL for every POST route, with existing and missing ids filled in."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "POST" not in (rule.methods or ()) or rule.endpoint == "auth.logout":
            continue
        choices: list[dict[str, Any]] = [{}]
        for name in rule.arguments:
            converter = rule._converters[name]
            if isinstance(converter, AnyConverter):
                values: list[Any] = sorted(converter.items)
            else:
                values = [world.get(name, 1), 999_999]
            choices = [{**c, name: v} for c in choices for v in values]
        for arguments in choices:
            with app.test_request_context():
                from flask import url_for

                urls.append(url_for(rule.endpoint, **arguments))
    return sorted(set(urls))


def malformed_requests(token: str) -> list[tuple[str, dict[str, Any], int | None]]:
    """Return (label, test-client keyword arguments, the status expected or None for any 4xx)."""
    full = dict.fromkeys(FIELDS, NASTY) | {"csrf_token": token}
    cases: list[tuple[str, dict[str, Any], int | None]] = []
    for body in JSON_BODIES:
        cases.append(
            (
                f"json {body[:20]!r}",
                {
                    "data": body,
                    "content_type": "application/json",
                    "headers": {"X-CSRFToken": token},
                },
                415,
            )
        )
    cases += [
        ("text/plain body", {"data": "body=hi", "content_type": "text/plain"}, 415),
        (
            "bad utf-8, urlencoded",
            {
                "data": f"csrf_token={token}&body=%ff%fe&title=%ed%b2%80",
                "content_type": "application/x-www-form-urlencoded",
            },
            400,
        ),
        (
            "bad utf-8, raw bytes",
            {
                "data": b"csrf_token=" + token.encode() + b"&body=\xff\xfe\x00",
                "content_type": "application/x-www-form-urlencoded",
            },
            400,
        ),
        (
            "huge",
            {"data": {"csrf_token": token, "body": "x" * (3 * 1024 * 1024)}},
            413,
        ),
        ("no fields", {"data": {"csrf_token": token}}, None),
        ("no body at all", {}, None),
        ("NUL and controls in every field", {"data": full}, None),
        (
            "NUL and controls, multipart",
            {"data": full, "content_type": "multipart/form-data"},
            None,
        ),
        (
            "every field far too long",
            {"data": dict.fromkeys(FIELDS, "长" * 30000) | {"csrf_token": token}},
            None,
        ),
        (
            "repeated fields",
            {"data": MultiDict([(n, v) for n in FIELDS for v in "12"] + [("csrf_token", token)])},
            None,
        ),
    ]
    return cases


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.value if r else "anonymous")
def test_no_post_route_answers_a_malformed_body_with_a_server_error(
    role, app, world, db, make_user, login, client
):
    if role is not None:
        login(make_user(role=role))
    token = client.csrf_token()
    failures = []
    for url in post_urls(app, world):
        for label, kwargs, expected in malformed_requests(token):
            try:
                status = client.client.post(url, **kwargs).status_code
            except Exception as exc:  # an error even the error handlers could not answer
                failures.append(f"{url} [{label}] raised {exc!r}"[:300])
                continue
            if status >= 500 or (expected is not None and status != expected):
                failures.append(f"{url} [{label}] -> {status}")
    assert not failures, "\n".join(failures)
    if role is not None:  # the walk ran as the role throughout
        assert client.get("/account/password").status_code == 200
    assert_no_control_characters_stored(db)


def assert_no_control_characters_stored(db) -> None:
    """No text column of any table holds a NUL, a C0/C1 control or a lone surrogate."""
    db.rollback()
    found = []
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if not columns:
            continue
        for row in db.execute(select(*columns)):
            for column, value in zip(columns, row, strict=True):
                if isinstance(value, str) and any(
                    (ord(ch) < 32 and ch not in "\t\n") or 0x7F <= ord(ch) <= 0x9F for ch in value
                ):
                    found.append(f"{table.name}.{column.name}: {value[:60]!r}")
    assert not found, "\n".join(found)


def test_a_json_body_to_a_form_route_is_refused_with_415(client):
    response = client.client.post(
        "/login",
        data=json.dumps({"username": "a", "password": "b"}),
        content_type="application/json",
    )
    assert response.status_code == 415
    assert "form submissions only" in response.get_data(as_text=True)
