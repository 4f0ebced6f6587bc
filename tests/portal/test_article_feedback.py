"""Readers' feedback on articles: one vote each with a comment, views once a day without
crawlers, and deflections counted apart from votes."""

import re
from datetime import date

from sqlalchemy import select

from articles.feedback import ArticleVote, record_view
from articles.models import Article, ArticleState, Visibility
from portal.auth.models import Role

BROWSER = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"}


def _article(db, article_id):
    db.rollback()
    db.expire_all()
    return db.get(Article, article_id)


def test_every_signed_in_reader_votes_once_and_may_change_their_answer(
    db, make_user, make_article, login, make_client
):
    article = make_article("Reset your VPN token")
    alice, bob = make_client(), make_client()
    login(make_user(), on=alice)
    login(make_user(), on=bob)
    assert (
        alice.post(
            f"/articles/{article.id}/feedback", {"helpful": "yes", "comment": ""}
        ).status_code
        == 302
    )
    assert (
        bob.post(
            f"/articles/{article.id}/feedback", {"helpful": "no", "comment": "Step 3 is gone"}
        ).status_code
        == 302
    )
    found = _article(db, article.id)
    assert (found.helpful_votes, found.unhelpful_votes, found.deflection_count) == (1, 1, 0)
    # Answering again replaces the answer, it does not add one.
    alice.post(f"/articles/{article.id}/feedback", {"helpful": "no", "comment": "Wrong menu"})
    alice.post(f"/articles/{article.id}/feedback", {"helpful": "no", "comment": "Wrong menu"})
    found = _article(db, article.id)
    assert (found.helpful_votes, found.unhelpful_votes) == (0, 2)
    assert len(db.scalars(select(ArticleVote)).all()) == 2
    page = alice.get(f"/articles/{article.id}").get_data(as_text=True)
    assert "You said this article did not help." in page
    assert "What readers said" not in page  # comments are for staff


def test_staff_see_the_figures_and_the_comments(
    db, make_user, make_article, login, client, make_client
):
    article = make_article("Printer offline")
    reader = make_client()
    login(make_user(), on=reader)
    reader.get(f"/articles/{article.id}", headers=BROWSER)
    reader.post(
        f"/articles/{article.id}/feedback", {"helpful": "no", "comment": "<b>Still</b> offline"}
    )
    login(make_user(role=Role.TECHNICIAN))
    page = client.get(f"/articles/{article.id}", headers=BROWSER).get_data(as_text=True)
    assert "What readers said (staff only)" in page
    assert "&lt;b&gt;Still&lt;/b&gt; offline" in page and "<b>Still</b>" not in page
    figures = re.search(r"article-figures\">(.*?)</p>", page, re.S).group(1)
    assert "1 did not" in figures and "1 view " in figures, (
        figures
    )  # the reader's (this one is counted after)
    listing = client.get("/editor/articles?sort=unhelpful").get_data(as_text=True)
    assert "Printer offline" in listing and "Requests solved" in listing
    assert client.get("/editor/articles?sort=nonsense").status_code == 400


def test_voting_needs_an_account_an_answer_and_a_readable_published_article(
    make_user, make_article, login, client, make_client
):
    public = make_article("Public guide")
    internal = make_article("Internal runbook", visibility=Visibility.INTERNAL)
    draft = make_article("Draft notes", state=ArticleState.DRAFT)
    anonymous = make_client()
    assert (
        anonymous.post(
            f"/articles/{public.id}/feedback", {"helpful": "yes", "comment": ""}
        ).status_code
        == 302
    )
    assert "Sign in to tell us" in anonymous.get(f"/articles/{public.id}").get_data(as_text=True)
    login(make_user())
    assert (
        client.post(
            f"/articles/{internal.id}/feedback", {"helpful": "yes", "comment": ""}
        ).status_code
        == 404
    )
    assert (
        client.post(f"/articles/{draft.id}/feedback", {"helpful": "yes", "comment": ""}).status_code
        == 404
    )
    assert (
        client.post("/articles/999999/feedback", {"helpful": "yes", "comment": ""}).status_code
        == 404
    )
    assert (
        client.post(
            f"/articles/{public.id}/feedback", {"helpful": "maybe", "comment": ""}
        ).status_code
        == 422
    )
    assert client.post(f"/articles/{public.id}/feedback", {"comment": ""}).status_code == 422
    too_long = {"helpful": "no", "comment": "x" * 1001}
    assert client.post(f"/articles/{public.id}/feedback", too_long).status_code == 422


def test_views_count_once_per_reader_and_day_and_never_for_crawlers(
    db, make_user, make_article, login, make_client
):
    article = make_article("Outlook asks for the password")
    url = f"/articles/{article.id}"
    reader = make_client()
    login(make_user(), on=reader)
    reader.get(url, headers=BROWSER)
    reader.get(url, headers=BROWSER)
    assert _article(db, article.id).view_count == 1
    anonymous = make_client()
    first = anonymous.get(url, headers=BROWSER)
    assert "solveloop_reader=" in first.headers.get("Set-Cookie", "")
    anonymous.get(url, headers=BROWSER)  # the cookie comes back: the same reader
    assert _article(db, article.id).view_count == 2
    bot = make_client()
    bot.get(
        url,
        headers={
            "User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        },
    )
    bot.get(url, headers={"User-Agent": ""})
    assert _article(db, article.id).view_count == 2
    # Another day counts again.
    found = _article(db, article.id)
    assert record_view(db, found, "u:1", date(2030, 1, 2))
    assert not record_view(db, found, "u:1", date(2030, 1, 2))
    db.commit()
    assert _article(db, article.id).view_count == 3


def test_a_deflection_counts_as_a_solved_request_not_as_a_vote(
    db, make_user, make_article, login, client
):
    article = make_article("Wi-Fi keeps dropping")
    login(make_user())
    response = client.post("/requests/solved", {"article_id": str(article.id), "q": "wifi drops"})
    assert response.status_code == 302
    found = _article(db, article.id)
    assert (found.deflection_count, found.helpful_votes, found.unhelpful_votes) == (1, 0, 0)
