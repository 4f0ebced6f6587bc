"""Article links in a real headless Chromium: the reply box's article picker searches as
the technician types, inserts the article's title and address at the cursor, and the
sent reply records the article as cited; Enter in the picker sends nothing."""

import pytest
from sqlalchemy import select

from portal.auth.models import Role
from portal.tickets.models import EventKind, Ticket, TicketEvent

# The live server and Chromium of the core loop test, shared rather than copied.
from tests.browser.test_core_loop import browser, live_server, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


def test_a_technician_inserts_an_article_into_a_reply(
    live_server,  # noqa: F811
    browser,  # noqa: F811
    db,
    make_user,
    make_article,
    make_ticket,
):
    article = make_article("Reset the VPN token on your laptop")
    ticket = make_ticket(make_user(), subject="VPN asks for a new token")
    make_user(role=Role.TECHNICIAN, username="tom")
    page = browser.new_page()
    sign_in(page, live_server, "tom")
    page.goto(f"{live_server}/tickets/{ticket.id}")
    page.fill("textarea[name=body]", "Hello, please follow this guide:")
    page.click("text=Insert a link to an article")
    search = page.locator("#picker-cites-insert")
    search.fill("vpn tok")
    search.press("Enter")  # searches; must not send the half-written reply
    button = page.locator(f"[data-insert-article='{article.id}']")
    button.wait_for()
    assert page.url.endswith(f"/tickets/{ticket.id}")
    button.click()
    text = page.input_value("textarea[name=body]")
    assert text == (
        "Hello, please follow this guide:\n"
        f"Reset the VPN token on your laptop: {live_server}/articles/{article.id}\n"
    )
    page.click("button:has-text('Send reply to the user')")
    page.wait_for_load_state()
    db.rollback()
    db.expire_all()
    linked = db.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == ticket.id, TicketEvent.kind == EventKind.ARTICLE_LINKED
        )
    ).all()
    assert [(e.detail["relation"], e.detail["article_id"]) for e in linked] == [
        ("cited", article.id)
    ]
    assert db.get(Ticket, ticket.id).events[-2].body == text
    assert "sent article" in page.content()
