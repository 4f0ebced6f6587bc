"""Staleness in a real browser: a reader flags an article, its owner confirms it."""

import pytest
from sqlalchemy import select

from articles.models import Article
from articles.staleness import ArticleCheck, CheckKind
from portal.auth.models import Role
from tests.browser.test_core_loop import browser, live_server, sign_in, sign_out  # noqa: F401

pytestmark = pytest.mark.browser


def test_a_reader_flags_an_article_and_its_owner_confirms_it(
    live_server,  # noqa: F811
    browser,  # noqa: F811
    make_user,
    make_article,
    db,
):
    owner = make_user(Role.TECHNICIAN, username="lina", name="Lina")
    make_user(Role.USER, username="alice", name="Alice")
    article = make_article(title="VPN 连接失败怎么办", body="重启 VPN 客户端。")
    article.owner_id = owner.id
    db.commit()
    page = browser.new_page()
    sign_in(page, live_server, "alice")
    page.goto(f"{live_server}/articles/{article.id}")
    page.check("input[name=kind][value=outdated]")
    page.fill("#staleness textarea[name=comment]", "新版客户端的按钮位置变了")
    page.click("text=Flag this article")
    page.wait_for_load_state()
    assert "owner will check it" in page.content()
    sign_out(page)
    sign_in(page, live_server, "lina")
    page.click("text=Notifications")
    page.click("text=a reader flagged your article")
    page.wait_for_load_state()
    assert "新版客户端的按钮位置变了" in page.content()
    page.click(f"#article-{article.id} button:has-text('Still correct')")
    page.wait_for_load_state()
    assert "Confirmed as still correct" in page.content()
    db.rollback()
    db.expire_all()
    kinds = [c.kind for c in db.scalars(select(ArticleCheck).order_by(ArticleCheck.id))]
    assert kinds == [CheckKind.OUTDATED, CheckKind.CONFIRMED]
    assert db.get(Article, article.id).review_by is not None
