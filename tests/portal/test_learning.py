"""The desk learns users' wording from deflections and resolved tickets; searches are logged."""

from sqlalchemy import select

from articles.models import Phrasing
from portal.auth.models import Role
from portal.kb.models import SearchLog
from tests.conftest import lists


def test_a_deflection_teaches_the_article_the_users_words(
    db, make_article, make_user, login, client
):
    article = make_article("Outlook calendar invites missing", body="Check the junk folder.")
    login(make_user(name="Mia Wong", email="mia.wong@corp.example.com"))
    query = "meeting requests vanish, call Mia Wong on 13812345678"
    client.post("/requests/solved", {"article_id": article.id, "q": query})
    learned = db.scalars(select(Phrasing.text).where(Phrasing.article_id == article.id)).all()
    assert len(learned) == 1
    assert "meeting requests vanish" in learned[0]
    assert "Mia Wong" not in learned[0] and "13812345678" not in learned[0]
    assert lists(client.get("/search?q=meeting+requests+vanish").get_data(as_text=True), article)


def test_the_same_wording_is_learned_once(db, make_article, make_user, login, client):
    article = make_article("Printer prints blank pages")
    login(make_user())
    for _ in range(3):
        client.post(
            "/requests/solved", {"article_id": article.id, "q": "printer spits empty sheets"}
        )
    assert len(db.scalars(select(Phrasing).where(Phrasing.article_id == article.id)).all()) == 1


def test_resolving_with_the_article_that_solved_it_links_and_learns(
    db, make_article, make_user, make_ticket, login, client
):
    article = make_article("Reset the Teams cache", category_slug="software")
    ticket = make_ticket(make_user(), subject="Teams shows a white window on start")
    login(make_user(role=Role.TECHNICIAN))
    response = client.post(
        f"/tickets/{ticket.id}/resolve",
        {
            "diagnosis": "Stale cache.",
            "cause": "",
            "solution": "Cleared the cache.",
            "solved_by": article.id,
        },
    )
    assert response.status_code == 302
    db.expire_all()
    assert [a.id for a in db.get(type(ticket), ticket.id).solved_by] == [article.id]
    assert lists(client.get("/search?q=white+window+on+start").get_data(as_text=True), article)


def test_resolving_with_an_unknown_article_is_refused(make_user, make_ticket, login, client):
    ticket = make_ticket(make_user())
    login(make_user(role=Role.TECHNICIAN))
    response = client.post(
        f"/tickets/{ticket.id}/resolve",
        {"diagnosis": "Checked.", "cause": "", "solution": "Done.", "solved_by": 9999},
    )
    assert response.status_code == 422


def test_searches_are_logged_redacted_with_the_result_count_and_the_click(db, make_article, client):
    article = make_article("Map a network drive")
    page = client.get("/search?q=map network drive for bob@corp.example.com").get_data(as_text=True)
    client.get("/search?q=zzzqqq nothing matches")
    logged = db.scalars(select(SearchLog).order_by(SearchLog.id)).all()
    assert [entry.results for entry in logged] == [1, 0]
    assert "bob@corp.example.com" not in logged[0].query
    link = f"/articles/{article.id}/"
    start = page.index(link)
    url = page[start : page.index('"', start)].replace("&amp;", "&")
    assert "sid=" in url, url
    client.get(url)
    db.rollback()  # a fresh snapshot: the request wrote after this session's last read
    assert db.get(SearchLog, logged[0].id).clicked_article_id == article.id
