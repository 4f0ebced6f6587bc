"""The article history (names, notes, a diff of any two revisions, restore as a new
revision), the version check on every state change with two people at once, the
reviewer's diff since the last review, and the review queue's ages."""

from __future__ import annotations

from datetime import timedelta

from articles.models import ArticleState, Revision
from portal.auth.models import Role


def fresh(db):
    db.rollback()
    db.expire_all()


def _form(article, **extra):
    return {
        "title": article.title,
        "category": "network",
        "visibility": "public",
        "tags": "",
        "body": article.body,
        "note": "",
        "version": str(article.version),
        **extra,
    }


def test_history_names_authors_notes_and_shows_a_word_diff(
    db, make_article, make_user, login, client
):
    article = make_article("打印机脱机", body="请重启打印机。\n", state=ArticleState.DRAFT)
    login(make_user(Role.TECHNICIAN, name="Lina Wang"))
    saved = client.post(
        f"/editor/articles/{article.id}/edit",
        _form(article, body="请重启路由器。\n", note="router, not printer"),
    )
    assert saved.status_code == 302
    page = client.get(f"/editor/articles/{article.id}/history").get_data(as_text=True)
    assert "Lina Wang" in page and "author #" not in page
    assert "router, not printer" in page
    assert "<del>打印机</del><ins>路由器</ins>" in page
    fresh(db)
    old = client.get(f"/editor/articles/{article.id}/history?old=2&new=1")
    assert old.status_code == 200  # either order: the older one is the base
    assert "<del>打印机</del><ins>路由器</ins>" in old.get_data(as_text=True)
    assert client.get(f"/editor/articles/{article.id}/history?old=9").status_code == 404


def test_a_revision_saved_before_classification_was_recorded_says_so(
    db, make_article, make_user, login, client
):
    article = make_article("VPN 809")
    db.execute(Revision.__table__.update().values(tags=None, category_id=None))
    db.commit()
    login(make_user(Role.TECHNICIAN))
    page = client.get(f"/editor/articles/{article.id}/history").get_data(as_text=True)
    assert "Category and tags: not recorded" in page


def test_an_admin_restores_an_old_revision_as_a_new_one(
    db, make_article, make_user, login, client, make_client
):
    article = make_article("Reset VPN", body="Old steps.\n", state=ArticleState.DRAFT)
    technician = login(make_user(Role.TECHNICIAN), on=make_client())
    technician.post(f"/editor/articles/{article.id}/edit", _form(article, body="New steps.\n"))
    fresh(db)
    url = f"/editor/articles/{article.id}/revisions/1/restore"
    assert technician.post(url, {"version": str(article.version)}).status_code == 403
    login(make_user(Role.ADMIN))
    page = client.get(f"/editor/articles/{article.id}/history").get_data(as_text=True)
    assert "Restore this revision as a new one" in page
    assert client.post(url, {"version": "1"}).status_code == 409  # opened at revision 1
    assert client.post(url, {}).status_code == 400
    assert client.post(url, {"version": str(article.version)}).status_code == 302
    fresh(db)
    assert article.version == 3 and article.body == "Old steps.\n"
    assert [r.note for r in article.revisions] == ["created", "edited", "restored revision 1"]
    assert client.post(f"/editor/articles/{article.id}/revisions/7/restore", {"version": "3"})


def test_a_state_change_over_someone_elses_save_is_refused_and_keeps_the_note(
    db, make_article, make_user, login, make_client
):
    article = make_article("Reset VPN", state=ArticleState.IN_REVIEW)
    opened_at = str(article.version)
    admin = login(make_user(Role.ADMIN, name="Ada"), on=make_client())
    author = login(make_user(Role.TECHNICIAN, name="Tina"), on=make_client())
    assert (
        author.post(
            f"/editor/articles/{article.id}/edit",
            _form(article, body="Fixed step 2.\n", version=opened_at, note="fixed step 2"),
        ).status_code
        == 302
    )
    stale = admin.post(
        f"/editor/articles/{article.id}/reject",
        {"version": opened_at, "note": "Step 2 is unclear"},
    )
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "changed since you opened it" in page and "Tina" in page and "fixed step 2" in page
    assert 'value="Step 2 is unclear"' in page
    fresh(db)
    assert article.state is ArticleState.IN_REVIEW
    for action in ("publish", "archive", "reactivate", "submit"):
        assert (
            admin.post(
                f"/editor/articles/{article.id}/{action}", {"version": opened_at}
            ).status_code
            == 409
        )
    assert admin.post(f"/editor/articles/{article.id}/reject", {"note": "x"}).status_code == 400
    done = admin.post(
        f"/editor/articles/{article.id}/reject",
        {"version": str(article.version), "note": "Step 2 is unclear"},
    )
    assert done.status_code == 302
    fresh(db)
    assert article.state is ArticleState.DRAFT


def test_a_second_saver_sees_theirs_and_yours_side_by_side(
    db, make_article, make_user, login, make_client
):
    article = make_article("Reset VPN", body="Restart the client.\n", state=ArticleState.DRAFT)
    opened_at = str(article.version)
    first = login(make_user(Role.TECHNICIAN, name="Tina"), on=make_client())
    second = login(make_user(Role.TECHNICIAN, name="Tom"), on=make_client())
    first.post(
        f"/editor/articles/{article.id}/edit",
        _form(article, body="Restart the client, then sign in.\n", version=opened_at),
    )
    stale = second.post(
        f"/editor/articles/{article.id}/submit",
        _form(article, body="Reinstall the client.\n", version=opened_at),
    )
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "Theirs: revision" in page and "Yours: not saved yet" in page
    assert "Restart the client, then sign in." in page  # theirs
    assert page.count("Reinstall the client.") >= 2  # yours, in the form and beside theirs
    assert "<del>Restart</del><ins>Reinstall</ins>" in page
    fresh(db)
    assert article.body == "Restart the client, then sign in.\n"


def test_reactivate_takes_an_archived_article_back_to_draft(
    db, make_article, make_user, login, client
):
    article = make_article("Old printer", state=ArticleState.ARCHIVED)
    login(make_user(Role.ADMIN))
    page = client.get(f"/editor/articles/{article.id}/edit").get_data(as_text=True)
    assert "Reactivate as draft" in page and "/reactivate" in page and "/restore" not in page
    assert (
        client.post(f"/editor/articles/{article.id}/restore", {"version": "4"}).status_code == 404
    )
    moved = client.post(
        f"/editor/articles/{article.id}/reactivate", {"version": str(article.version)}
    )
    assert moved.status_code == 302
    fresh(db)
    assert article.state is ArticleState.DRAFT


def test_the_reviewer_sees_what_changed_since_sending_it_back(
    db, make_article, make_user, login, client, make_client
):
    article = make_article("Map a drive", body="Use the share.\n", state=ArticleState.IN_REVIEW)
    login(make_user(Role.ADMIN, name="Ada"))
    page = client.get(f"/editor/articles/{article.id}/edit").get_data(as_text=True)
    assert "What changed since the last review" in page and "Nobody has reviewed" in page
    client.post(
        f"/editor/articles/{article.id}/reject",
        {"version": str(article.version), "note": "Which share?"},
    )
    fresh(db)
    author = login(make_user(Role.TECHNICIAN), on=make_client())
    author.post(
        f"/editor/articles/{article.id}/submit",
        _form(article, body="Use the \\\\files\\team share.\n"),
    )
    page = client.get(f"/editor/articles/{article.id}/edit").get_data(as_text=True)
    assert "sent back by Ada" in page and "Which share?" in page
    assert "<ins>\\\\files\\team </ins>" in page or "<ins>\\\\files\\team" in page


def test_the_review_queue_shows_how_long_each_article_has_waited(
    db, make_article, make_user, login, client
):
    older = make_article("Older draft", state=ArticleState.IN_REVIEW)
    newer = make_article("Newer draft", state=ArticleState.IN_REVIEW)
    older.revisions[-1].created_at -= timedelta(days=3)
    older.updated_at += timedelta(days=1)  # a later edit does not reset the wait
    db.commit()
    login(make_user(Role.TECHNICIAN))
    page = client.get("/editor/articles?state=in_review").get_data(as_text=True)
    assert "Waiting since" in page and "waiting 3 days" in page
    assert page.index("Older draft") < page.index("Newer draft")
    assert newer.title in page
    zh = client.get("/editor/articles?state=in_review", headers={"Accept-Language": "zh-CN"})
    assert "等待" in zh.get_data(as_text=True)


def test_the_notes_the_code_writes_are_shown_in_the_readers_language(
    db, make_article, make_user, login, client
):
    article = make_article("打印机脱机", body="请重启打印机。\n")
    created, _review, published = article.revisions
    created.note = "drafted from ticket #7; 1 redaction(s) undone by the author: #3 hostname"
    published.note = "archived; replaced by #4, #5"
    db.commit()
    login(make_user(Role.TECHNICIAN))
    page = client.get(f"/editor/articles/{article.id}/history").get_data(as_text=True)
    assert "drafted from ticket #7; 1 redaction undone by the author: #3 Host name" in page
    assert "Change note: submitted for review" in page and "Change note: in_review" not in page
    assert "Change note: archived; replaced by #4, #5" in page
    client.post("/language", {"lang": "zh_CN", "next": "/"})
    page = client.get(f"/editor/articles/{article.id}/history").get_data(as_text=True)
    assert "根据工单 #7 起草；作者撤销了 1 处脱敏：#3 主机名" in page
    assert "提交审核" in page and "归档；由 #4, #5 取代" in page


def test_sending_back_without_a_comment_shows_no_comment_to_the_reviewer(
    db, make_article, make_user, login, client, make_client
):
    article = make_article("Map a drive", body="Use the share.\n", state=ArticleState.IN_REVIEW)
    login(make_user(Role.ADMIN, name="Ada"))
    client.post(f"/editor/articles/{article.id}/reject", {"version": str(article.version)})
    fresh(db)
    author = login(make_user(Role.TECHNICIAN), on=make_client())
    author.post(f"/editor/articles/{article.id}/submit", _form(article, body="Use Z:.\n"))
    page = client.get(f"/editor/articles/{article.id}/edit").get_data(as_text=True)
    assert "sent back by Ada" in page and "The reviewer&#39;s comment" not in page


def test_merge_import_and_proposal_notes_keep_the_authors_own_words(app):
    from portal.editor.notes import revision_note

    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert revision_note("merged into #12: 重复文章", {}) == "合并到 #12：重复文章"
        assert revision_note("imported from 00003-vpn.md", {}) == "从 00003-vpn.md 导入"
        assert revision_note("proposal #4", {}) == "采纳修改建议 #4"
        assert revision_note("请看第二步", {}) == "请看第二步"
        assert revision_note("edited; 2 text(s) hidden by hand", {}) == "编辑；手动隐去了 2 处文字"
