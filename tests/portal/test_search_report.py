"""The search report: readers' searches that found nothing, or whose results went unopened."""

from datetime import timedelta

from articles.models import utcnow
from portal.auth.models import Role
from portal.kb.models import SearchLog


def log(db, query, results, *, opened=None, staff=False, days_ago=1):
    db.add(
        SearchLog(
            query=query,
            results=results,
            staff=staff,
            clicked_article_id=opened,
            created_at=utcnow() - timedelta(days=days_ago),
        )
    )
    db.commit()


def report(client, login, make_user, days=None):
    login(make_user(role=Role.ADMIN))
    url = "/admin/searches" if days is None else f"/admin/searches?days={days}"
    response = client.get(url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    start = page.index('id="unanswered-heading"')
    middle = page.index('id="unopened-heading"')
    return page[start:middle], page[middle:]


def test_searches_that_found_nothing_are_listed_most_frequent_first(db, client, login, make_user):
    for _ in range(3):
        log(db, "Plotter jam", 0)
    log(db, "plotter JAM", 0)
    log(db, "badge reader", 0)
    unanswered, _unopened = report(client, login, make_user)
    assert unanswered.index("plotter jam") < unanswered.index("badge reader")
    # Grouped whatever the case: four searches for the plotter.
    assert '<td class="num">4</td>' in unanswered
    assert "/editor/articles/new?title=plotter+jam" in unanswered


def test_staff_searches_and_older_ones_are_left_out_until_the_period_covers_them(
    db, client, login, make_user
):
    log(db, "checking the vpn article", 0, staff=True)
    log(db, "old printer driver", 0, days_ago=45)
    unanswered, _unopened = report(client, login, make_user)
    assert "checking the vpn article" not in unanswered
    assert "old printer driver" not in unanswered
    unanswered, _unopened = report(client, login, make_user, days=90)
    assert "old printer driver" in unanswered
    assert "checking the vpn article" not in unanswered


def test_searches_whose_results_go_unopened_are_listed_and_opened_ones_not(
    db, client, login, make_user, make_article
):
    article = make_article("Map a network drive")
    for _ in range(3):
        log(db, "shared folder access", 4)
    log(db, "shared folder access", 4, opened=article.id)
    log(db, "map network drive", 2, opened=article.id)
    log(db, "map network drive", 2)
    unanswered, unopened = report(client, login, make_user)
    assert "shared folder access" in unopened
    assert "shared folder access" not in unanswered
    # Half of its searches opened the article: not "rarely".
    assert "map network drive" not in unopened


def test_an_unknown_period_is_a_clear_error(client, login, make_user):
    login(make_user(role=Role.ADMIN))
    for days in ("365", "abc", "-7"):
        response = client.get(f"/admin/searches?days={days}")
        assert response.status_code == 400
        assert "7, 30, 90" in response.get_data(as_text=True)


def test_the_report_escapes_what_readers_typed(db, client, login, make_user):
    log(db, "<script>alert(1)</script> vpn", 0)
    unanswered, _unopened = report(client, login, make_user)
    assert "<script>alert(1)</script>" not in unanswered
    assert "&lt;script&gt;" in unanswered


def test_writing_an_article_from_the_report_proposes_the_search_as_its_title(
    client, login, make_user
):
    login(make_user(role=Role.TECHNICIAN))
    page = client.get("/editor/articles/new?title=plotter%20%20jam").get_data(as_text=True)
    assert 'value="plotter jam"' in page
