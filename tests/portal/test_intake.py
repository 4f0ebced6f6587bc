"""The request form: suggestions while typing, deflection, tickets, and refusing bad input."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, func, select, update

from articles.models import Article, ArticleState, Visibility
from portal.auth.models import Role
from portal.intake.models import Deflection
from portal.tickets.models import Ticket
from tests.conftest import lists

REQUEST = {
    "subject": "VPN 连接失败",
    "symptom": "AnyConnect says the connection attempt failed since this morning.",
    "started": "today 09:00",
    "impact": "me",
    "urgency": "high",
    "contact": "ext. 2231",
    "category": "network",
}


def test_suggestions_show_matching_published_articles_with_highlights(
    make_article, make_user, login, client
):
    make_article("VPN 连接失败（错误 809）怎么办", body="## 问题现象\n\nVPN 客户端提示连接失败。\n")
    make_article("Printer jams on tray 2", category_slug="desktop")
    login(make_user())
    page = client.get("/requests/suggest", query_string={"q": "VPN 连接失败"}).get_data(
        as_text=True
    )
    assert "错误 809" in page
    assert "<mark>" in page
    assert "Printer jams" not in page


def test_suggestions_accept_the_subject_field_htmx_sends(make_article, make_user, login, client):
    article = make_article("Outlook not receiving new mail", category_slug="software")
    login(make_user())
    page = client.get("/requests/suggest", query_string={"subject": "outlook not rece"}).get_data(
        as_text=True
    )
    assert lists(page, article)


def test_suggestions_never_show_internal_articles_to_users(
    make_article, make_user, login, client, make_client
):
    article = make_article("VPN gateway certificate renewal", visibility=Visibility.INTERNAL)
    login(make_user())
    page = client.get("/requests/suggest?q=vpn+gateway+certificate").get_data(as_text=True)
    assert not lists(page, article) and "renewal" not in page
    staff = make_client()
    login(make_user(role=Role.TECHNICIAN), on=staff)
    assert lists(
        staff.get("/requests/suggest?q=vpn+gateway+certificate").get_data(as_text=True), article
    )


def test_suggestions_show_each_article_s_category(db, make_article, make_user, login, client):
    make_article("Wi-Fi keeps dropping in meeting rooms", category_slug="network")
    loose = make_article("Wi-Fi keeps asking for a password")
    db.execute(update(Article).where(Article.id == loose.id).values(category_id=None))
    db.commit()
    login(make_user())
    page = client.get("/requests/suggest?q=wi-fi+keeps").get_data(as_text=True)
    assert '<span class="suggestion-meta">Network access</span>' in page
    assert '<span class="suggestion-meta">Uncategorised</span>' in page


def test_suggestions_are_rechecked_in_the_database_when_the_index_lags(
    db, make_article, make_user, login, client, make_client
):
    archived = make_article("Scanner driver rollback steps")
    hidden = make_article("Scanner firmware recovery mode")
    # Changed in the database only, as if the indexer had not caught up yet.
    db.execute(update(Article).where(Article.id == archived.id).values(state=ArticleState.ARCHIVED))
    db.execute(
        update(Article).where(Article.id == hidden.id).values(visibility=Visibility.INTERNAL)
    )
    db.commit()
    login(make_user())
    page = client.get("/requests/suggest?q=scanner").get_data(as_text=True)
    assert not lists(page, archived) and not lists(page, hidden)
    staff = make_client()
    login(make_user(role=Role.TECHNICIAN), on=staff)
    page = staff.get("/requests/suggest?q=scanner").get_data(as_text=True)
    assert lists(page, hidden) and not lists(page, archived)


@contextmanager
def selects(app: Any) -> Iterator[list[str]]:
    """Collect the SELECT statements the app sends to the database meanwhile."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append(statement)

    engine = app.extensions["solveloop.engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_suggestion_costs_one_query_for_the_reader_and_one_for_the_hits(
    app, make_article, make_user, login, client
):
    for title in ("VPN client reset", "VPN token expired", "VPN slow at home"):
        make_article(title)
    login(make_user())
    with selects(app) as seen:
        page = client.get("/requests/suggest?q=vpn").get_data(as_text=True)
    assert page.count('class="suggestion"') == 3
    assert len(seen) == 2, seen
    with selects(app) as seen:
        client.get("/requests/suggest?q=zebra+crossing")
    assert len(seen) == 1, seen


def test_suggestions_wait_for_enough_characters(make_article, make_user, login, client):
    article = make_article("VPN client reset")
    login(make_user())
    assert not lists(client.get("/requests/suggest?q=vp").get_data(as_text=True), article)
    assert lists(client.get("/requests/suggest?q=vpn").get_data(as_text=True), article)


def test_this_solved_it_records_a_deflection_and_opens_no_ticket(
    db, make_article, make_user, login, client
):
    article = make_article("Can't connect to Wi-Fi on a company laptop")
    login(make_user())
    response = client.post(
        "/requests/solved", {"article_id": article.id, "q": "can't connect to wifi"}
    )
    assert response.status_code == 302
    deflection = db.scalars(select(Deflection)).one()
    assert deflection.article_id == article.id
    assert deflection.query == "can't connect to wifi"
    assert db.scalar(select(func.count(Ticket.id))) == 0


def test_a_deflection_on_an_internal_article_is_404_for_users(
    db, make_article, make_user, login, client
):
    article = make_article("Internal runbook", visibility=Visibility.INTERNAL)
    login(make_user())
    assert client.post("/requests/solved", {"article_id": article.id}).status_code == 404
    assert client.post("/requests/solved", {"article_id": "x"}).status_code == 400
    assert db.scalar(select(func.count(Deflection.id))) == 0


def test_submitting_the_form_opens_a_ticket_with_everything_typed(db, make_user, login, client):
    user = make_user()
    login(user)
    response = client.post("/requests/new", REQUEST)
    assert response.status_code == 302
    ticket = db.scalars(select(Ticket)).one()
    assert (ticket.subject, ticket.symptom, ticket.started, ticket.contact) == (
        REQUEST["subject"],
        REQUEST["symptom"],
        REQUEST["started"],
        REQUEST["contact"],
    )
    assert ticket.category.slug == "network"
    assert ticket.priority == "P3"
    assert ticket.requester_id == user.id
    assert response.headers["Location"].endswith(f"/tickets/{ticket.id}")


def test_an_incomplete_request_is_422_and_nothing_is_stored(db, make_user, login, client):
    login(make_user())
    response = client.post("/requests/new", {**REQUEST, "subject": ""})
    assert response.status_code == 422
    assert db.scalar(select(func.count(Ticket.id))) == 0


def test_an_oversized_field_is_refused_and_nothing_is_stored(db, make_user, login, client):
    login(make_user())
    response = client.post("/requests/new", {**REQUEST, "subject": "x" * 201})
    assert response.status_code == 422
    response = client.post("/requests/new", {**REQUEST, "symptom": "y" * 3_000_000})
    assert response.status_code == 413
    assert "too large" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Ticket.id))) == 0


def test_invalid_utf8_is_a_400_with_a_message_and_nothing_is_stored(db, make_user, login, client):
    login(make_user())
    body = (
        f"csrf_token={client.csrf_token()}&subject=%FF%FE&symptom=x&impact=me&urgency=low&contact=x"
    ).encode()
    response = client.client.post(
        "/requests/new", data=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "UTF-8" in response.get_data(as_text=True)
    assert db.scalar(select(func.count(Ticket.id))) == 0


def test_a_request_without_csrf_token_is_400_and_nothing_is_stored(db, make_user, login, client):
    login(make_user())
    assert client.post("/requests/new", REQUEST, csrf=False).status_code == 400
    assert db.scalar(select(func.count(Ticket.id))) == 0


def test_the_form_is_prefilled_from_a_search_that_found_nothing(make_user, login, client):
    login(make_user())
    page = client.get("/requests/new?q=扫描仪无法使用").get_data(as_text=True)
    assert 'value="扫描仪无法使用"' in page


def test_suggestions_are_rate_limited_per_user_with_429(app, make_user, login, client):
    app.config["SUGGEST_RATE_LIMIT"] = "5 per minute"
    login(make_user())
    statuses = [client.get("/requests/suggest?q=printer").status_code for _ in range(7)]
    assert statuses[:5] == [200] * 5
    assert statuses[-1] == 429


def test_a_published_article_is_suggested_within_a_second_with_the_indexer_thread(
    app_config, tmp_path, make_user
):
    from portal import create_app
    from tests.conftest import PASSWORD, Client

    app_config["INDEXER_THREAD"] = True
    app = create_app(app_config, instance_path=str(tmp_path / "threaded"))
    try:
        from articles.models import ArticleState
        from articles.service import ArticleFields, change_state, create_article
        from portal.auth.models import User

        with app.extensions["solveloop.sessions"]() as db:
            user = User(username="reader", display_name="Reader", role=Role.USER)
            user.set_password(PASSWORD)
            db.add(user)
            db.commit()
        client = Client(app.test_client())
        client.post("/login", {"username": "reader", "password": PASSWORD})
        client.get("/requests/suggest?q=warmup")  # starts this process's indexer thread
        with app.extensions["solveloop.write_sessions"]() as db:
            article = create_article(
                db, ArticleFields(title="Bluetooth headset crackles", body="Re-pair it."), None
            )
            change_state(db, article, ArticleState.PUBLISHED, None)
            db.commit()
        published = time.monotonic()
        while not lists(
            client.get("/requests/suggest?q=bluetooth+head").get_data(as_text=True), article
        ):
            assert time.monotonic() - published < 1.0, "not suggested within one second"
            time.sleep(0.02)
    finally:
        app.extensions["solveloop.indexer_thread"].stop()
        app.extensions["solveloop.engine"].dispose()
