"""Comparing revisions word by word (Chinese by word, English by word), restoring an old
revision as a new one, and the version check on every save and state change."""

from __future__ import annotations

import pytest

from articles.errors import ArticleChanged
from articles.models import ArticleState, Visibility
from articles.revisions import Segment, compare, diff_text, last_reviewed, tokens, waiting_since
from articles.service import ArticleFields, change_state, restore_revision, update_article


def test_chinese_is_compared_by_word_and_english_by_word() -> None:
    assert tokens("重启打印机 then reboot") == ["重启", "打印机", " ", "then", " ", "reboot"]
    segments = diff_text("请重启打印机，然后 sign in again.", "请重启路由器，然后 sign out again.")
    assert [s for s in segments if s.op != "same"] == [
        Segment("removed", "打印机"),
        Segment("added", "路由器"),
        Segment("removed", "in"),
        Segment("added", "out"),
    ]
    assert (
        "".join(s.text for s in segments if s.op != "added") == "请重启打印机，然后 sign in again."
    )


def test_unchanged_lines_stay_whole_and_added_lines_are_added() -> None:
    old = "## 步骤\n\n1. Open Settings.\n"
    new = "## 步骤\n\n1. Open Settings.\n2. 选择 Wi-Fi。\n"
    assert diff_text(old, new) == [Segment("same", old), Segment("added", "2. 选择 Wi-Fi。\n")]
    assert diff_text(old, old) == [Segment("same", old)]


def test_a_huge_rewrite_is_shown_as_removed_and_added_whole() -> None:
    old = " ".join(f"word{n}" for n in range(3000))
    new = " ".join(f"other{n}" for n in range(3000))
    assert diff_text(old, new) == [Segment("removed", old), Segment("added", new)]


def test_comparing_revisions_names_classification_changes(db, make_article, category) -> None:
    article = make_article("VPN 809", state=ArticleState.DRAFT, tags=("vpn",))
    fields = ArticleFields(
        title="VPN 错误 809",
        body=article.body,
        category_id=category("desktop").id,
        visibility=Visibility.INTERNAL,
        tags=("vpn", "anyconnect"),
    )
    update_article(db, article, fields, None)
    first, second = article.revisions
    comparison = compare(first, second)
    assert [(f.field, f.old, f.new) for f in comparison.fields] == [
        ("visibility", "public", "internal"),
        ("category", "network", "desktop"),
        ("tags", "vpn", "anyconnect, vpn"),
    ]
    assert [s.op for s in comparison.title] == ["same", "added", "same"]
    first.tags = None  # a revision saved before classification was recorded
    assert [(f.field, f.old) for f in compare(first, second).fields][1:] == [
        ("category", None),
        ("tags", None),
    ]


def test_restoring_an_old_revision_adds_a_new_one_and_keeps_the_history(db, make_article) -> None:
    article = make_article("Reset VPN", state=ArticleState.DRAFT, tags=("vpn",))
    original = article.revisions[0]
    update_article(
        db,
        article,
        ArticleFields(title="Reset VPN", body="Something else.", category_id=None, tags=()),
        None,
    )
    restore_revision(db, article, original, None, loaded=article.version)
    assert article.version == 3 and len(article.revisions) == 3
    assert article.body == original.body and [t.name for t in article.tags] == ["vpn"]
    assert article.category_id == original.category_id
    assert article.revisions[-1].note == "restored revision 1"
    assert article.revisions[1].body == "Something else."  # history is not rewritten


def test_every_save_and_state_change_checks_the_version(db, make_article) -> None:
    article = make_article("Reset VPN", state=ArticleState.DRAFT)
    fields = ArticleFields(title="Reset VPN", body="New text.")
    with pytest.raises(ArticleChanged):
        update_article(db, article, fields, None, loaded=article.version - 1)
    with pytest.raises(ArticleChanged):
        change_state(db, article, ArticleState.IN_REVIEW, None, loaded=article.version + 1)
    with pytest.raises(ArticleChanged):
        restore_revision(db, article, article.revisions[0], None, loaded=0)
    assert article.version == 1 and article.state is ArticleState.DRAFT
    change_state(db, article, ArticleState.IN_REVIEW, None, loaded=1)
    assert article.version == 2


def test_a_review_starts_from_what_the_reviewer_last_sent_back_or_published(
    db, make_article
) -> None:
    article = make_article("Reset VPN", state=ArticleState.IN_REVIEW)
    assert last_reviewed(article.revisions) is None
    submitted = article.revisions[-1].created_at
    assert waiting_since(article.revisions) == submitted
    change_state(db, article, ArticleState.DRAFT, None, "explain step 2")
    update_article(db, article, ArticleFields(title="Reset VPN", body="Step 2 explained."), None)
    change_state(db, article, ArticleState.IN_REVIEW, None)
    reviewed = last_reviewed(article.revisions)
    assert reviewed is not None and reviewed.note == "explain step 2"
    assert waiting_since(article.revisions) == article.revisions[-1].created_at
    change_state(db, article, ArticleState.PUBLISHED, None)
    assert waiting_since(article.revisions) is None
