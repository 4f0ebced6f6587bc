"""Archive and merge: an archived article's address says so (410) with its replacements;
a duplicate merged into another redirects there (301) with its readers, feedback,
wordings and solved tickets, counted once."""

from datetime import date

from sqlalchemy import select

from articles.feedback import ArticleVote, record_view
from articles.models import (
    Article,
    ArticleState,
    IndexOutbox,
    Phrasing,
    Proposal,
    ProposalOutcome,
    Visibility,
)
from articles.service import propose_change
from portal.auth.models import Role
from portal.tickets import service
from portal.tickets.models import ArticleLink, EventKind, Ticket

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def fresh(db, model, key):
    db.rollback()
    db.expire_all()
    return db.get(model, key)


def test_an_archived_article_tells_readers_and_links_to_its_replacements(
    db, make_article, make_user, login, client, make_client
):
    old = make_article("Connect to the old VPN gateway")
    new = make_article("Connect to the VPN with the new client")
    staff_only = make_article("VPN gateway runbook", visibility=Visibility.INTERNAL)
    login(make_user(role=Role.ADMIN))
    response = client.post(
        f"/editor/articles/{old.id}/archive",
        {"replacement": [str(new.id), str(staff_only.id)], "note": "", "version": old.version},
    )
    assert response.status_code == 302
    reader = make_client()
    login(make_user(), on=reader)
    gone = reader.get(f"/articles/{old.id}")
    page = gone.get_data(as_text=True)
    assert gone.status_code == 410
    assert "This article was archived" in page
    assert f"/articles/{new.id}" in page
    assert f"/articles/{staff_only.id}" not in page and "runbook" not in page
    assert "Restart it." not in page  # the archived text itself is not shown
    zh = reader.get(f"/articles/{old.id}", headers=ZH).get_data(as_text=True)
    assert "这篇文章已归档" in zh
    # Staff still read it, with where readers are sent.
    staff_page = client.get(f"/articles/{old.id}")
    assert staff_page.status_code == 200
    assert "They are sent on to:" in staff_page.get_data(as_text=True)
    article = fresh(db, Article, old.id)
    assert article.state is ArticleState.ARCHIVED
    assert [a.id for a in article.replacements] == [new.id, staff_only.id]
    assert article.revisions[-1].note == f"archived; replaced by #{new.id}, #{staff_only.id}"


def test_an_archived_internal_article_stays_unknown_to_readers(
    db, make_article, make_user, login, client, make_client
):
    hidden = make_article("Firewall change runbook", visibility=Visibility.INTERNAL)
    login(make_user(role=Role.ADMIN))
    assert (
        client.post(
            f"/editor/articles/{hidden.id}/archive", {"note": "", "version": hidden.version}
        ).status_code
        == 302
    )
    reader = make_client()
    login(make_user(), on=reader)
    assert reader.get(f"/articles/{hidden.id}").status_code == 404


def test_archiving_refuses_replacements_that_are_not_published_and_changes_nothing(
    db, make_article, make_user, login, client, make_client
):
    article = make_article("Printer driver for floor 3")
    draft = make_article("Printer driver draft", state=ArticleState.DRAFT)
    login(make_user(role=Role.ADMIN))
    for replacement in (str(draft.id), str(article.id), "99999"):
        response = client.post(
            f"/editor/articles/{article.id}/archive",
            {"replacement": replacement, "version": article.version},
            headers=ZH,
        )
        assert response.status_code == 422
        assert "替代文章必须是另一篇已发布的文章" in response.get_data(as_text=True)
    assert (
        client.post(
            f"/editor/articles/{article.id}/archive",
            {"replacement": "x", "version": article.version},
        ).status_code
        == 400
    )
    assert fresh(db, Article, article.id).state is ArticleState.PUBLISHED
    technician = make_client()
    login(make_user(role=Role.TECHNICIAN), on=technician)
    assert technician.post(f"/editor/articles/{article.id}/archive").status_code == 403


def merged_pair(db, make_article, make_user, make_ticket):
    duplicate = make_article(
        "Outlook does not receive mail", body="## Fix\n\nRepair the profile.\n"
    )
    target = make_article(
        "Outlook 无法收邮件 / not receiving mail", body="## 解决方法\n\n修复配置文件。\n"
    )
    both, only_dup, only_target = make_user(), make_user(), make_user()
    tech = make_user(role=Role.TECHNICIAN)
    today = date(2026, 12, 7)
    for article, reader, helpful in (
        (duplicate, both, False),
        (target, both, True),
        (duplicate, only_dup, True),
        (target, only_target, False),
    ):
        db.add(ArticleVote(article_id=article.id, user_id=reader.id, helpful=helpful, comment=""))
    for article, visitor in ((duplicate, "u:1"), (target, "u:1"), (duplicate, "v:abc")):
        record_view(db, db.get(Article, article.id), visitor, today)
    dup = db.get(Article, duplicate.id)
    dup.deflection_count = 3
    db.get(Article, target.id).deflection_count = 2
    db.add(Phrasing(article_id=duplicate.id, text="mail stuck in outbox", source="ticket"))
    db.add(Phrasing(article_id=duplicate.id, text="收不到邮件", source="ticket"))
    db.add(Phrasing(article_id=target.id, text="收不到邮件", source="ticket"))
    db.commit()
    solved_dup = make_ticket(make_user(), subject="Mail stopped arriving")
    solved_both = make_ticket(make_user(), subject="No new mail since Monday")
    for ticket, articles in ((solved_dup, [duplicate]), (solved_both, [duplicate, target])):
        for article in articles:
            service.link_article(
                db.get(Ticket, ticket.id),
                db.get(Article, article.id),
                ArticleLink.SOLVED_BY,
                db.merge(tech),
            )
    db.commit()
    return duplicate, target, (both, only_dup, only_target), (solved_dup, solved_both)


def test_merging_moves_feedback_wordings_and_tickets_without_counting_anyone_twice(
    db, make_article, make_user, make_ticket, login, client
):
    duplicate, target, (both, only_dup, only_target), tickets = merged_pair(
        db, make_article, make_user, make_ticket
    )
    waiting = propose_change(
        db, db.get(Article, duplicate.id), duplicate.title, "Changed.", None, "typo"
    )
    db.commit()
    outbox_before = db.scalar(select(IndexOutbox.id).order_by(IndexOutbox.id.desc()).limit(1))
    admin = make_user(role=Role.ADMIN)
    login(admin)
    response = client.post(
        f"/editor/articles/{duplicate.id}/merge",
        {"target": str(target.id), "note": "same fix", "version": duplicate.version},
    )
    assert response.status_code == 302
    merged = fresh(db, Article, target.id)
    old = db.get(Article, duplicate.id)
    votes = {v.user_id: (v.article_id, v.helpful) for v in db.scalars(select(ArticleVote))}
    # The reader who voted on both keeps the answer they gave the surviving article.
    assert votes == {
        both.id: (target.id, True),
        only_dup.id: (target.id, True),
        only_target.id: (target.id, False),
    }
    assert (merged.helpful_votes, merged.unhelpful_votes) == (2, 1)
    assert (old.helpful_votes, old.unhelpful_votes, old.view_count) == (0, 0, 0)
    assert merged.view_count == 2  # "u:1" read both on the same day: one view
    assert merged.deflection_count == 5 and old.deflection_count == 0
    wordings = set(db.scalars(select(Phrasing.text).where(Phrasing.article_id == target.id)))
    assert wordings == {"mail stuck in outbox", "收不到邮件", "Outlook does not receive mail"}
    assert db.scalars(select(Phrasing).where(Phrasing.article_id == duplicate.id)).all() == []
    for ticket_id in (t.id for t in tickets):
        ticket = db.get(Ticket, ticket_id)
        assert [a.id for a in ticket.solved_by] == [target.id]
    moved = [e for e in db.get(Ticket, tickets[0].id).events if e.kind is EventKind.ARTICLE_LINKED][
        -1
    ]
    assert moved.detail == {
        "article_id": target.id,
        "relation": "solved_by",
        "merged_from": duplicate.id,
    }
    assert old.state is ArticleState.ARCHIVED and old.merged_into_id == target.id
    assert old.revisions[-1].note == f"merged into #{target.id}: same fix"
    assert db.get(Proposal, waiting.id).outcome is ProposalOutcome.DISCARDED
    pending = set(db.scalars(select(IndexOutbox.article_id).where(IndexOutbox.id > outbox_before)))
    assert pending == {duplicate.id, target.id}
    # The old address leads to the surviving article, for readers and staff alike.
    redirect = client.get(f"/articles/{duplicate.id}/outlook-does-not-receive-mail")
    assert redirect.status_code == 301
    assert redirect.headers["Location"].startswith(f"/articles/{target.id}")
    staff_page = client.get(f"/articles/{target.id}").get_data(as_text=True)
    assert "Solved 2 tickets" in staff_page


def test_the_merged_title_finds_the_surviving_article(
    db, make_article, make_user, make_ticket, login, client, make_client
):
    duplicate, target, _, _ = merged_pair(db, make_article, make_user, make_ticket)
    login(make_user(role=Role.ADMIN))
    client.post(
        f"/editor/articles/{duplicate.id}/merge",
        {"target": str(target.id), "note": "", "version": duplicate.version},
    )
    reader = make_client()
    login(make_user(), on=reader)
    page = reader.get("/search?q=outlook+does+not+receive").get_data(as_text=True)
    assert f"/articles/{target.id}" in page
    assert f"/articles/{duplicate.id}" not in page
    assert reader.get(f"/articles/{duplicate.id}").status_code == 301


def test_a_merge_is_for_admins_into_a_published_article_once(
    db, make_article, make_user, login, client, make_client
):
    duplicate = make_article("Teams camera is black")
    target = make_article("Teams camera and microphone")
    draft = make_article("Teams camera draft", state=ArticleState.DRAFT)
    technician = make_client()
    login(make_user(role=Role.TECHNICIAN), on=technician)
    assert (
        technician.post(
            f"/editor/articles/{duplicate.id}/merge",
            {"target": str(target.id), "version": duplicate.version},
        ).status_code
        == 403
    )
    login(make_user(role=Role.ADMIN))
    url = f"/editor/articles/{duplicate.id}/merge"
    v = duplicate.version
    assert client.post(url, {"target": str(duplicate.id), "version": v}).status_code == 422
    refused = client.post(url, {"target": str(draft.id), "version": v}, headers=ZH)
    assert refused.status_code == 422
    assert "已发布" in refused.get_data(as_text=True)
    assert client.post(url, {"target": "not-a-number", "version": v}).status_code == 400
    assert client.post(url, {"version": v}).status_code == 422
    assert client.post(url, {"target": str(target.id)}).status_code == 400  # no version
    assert fresh(db, Article, duplicate.id).state is ArticleState.PUBLISHED
    assert client.post(url, {"target": str(target.id), "version": v}).status_code == 302
    again = client.post(url, {"target": str(target.id), "version": v})
    assert again.status_code == 302  # a second admin is shown where it went
    assert again.headers["Location"].endswith(f"/editor/articles/{target.id}/edit")
    assert "merged already" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_an_article_merged_into_a_duplicate_follows_it_to_the_final_one(
    db, make_article, make_user, login, client
):
    first = make_article("Wi-Fi drops on floor 2")
    second = make_article("Wi-Fi keeps disconnecting")
    final = make_article("Company Wi-Fi on a laptop")
    login(make_user(role=Role.ADMIN))
    for duplicate, target in ((first, second), (second, final)):
        client.post(
            f"/editor/articles/{duplicate.id}/merge",
            {"target": str(target.id), "version": duplicate.version},
        )
    response = client.get(f"/articles/{first.id}")
    assert response.status_code == 301
    assert response.headers["Location"].startswith(f"/articles/{final.id}")


def test_a_merge_over_a_newer_revision_is_refused_with_the_conflict_page_in_both_languages(
    db, make_article, make_user, login, client
):
    duplicate = make_article("Outlook keeps asking for the password")
    target = make_article("Outlook password prompt loops")
    opened_at = duplicate.version
    login(make_user(role=Role.ADMIN))
    edited = client.post(
        f"/editor/articles/{duplicate.id}/edit",
        {
            "title": "Outlook keeps asking for the password (edited)",
            "category": "network",
            "visibility": "public",
            "tags": "",
            "body": "Sign out of Office and in again.",
            "note": "someone else's edit",
            "version": opened_at,
        },
    )
    assert edited.status_code == 302
    url = f"/editor/articles/{duplicate.id}/merge"
    stale = client.post(url, {"target": str(target.id), "note": "dup", "version": opened_at})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "This article changed since you opened it" in page
    assert "someone else&#39;s edit" in page or "someone else's edit" in page
    zh = client.post(url, {"target": str(target.id), "version": opened_at}, headers=ZH).get_data(
        as_text=True
    )
    assert "修订" in zh
    unchanged = fresh(db, Article, duplicate.id)
    assert unchanged.state is ArticleState.PUBLISHED and unchanged.merged_into_id is None
    assert db.get(Article, target.id).revisions[-1].note != f"merged from #{duplicate.id}"
    current = unchanged.version
    assert client.post(url, {"target": str(target.id), "version": current}).status_code == 302
    assert fresh(db, Article, duplicate.id).merged_into_id == target.id
