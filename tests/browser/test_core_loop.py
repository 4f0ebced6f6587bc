"""The whole core loop once, in a real headless Chromium against a live portal."""

import shutil
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from articles.models import Article, ArticleState
from portal.auth.models import Role
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """Serve the test app on a free loopback port in a thread."""
    app.config["INDEXER_THREAD"] = False
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser():
    """A headless Debian Chromium driven by Playwright."""
    if not shutil.which("chromium") and not shutil.os.path.exists(CHROMIUM):
        pytest.fail("chromium is not installed: run `make browser`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click(
        "form[action*='login'] button[type=submit], form[action*='login'] input[type=submit]"
    )
    page.wait_for_load_state()


def sign_out(page):
    page.click("form[action$='/logout'] button")
    page.wait_for_load_state()


def test_the_core_loop_in_a_real_browser(
    live_server, browser, db, make_user, make_article, tmp_path
):
    base = live_server
    make_article(
        "VPN 连接失败（错误 809）怎么办",
        body="## 问题现象\n\nVPN 客户端提示错误 809。\n\n## 解决方法\n\n1. 切换网络后重试。\n",
    )
    make_article(
        "Can't connect to Wi-Fi on a company laptop",
        body="## Resolution\n\nForget the network and rejoin.\n",
    )
    user = make_user(username="ann", name="Ann Lee", email="ann.lee@corp.example.com")
    make_user(role=Role.TECHNICIAN, username="tech", name="Tina Tech")
    make_user(role=Role.ADMIN, username="boss", name="Bo Boss")
    errors = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # 1. The user types a request and sees suggestions; keyboard opens one; it solves the problem.
    sign_in(page, base, user.username)
    page.goto(f"{base}/requests/new")
    subject = page.locator("input[name=subject]")
    subject.press_sequentially("VPN 连接失败", delay=40)
    options = page.locator("#suggestions [role=option]")
    options.first.wait_for(timeout=5000)
    assert "809" in options.first.inner_text()
    assert page.locator("#suggestions mark").count() > 0
    assert subject.get_attribute("aria-expanded") == "true"
    page.screenshot(path=str(tmp_path / "suggestions.png"))
    subject.press("ArrowDown")
    assert subject.get_attribute("aria-activedescendant")
    subject.press("Enter")
    page.wait_for_url("**/articles/**")
    page.locator("form[action$='/requests/solved'] button").click()
    page.wait_for_load_state()
    assert "no ticket" in page.content().lower() or "不需要" in page.content()

    # 2. Nothing helps for a new problem: the form becomes a ticket.
    page.goto(f"{base}/requests/new")
    page.fill("input[name=subject]", "Label printer prints blank labels")
    page.keyboard.press("Escape")
    page.fill(
        "textarea[name=symptom]",
        "The Zebra printer at reception feeds blank labels since the driver update.",
    )
    page.fill("input[name=started]", "yesterday afternoon")
    page.select_option("select[name=category]", "desktop")
    page.fill("input[name=contact]", "ext. 4411")
    page.click("form[action$='/requests/new'] button[type=submit]")
    page.wait_for_url("**/tickets/*")
    ticket_url = page.url
    assert "Label printer prints blank labels" in page.content()
    sign_out(page)

    # 3. The technician takes and resolves it, then drafts an article.
    sign_in(page, base, "tech")
    page.goto(ticket_url)
    page.click("form[action$='/take'] button")
    page.wait_for_load_state()
    page.fill("textarea[name=diagnosis]", "Labels printed on continuous media settings.")
    page.fill("textarea[name=cause]", "The driver update reset the media type to continuous.")
    page.fill(
        "textarea[name=solution]",
        "1. Open printer preferences.\n2. Set media type to labels with gaps.\n3. Calibrate.",
    )
    page.click("form[action$='/resolve'] button[type=submit]")
    page.wait_for_load_state()
    page.click("form[action*='/editor/from-ticket/'] button")
    page.wait_for_load_state()
    # The draft is checked first: every redaction highlighted, created on request.
    page.click("button[name=action][value=create]")
    page.wait_for_url("**/editor/articles/*/edit")
    page.locator("#preview").get_by_text("Calibrate").wait_for(timeout=5000)
    # An edit not saved yet goes with the submission, not lost.
    body = page.locator("textarea[name=body]")
    body.fill(body.input_value() + "\n\nChecked by the desk on the warehouse printers.")
    page.click("button[formaction$='/submit']")
    page.wait_for_load_state()
    sign_out(page)

    # 4. The admin publishes it.
    sign_in(page, base, "boss")
    article_id = db.scalars(select(Article.id).where(Article.title.like("%Label printer%"))).one()
    page.goto(f"{base}/editor/articles/{article_id}/edit")
    page.select_option("select[name=visibility]", "public")  # drafts from tickets start internal
    page.click("button[formaction$='/publish']")
    page.wait_for_load_state()
    sign_out(page)
    db.rollback()  # end the read snapshot taken above
    db.expire_all()
    published = db.get(Article, article_id)
    assert published.state is ArticleState.PUBLISHED
    assert "Checked by the desk on the warehouse printers." in published.body

    # 5. The user finds it from the request form.
    sign_in(page, base, user.username)
    page.goto(f"{base}/requests/new")
    page.locator("input[name=subject]").press_sequentially("label printer blank", delay=30)
    page.locator("#suggestions [role=option]").filter(has_text="Label printer").first.wait_for(
        timeout=5000
    )
    assert not errors, errors
