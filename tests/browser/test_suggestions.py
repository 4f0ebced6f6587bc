"""Suggestions on the demo articles, typed in a real headless Chromium as a user would."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from articles.models import ArticleState, Visibility
from portal.demo import HERE, parse_article

# The live server and Chromium of the core loop test, shared rather than copied.
from tests.browser.test_core_loop import browser, live_server, sign_in  # noqa: F401

pytestmark = pytest.mark.browser


def load_demo_articles(make_article):
    """Create the demo's public, published articles, tags included; return id by file."""
    created = {}
    for path in sorted((HERE / "articles").glob("*.md")):
        demo = parse_article(path.read_text(encoding="utf-8"))
        if demo.state is ArticleState.PUBLISHED and demo.visibility is Visibility.PUBLIC:
            created[path.stem] = make_article(
                demo.title, body=demo.body, category_slug=demo.category, tags=demo.tags
            )
    return created


def test_typing_vpn_not_working_suggests_the_vpn_article_first(
    live_server,  # noqa: F811
    browser,  # noqa: F811
    make_user,
    make_article,
):
    articles = load_demo_articles(make_article)
    vpn = articles["16-vpn-error-809"]
    user = make_user(username="ann")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(page, live_server, user.username)
    page.goto(f"{live_server}/requests/new")
    subject = page.locator("input[name=subject]")
    subject.press_sequentially("vpn not workin", delay=40)
    with page.expect_response(lambda response: asked(response.url) == "vpn not working") as answer:
        subject.press("g")
    first = answer.value.text().split('role="option"')[1]
    assert re.search(rf'href="/articles/{vpn.id}[/?"]', first), first
    # And what the browser shows once that answer is swapped in.
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-settling, .htmx-swapping')"
    )
    shown = page.locator("#suggestions [role=option]").first
    assert re.match(rf"/articles/{vpn.id}[/?]", shown.get_attribute("href") or "")
    assert "VPN" in shown.inner_text()


def asked(url):
    """Return the text a suggestion request asked for, or None for other requests."""
    parts = urlsplit(url)
    if not parts.path.endswith("/suggest"):
        return None
    query = parse_qs(parts.query)
    return (query.get("q") or query.get("subject") or [None])[0]
