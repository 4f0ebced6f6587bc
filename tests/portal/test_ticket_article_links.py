"""Links between tickets and articles: "solved by" set from the ticket at any time with a
search box, an article inserted into a public reply is recorded as cited, and the
article shows staff the tickets it solved (readers see nothing of tickets)."""

from sqlalchemy import select

from articles.models import ArticleState, Phrasing, Visibility
from portal.auth.models import Role
from portal.tickets.models import EventKind, Ticket

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def fresh_ticket(db, ticket_id):
    db.rollback()
    db.expire_all()
    return db.get(Ticket, ticket_id)


def links(ticket):
    return [
        (e.detail.get("relation"), e.detail.get("article_id"))
        for e in ticket.events
        if e.kind is EventKind.ARTICLE_LINKED
    ]


def test_the_picker_offers_published_articles_as_you_type_internal_ones_to_staff_only(
    make_article, make_user, login, client, make_client
):
    public = make_article("Reset the VPN token")
    internal = make_article("VPN gateway certificate renewal", visibility=Visibility.INTERNAL)
    draft = make_article("VPN client beta", state=ArticleState.DRAFT)
    login(make_user(role=Role.TECHNICIAN))
    page = client.get("/editor/article-picker?q=vpn&field=solved_by&kind=radio")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'name="solved_by" value="{public.id}"' in html
    assert f'name="solved_by" value="{internal.id}"' in html
    assert f'value="{draft.id}"' not in html
    for_reply = client.get("/editor/article-picker?q=vpn&field=cites&kind=insert&public=1")
    reply_html = for_reply.get_data(as_text=True)
    assert f'data-insert-article="{public.id}"' in reply_html
    assert f"http://localhost/articles/{public.id}" in reply_html
    assert f'data-insert-article="{internal.id}"' not in reply_html
    zh = client.get("/editor/article-picker?q=打印机&field=solved_by&kind=radio", headers=ZH)
    assert "没有" in zh.get_data(as_text=True)
    assert client.get("/editor/article-picker?q=vpn&field=x&kind=radio").status_code == 400
    assert client.get("/editor/article-picker?q=vpn&field=solved_by&kind=js").status_code == 400
    too_long = "v" * 201
    assert (
        client.get(f"/editor/article-picker?q={too_long}&field=cites&kind=insert").status_code
        == 400
    )
    reader = make_client()
    login(make_user(), on=reader)
    assert reader.get("/editor/article-picker?q=vpn&field=solved_by&kind=radio").status_code == 403


def test_solved_by_is_set_from_the_ticket_at_any_time_and_teaches_the_article(
    db, make_article, make_user, make_ticket, login, client, make_client
):
    internal = make_article("Mailbox quota raise runbook", visibility=Visibility.INTERNAL)
    draft = make_article("Mailbox draft", state=ArticleState.DRAFT)
    requester = make_user()
    ticket = make_ticket(requester, subject="My mailbox is full", symptom="Cannot send mail.")
    login(make_user(role=Role.TECHNICIAN))
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Record the article that solved it" in page
    assert 'inputmode="numeric"' not in page  # no bare article-number field
    url = f"/tickets/{ticket.id}/solved-by"
    assert client.post(url, {"solved_by": str(draft.id)}).status_code == 422
    assert client.post(url, {"solved_by": "abc"}).status_code == 422
    assert client.post(url, {}).status_code == 422
    assert client.post(url, {"solved_by": str(internal.id)}).status_code == 302
    assert client.post(url, {"solved_by": str(internal.id)}).status_code == 302  # once only
    stored = fresh_ticket(db, ticket.id)
    assert [a.id for a in stored.solved_by] == [internal.id]
    assert links(stored) == [("solved_by", internal.id)]
    assert db.scalars(select(Phrasing.text).where(Phrasing.article_id == internal.id)).all() == [
        "My mailbox is full"
    ]
    # The requester never learns of the internal article, and may not set links.
    reader = make_client()
    login(requester, on=reader)
    mine = reader.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "quota raise runbook" not in mine
    assert reader.post(url, {"solved_by": str(internal.id)}).status_code == 403


def test_resolving_picks_the_solving_article_from_the_search_box(
    db, make_article, make_user, make_ticket, login, client
):
    article = make_article("Printer shows offline")
    ticket = make_ticket(make_user())
    login(make_user(role=Role.TECHNICIAN))
    response = client.post(
        f"/tickets/{ticket.id}/resolve",
        {
            "diagnosis": "Queue stuck.",
            "cause": "",
            "solution": "Restart the spooler.",
            "solved_by": str(article.id),
        },
    )
    assert response.status_code == 302
    assert [a.id for a in fresh_ticket(db, ticket.id).solved_by] == [article.id]


def test_an_article_inserted_into_a_public_reply_is_recorded_as_cited(
    db, make_article, make_user, make_ticket, login, client
):
    public = make_article("Reset the VPN token")
    other = make_article("VPN error 809")
    internal = make_article("VPN runbook", visibility=Visibility.INTERNAL)
    ticket = make_ticket(make_user(), subject="VPN fails")
    login(make_user(role=Role.TECHNICIAN))
    body = f"Please try this: Reset the VPN token: http://localhost/articles/{public.id}\n"
    response = client.post(
        f"/tickets/{ticket.id}/reply",
        {"body": body, "internal": "", "cites": [str(public.id), str(other.id), str(internal.id)]},
    )
    assert response.status_code == 302
    stored = fresh_ticket(db, ticket.id)
    # Only the article whose address the reply still holds; never an internal one.
    assert links(stored) == [("cited", public.id)]
    assert stored.solved_by == []  # citing is not solving: the technician records that
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "sent article" in page
    assert f'name="solved_by" value="{public.id}"' in page  # offered as the likely choice
    zh = client.get(f"/tickets/{ticket.id}", headers=ZH).get_data(as_text=True)
    assert "在回复中发送了文章" in zh
    # An internal note records no citation.
    client.post(
        f"/tickets/{ticket.id}/reply",
        {"body": f"see /articles/{other.id}", "internal": "1", "cites": str(other.id)},
    )
    assert links(fresh_ticket(db, ticket.id)) == [("cited", public.id)]
    assert (
        client.post(
            f"/tickets/{ticket.id}/reply", {"body": "x", "internal": "", "cites": "1; drop"}
        ).status_code
        == 400
    )


def test_the_article_shows_staff_the_tickets_it_solved_and_readers_nothing(
    db, make_article, make_user, make_ticket, login, client, make_client
):
    article = make_article("Outlook profile repair")
    first = make_ticket(make_user(), subject="Outlook keeps crashing")
    second = make_ticket(make_user(), subject="Outlook 打不开")
    login(make_user(role=Role.TECHNICIAN))
    for ticket in (first, second):
        client.post(f"/tickets/{ticket.id}/solved-by", {"solved_by": str(article.id)})
    page = client.get(f"/articles/{article.id}").get_data(as_text=True)
    assert "Solved 2 tickets" in page
    assert f"/tickets/{first.id}" in page and "Outlook 打不开" in page
    zh = client.get(f"/articles/{article.id}", headers=ZH).get_data(as_text=True)
    assert "解决了 2 个工单" in zh
    reader = make_client()
    login(make_user(), on=reader)
    readers_page = reader.get(f"/articles/{article.id}").get_data(as_text=True)
    assert "/tickets/" not in readers_page and "Outlook keeps crashing" not in readers_page
    assert "Solved 2" not in readers_page


def test_a_similar_article_on_the_ticket_is_recorded_as_the_solution_in_one_click(
    db, make_article, make_user, make_ticket, login, client
):
    article = make_article("VPN 连接失败（错误 809）", body="在家连接公司 VPN 时提示错误 809。")
    ticket = make_ticket(make_user(), subject="VPN 错误 809", symptom="VPN 连接失败，错误 809。")
    login(make_user(role=Role.TECHNICIAN))
    page = client.get(f"/tickets/{ticket.id}", headers=ZH).get_data(as_text=True)
    panel = page[page.index('aria-labelledby="similar-heading"') :]
    assert f'name="solved_by" value="{article.id}"' in panel and "它解决了此工单" in panel
    client.post(f"/tickets/{ticket.id}/solved-by", {"solved_by": str(article.id)})
    assert [a.id for a in fresh_ticket(db, ticket.id).solved_by] == [article.id]
    after = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    similar = after[after.index('aria-labelledby="similar-heading"') :]
    assert "It solved this ticket" not in similar[: similar.index("</section>")]


def test_a_solved_by_set_by_mistake_is_taken_back_and_both_steps_stay_on_record(
    db, make_article, make_user, make_ticket, login, client, make_client
):
    article = make_article("Printer shows offline")
    ticket = make_ticket(make_user())
    login(make_user(role=Role.TECHNICIAN))
    client.post(f"/tickets/{ticket.id}/solved-by", {"solved_by": str(article.id)})
    url = f"/tickets/{ticket.id}/solved-by/{article.id}/remove"
    assert client.post(url).status_code == 302
    stored = fresh_ticket(db, ticket.id)
    assert stored.solved_by == []
    assert links(stored) == [("solved_by", article.id), ("solved_by", article.id)]
    assert stored.events[-1].detail["removed"] is True
    page = client.get(f"/tickets/{ticket.id}", headers=ZH).get_data(as_text=True)
    assert "最终并未解决此工单" in page
    assert client.post(url).status_code == 404  # not linked any more
    assert client.post(f"/tickets/{ticket.id}/solved-by/99999/remove").status_code == 404
    requester = make_client()
    login(stored.requester, on=requester)
    assert requester.post(url).status_code == 403
