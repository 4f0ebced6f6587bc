"""Admin-managed synonyms: stored, validated, and applied to search at once."""

import pytest

from portal.admin.synonyms import InvalidSynonyms, parse_group
from portal.auth.models import Role
from tests.conftest import lists


def test_a_group_is_split_on_ascii_and_chinese_commas_without_duplicates():
    assert parse_group("wifi， 无线, wireless ,wifi") == ["wifi", "无线", "wireless"]


@pytest.mark.parametrize(
    "text", ["", "wifi", "wifi, wifi", ", ,", ",".join(f"w{n}" for n in range(30))]
)
def test_a_group_needs_two_to_twenty_entries(text):
    with pytest.raises(InvalidSynonyms):
        parse_group(text)


def test_an_admin_adds_a_group_and_search_finds_articles_by_a_synonym(
    make_article, make_user, login, client, make_client
):
    article = make_article(
        "Wireless drops every few minutes", body="Forget the network and rejoin."
    )
    reader = make_client()
    login(make_user(), on=reader)
    assert not lists(reader.get("/search?q=无线").get_data(as_text=True), article)
    login(make_user(role=Role.ADMIN))
    assert client.post("/admin/synonyms", {"terms": "wifi, 无线, wireless"}).status_code == 302
    assert "无线" in client.get("/admin/synonyms").get_data(as_text=True)
    assert lists(reader.get("/search?q=无线").get_data(as_text=True), article)
    assert lists(reader.get("/requests/suggest?q=wifi").get_data(as_text=True), article)


def test_removing_a_group_stops_the_expansion(db, make_article, make_user, login, client):
    from sqlalchemy import select

    from portal.admin.models import SynonymGroup

    article = make_article("Wireless drops every few minutes")
    login(make_user(role=Role.ADMIN))
    client.post("/admin/synonyms", {"terms": "wifi, 无线, wireless"})
    group = db.scalars(select(SynonymGroup)).one()
    assert client.post(f"/admin/synonyms/{group.id}/delete").status_code == 302
    assert not lists(client.get("/search?q=无线").get_data(as_text=True), article)
    assert client.post(f"/admin/synonyms/{group.id}/delete").status_code == 404


def test_a_bad_group_is_422_with_a_message(make_user, login, client):
    login(make_user(role=Role.ADMIN))
    response = client.post("/admin/synonyms", {"terms": "wifi"})
    assert response.status_code == 422
    assert "comma-separated" in response.get_data(as_text=True)


def test_synonyms_are_admin_only(make_user, login, client):
    login(make_user(role=Role.TECHNICIAN))
    assert client.get("/admin/synonyms").status_code == 403
    assert client.post("/admin/synonyms", {"terms": "a, b"}).status_code == 403


def test_another_process_picks_up_new_synonyms(app, make_article, make_user, login, client):
    from portal.admin.synonyms import SynonymSync
    from search.index import Scope, SearchIndex

    article = make_article("Wireless drops every few minutes")
    login(make_user(role=Role.ADMIN))
    other = SearchIndex.open(app.extensions["solveloop.index"].root)
    sync = SynonymSync(app.extensions["solveloop.sessions"], other)
    assert sync.refresh() is True
    assert sync.refresh() is False
    client.post("/admin/synonyms", {"terms": "wifi, 无线, wireless"})
    assert sync.refresh() is True
    assert [h.id for h in other.search("无线", Scope()).hits] == [str(article.id)]
