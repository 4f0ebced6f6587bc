"""Issue 10's knowledge flow in a real headless Chromium: a resolved ticket becomes a
draft with highlighted redactions (one undone), a duplicate is warned about, the review
shows what changed, the article is published, found at once, and a reader finds it helpful."""

import re

import pytest
from sqlalchemy import select

from articles.models import Article, ArticleState, Revision
from portal.auth.models import Role
from tests.browser.test_core_loop import (  # noqa: F401 - fixtures
    browser,
    live_server,
    sign_in,
    sign_out,
)

pytestmark = pytest.mark.browser

SUBJECT = "Outlook stops receiving new mail"
SYMPTOM = (
    "Since Monday Outlook on Ann Lee's laptop receives no new mail. She wrote from "
    "ann.lee@corp.example.com and can be called on 13812345678. The laptop has the address "
    "10.20.30.40 and Outlook reports the server exch01.corp.example.com as disconnected."
)


def watch(page, errors):
    """Collect console errors, page errors and CSP violations of ``page`` into ``errors``."""
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))


def resolve_as(page, base, ticket_id):
    """Take the ticket and resolve it with a diagnosis, a cause and a solution."""
    page.goto(f"{base}/tickets/{ticket_id}")
    page.click("form[action$='/take'] button")
    page.wait_for_load_state()
    page.fill("textarea[name=diagnosis]", "The mailbox was over its 2 GB quota.")
    page.fill("textarea[name=cause]", "Old attachments filled the mailbox.")
    page.fill(
        "textarea[name=solution]",
        "1. Archive mail older than a year.\n2. Empty Deleted Items.\n3. Restart Outlook.",
    )
    page.click("form[action$='/resolve'] button[type=submit]")
    page.wait_for_load_state()


def test_a_resolved_ticket_becomes_a_reviewed_published_article_a_reader_finds_helpful(
    live_server,  # noqa: F811
    browser,  # noqa: F811
    db,
    make_user,
    make_article,
    make_ticket,
):
    base = live_server
    existing = make_article(
        "Outlook does not receive new mail when the mailbox is full",
        body="## Symptom\n\nOutlook receives no new mail.\n\n## Solution\n\nArchive old mail.\n",
    )
    ann = make_user(username="ann", name="Ann Lee", email="ann.lee@corp.example.com")
    make_user(role=Role.TECHNICIAN, username="tina", name="Tina Tech")
    make_user(role=Role.ADMIN, username="boss", name="Bo Boss")
    make_user(username="reader", name="Rita Reader")
    ticket = make_ticket(ann, subject=SUBJECT, symptom=SYMPTOM)
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch(page, errors)

    # 1. The technician resolves the ticket and asks for a draft.
    sign_in(page, base, "tina")
    resolve_as(page, base, ticket.id)
    page.click("form[action*='/editor/from-ticket/'] button")
    page.wait_for_url(f"**/editor/from-ticket/{ticket.id}")

    # 2. Every redaction is highlighted in the draft with its kind; none shows its original.
    draft = page.locator("[data-draft-text]")
    marks = draft.locator("mark.redaction")
    kinds = set(marks.evaluate_all("ms => ms.map(m => m.dataset.kind)"))
    assert {"name", "email", "phone", "ip", "hostname"} <= kinds, kinds
    assert marks.locator("sup").count() == marks.count()  # each numbered as in the table
    text = draft.inner_text()
    for original in ("Ann Lee", "ann.lee@", "13812345678", "10.20.30.40", "exch01"):
        assert original not in text
    email = draft.locator("mark.redaction[data-kind=email]").first
    assert email.get_attribute("title") == "E-mail address"

    # 3. The duplicate check names the existing article with how alike it is.
    duplicate = page.locator("li.duplicate").filter(has_text=f"#{existing.id} ")
    assert duplicate.count() == 1
    card = duplicate.inner_text()
    assert re.search(r"\d+% of the distinctive words", card), card
    assert re.search(r"(Very likely|Likely) the same problem|Possibly related", card), card
    assert duplicate.get_by_role("button", name=re.compile("Add this ticket's solution")).count()

    # 4. The server name is safe to publish: undo that one redaction and look again.
    host_row = page.locator("table tbody tr", has_text="Host name").first
    number = host_row.locator("td").first.inner_text().strip()
    host_row.get_by_label(re.compile("Publish the original")).check()
    page.click("button[data-review-apply]")
    page.wait_for_load_state()
    undone = page.locator("[data-draft-text] mark.redaction-undone")
    assert undone.count() >= 1
    assert "exch01.corp.example.com" in undone.first.inner_text()
    assert page.locator("[data-draft-text] mark.redaction[data-kind=email]").count()
    assert page.get_by_label(re.compile(f"Publish the original #{number}$")).is_checked()
    page.click("button[name=action][value=create]")
    page.wait_for_url("**/editor/articles/*/edit")
    article_id = int(re.search(r"/articles/(\d+)/edit", page.url).group(1))
    assert page.locator("select[name=visibility]").input_value() == "internal"
    page.click("button[formaction$='/submit']")
    page.wait_for_load_state()
    sign_out(page)

    # 5. The admin sends it back with a comment; the technician adds a step and resubmits.
    sign_in(page, base, "boss")
    page.goto(f"{base}/editor/articles/{article_id}/edit")
    review = page.locator("section[aria-labelledby=review-diff-heading]")
    assert "Nobody has reviewed this article yet" in review.inner_text()
    page.fill("#note-reject", "Say how to check the quota first.")
    page.click("form[action$='/reject'] button")
    page.wait_for_load_state()
    sign_out(page)
    sign_in(page, base, "tina")
    page.goto(f"{base}/editor/articles/{article_id}/edit")
    body = page.locator("textarea[name=body]")
    body.fill(body.input_value() + "\n\nCheck the quota under File > Mailbox settings first.\n")
    page.fill("input[name=note]", "quota check added")
    page.click("button[formaction$='/submit']")
    page.wait_for_load_state()
    sign_out(page)

    # 6. The review shows exactly what changed since it was sent back, then it is published.
    sign_in(page, base, "boss")
    page.goto(f"{base}/editor/articles/{article_id}/edit")
    review = page.locator("section[aria-labelledby=review-diff-heading]")
    assert "Say how to check the quota first." in review.inner_text()
    added = " ".join(review.locator(".diff-body ins").all_inner_texts())
    assert "Mailbox settings" in added and "quota" in added
    assert review.locator(".diff-body del").count() == 0
    page.select_option("select[name=visibility]", "public")
    page.click("button[formaction$='/publish']")
    page.wait_for_load_state()
    page.goto(f"{base}/editor/articles/{article_id}/history")
    history = page.locator("main").inner_text()
    assert f"1 redaction undone by the author: #{number} Host name" in history
    assert "Tina Tech" in history and "Bo Boss" in history
    sign_out(page)
    db.rollback()
    db.expire_all()
    article = db.get(Article, article_id)
    assert article.state is ArticleState.PUBLISHED
    assert "exch01.corp.example.com" in article.body
    assert "ann.lee" not in article.body and "13812345678" not in article.body
    first = db.scalars(
        select(Revision).where(Revision.article_id == article_id).order_by(Revision.number)
    ).first()
    assert f"#{number} hostname" in first.note

    # 7. A reader finds it right away, by search and by suggestion, and finds it helpful.
    sign_in(page, base, "reader")
    page.goto(f"{base}/search?q=quota+mailbox+settings")
    page.locator(f"main a[href*='/articles/{article_id}']").first.wait_for(timeout=5000)
    page.goto(f"{base}/requests/new")
    page.locator("input[name=subject]").press_sequentially("outlook mailbox quota", delay=30)
    option = page.locator("#suggestions [role=option]").filter(has_text=article.title).first
    option.wait_for(timeout=5000)
    page.goto(f"{base}/articles/{article_id}")
    assert "found this helpful" not in page.locator(".article-header").inner_text()
    page.fill("#feedback textarea[name=comment]", "Archiving did it, thanks")
    page.click("#feedback button[value=yes]")
    page.wait_for_load_state()
    assert "1 person found this helpful" in page.locator(".article-header").inner_text()
    assert "You said this article helped." in page.locator("#feedback").inner_text()
    sign_out(page)
    db.rollback()
    db.expire_all()
    assert db.get(Article, article_id).helpful_votes == 1

    # Staff see the vote and the comment on the article.
    sign_in(page, base, "boss")
    page.goto(f"{base}/articles/{article_id}")
    assert "1 found it helpful" in page.locator(".article-figures").inner_text()
    assert "Archiving did it, thanks" in page.locator("#feedback").inner_text()
    assert not errors, errors


def test_the_draft_and_review_pages_read_in_chinese_and_hide_a_selection(
    live_server,  # noqa: F811
    browser,  # noqa: F811
    db,
    make_user,
    make_article,
    make_ticket,
    tmp_path,
):
    base = live_server
    existing = make_article(
        "打印机显示脱机怎么办",
        body="## 问题现象\n\n打印机显示脱机。\n\n## 解决方法\n\n重新添加打印机。\n",
    )
    zhang = make_user(username="zhangwei", name="张伟", email="zhang.wei@corp.example.com")
    make_user(role=Role.TECHNICIAN, username="lina", name="李娜")
    make_user(role=Role.ADMIN, username="boss", name="Bo Boss")
    ticket = make_ticket(
        zhang,
        subject="财务室打印机显示脱机",
        symptom="张伟的电脑打印时提示打印机脱机，联系电话 13912345678，共享盘在财务共享区。",
    )
    errors: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watch(page, errors)
    sign_in(page, base, "lina")
    page.click("form.lang-switch button[value=zh_CN]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    page.goto(f"{base}/tickets/{ticket.id}")
    page.click("form[action$='/take'] button")
    page.wait_for_load_state()
    page.fill("textarea[name=diagnosis]", "打印队列卡住。")
    page.fill("textarea[name=cause]", "驱动更新后端口丢失。")
    page.fill("textarea[name=solution]", "1. 清空打印队列。\n2. 重新添加打印机端口。")
    page.click("form[action$='/resolve'] button[type=submit]")
    page.wait_for_load_state()
    page.click("form[action*='/editor/from-ticket/'] button")
    page.wait_for_url(f"**/editor/from-ticket/{ticket.id}")

    # The draft page speaks Chinese: headings, kinds, the duplicate card, the buttons.
    assert page.locator("h1").inner_text() == "检查脱敏内容"
    assert page.locator("#duplicates-heading").inner_text() == "是否已有相关文章？"
    card = page.locator("li.duplicate").filter(has_text=f"#{existing.id} ").inner_text()
    assert "%" in card and ("问题" in card or "相关" in card), card
    phone = page.locator("[data-draft-text] mark.redaction[data-kind=phone]").first
    assert phone.get_attribute("title") == "电话号码"
    assert page.locator("[data-draft-text] mark.redaction[data-kind=name]").count()
    table = page.locator("section[aria-labelledby=redactions-heading] table").inner_text()
    assert "电话号码" in table and "姓名" in table
    assert "来自仅限员工的记录" in page.locator("[data-draft-text]").inner_text()

    # "Hide the selection" (our script, under the CSP) hides the selected words everywhere.
    page.evaluate(
        """() => {
            const draft = document.querySelector("[data-draft-text]");
            const walker = document.createTreeWalker(draft, NodeFilter.SHOW_TEXT);
            let node;
            while ((node = walker.nextNode()) && !node.data.includes("财务共享区")) {}
            const range = document.createRange();
            const start = node.data.indexOf("财务共享区");
            range.setStart(node, start);
            range.setEnd(node, start + 5);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
        }"""
    )
    page.get_by_role("button", name="隐去所选内容").click()
    page.wait_for_load_state()
    manual = page.locator("[data-draft-text] mark.redaction[data-kind=manual]")
    manual.first.wait_for(timeout=5000)
    assert manual.first.get_attribute("title") == "手动隐去"
    assert "财务共享区" not in page.locator("[data-draft-text]").inner_text()
    page.screenshot(path=str(tmp_path / "draft-zh.png"), full_page=True)
    page.get_by_role("button", name="创建草稿").click()
    page.wait_for_url("**/editor/articles/*/edit")
    article_id = int(re.search(r"/articles/(\d+)/edit", page.url).group(1))
    staff_notes = page.locator("section[aria-labelledby=staff-notes-heading]").inner_text()
    assert "排查过程、原因" in staff_notes, staff_notes
    page.get_by_role("button", name="保存并提交审核").click()
    page.wait_for_load_state()
    sign_out(page)

    # The reviewer's page in Chinese: what changed since the last review, the actions.
    sign_in(page, base, "boss")
    page.click("form.lang-switch button[value=zh_CN]")
    page.wait_for_load_state()
    page.goto(f"{base}/editor/articles/{article_id}/edit")
    review = page.locator("section[aria-labelledby=review-diff-heading]")
    assert review.locator("h2").inner_text() == "自上次审核以来的更改"
    assert "这篇文章尚未被审核过" in review.inner_text()
    assert page.get_by_role("button", name="退回为草稿").count() == 1
    assert page.get_by_role("button", name="保存并发布").count() == 1
    page.screenshot(path=str(tmp_path / "review-zh.png"), full_page=True)
    db.rollback()
    db.expire_all()
    article = db.get(Article, article_id)
    assert "财务共享区" not in article.body and "13912345678" not in article.body
    assert "1 text(s) hidden by hand" in article.revisions[0].note
    assert not errors, errors
