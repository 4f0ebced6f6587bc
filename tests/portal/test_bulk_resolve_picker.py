"""The queue's bulk resolve chooses its "solved by" article with the as-you-type picker."""

from portal.auth.models import Role
from portal.tickets.models import ArticleLink, Status, Ticket

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_bulk_resolve_offers_the_article_picker_instead_of_a_number_box_in_both_languages(
    make_user, make_ticket, login, client
):
    make_ticket(make_user())
    login(make_user(role=Role.TECHNICIAN))
    page = client.get("/queue?view=all").get_data(as_text=True)
    assert 'id="picker-bulk-radio"' in page
    assert "/editor/article-picker?field=solved_by&amp;kind=radio" in page
    assert 'type="number"' not in page.split('id="bulk-assign"')[1]
    assert "Article that solved them (optional)" in page
    zh = client.get("/queue?view=all", headers=ZH).get_data(as_text=True)
    assert "解决这些工单的文章（可选）" in zh


def test_the_article_picked_for_a_bulk_resolve_is_recorded_as_solving_every_ticket(
    db, make_user, make_ticket, make_article, login, client
):
    article = make_article(title="Mail server outage: what to do")
    first, second = make_ticket(make_user()), make_ticket(make_user())
    login(make_user(role=Role.TECHNICIAN))
    found = client.get("/editor/article-picker?q=mail+server&field=solved_by&kind=radio")
    assert f'name="solved_by" value="{article.id}"' in found.get_data(as_text=True)
    response = client.post(
        "/queue/resolve",
        {
            "diagnosis": "Mail server outage",
            "cause": "",
            "solution": "Restarted it.",
            "solved_by": str(article.id),
            "q": "mail server",
            "ticket": [str(first.id), str(second.id)],
            "back": "/queue?view=all",
        },
    )
    assert response.status_code == 302
    db.rollback()
    db.expire_all()
    for ticket_id in (first.id, second.id):
        ticket = db.get(Ticket, ticket_id)
        assert ticket.status is Status.RESOLVED
        assert [a.id for a in ticket.solved_by] == [article.id]
        assert any(
            (e.detail or {}).get("relation") == ArticleLink.SOLVED_BY.value for e in ticket.events
        )


def test_a_bulk_resolve_naming_no_published_article_is_refused_and_changes_nothing(
    db, make_user, make_ticket, make_article, login, client
):
    from articles.models import ArticleState

    draft = make_article(title="Draft about the outage", state=ArticleState.DRAFT)
    ticket = make_ticket(make_user())
    login(make_user(role=Role.TECHNICIAN))
    form = {
        "diagnosis": "d",
        "cause": "",
        "solution": "s",
        "ticket": str(ticket.id),
        "back": "/queue",
    }
    refused = client.post("/queue/resolve", {**form, "solved_by": str(draft.id)}, headers=ZH)
    assert refused.status_code == 422
    assert "已发布" in refused.get_data(as_text=True)
    assert client.post("/queue/resolve", {**form, "solved_by": "99999"}).status_code == 422
    db.rollback()
    db.expire_all()
    assert db.get(Ticket, ticket.id).status is not Status.RESOLVED
