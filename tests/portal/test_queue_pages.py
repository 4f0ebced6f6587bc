"""The queue's pages: each order walks every ticket once, page by page, and counts stop
at a cap (the queries are shaped for a large desk; the results must not change)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from articles.models import utcnow
from portal.auth.models import Role
from portal.tickets import queue, views
from portal.tickets.models import Status, Ticket
from portal.tickets.text_search import ticket_terms

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SORT_KEYS = {
    "deadline": lambda t: (t.sla_due_at is None, t.sla_due_at or EPOCH, t.priority, t.id),
    "priority": lambda t: (t.priority, t.created_at, t.id),
    "age": lambda t: (t.created_at, t.id),
    "updated": lambda t: (-t.updated_at.timestamp(), -t.id),
}
VIEW_STATUSES = {
    "all": set(Status),
    "open": {Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING},
    "resolved": {Status.RESOLVED, Status.CLOSED},
}


def _listed(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'name="ticket" value="(\d+)"', page)]


def _walk(client, **args) -> list[int]:
    """Return the ticket numbers of every page of a queue, in order."""
    found: list[int] = []
    for page in range(1, 20):
        response = client.get("/queue", query_string={**args, "page": page})
        assert response.status_code == 200
        rows = _listed(response.get_data(as_text=True))
        if not rows:
            return found
        found += rows
    raise AssertionError("the queue did not end")


@pytest.fixture
def desk(db, make_user, make_ticket):
    """Eleven tickets in every status, with and without running clocks, ties included."""
    requester = make_user()
    now = utcnow().replace(microsecond=0)
    plan = [
        (Status.NEW, "P2", 3, 5),
        (Status.NEW, "P4", None, 9),
        (Status.ASSIGNED, "P1", 1, 7),
        (Status.ASSIGNED, "P3", 3, 7),  # same deadline as the first: priority decides
        (Status.IN_PROGRESS, "P3", -2, 1),  # overdue
        (Status.WAITING, "P2", None, 4),  # paused
        (Status.WAITING, "P2", None, 4),  # a tie everywhere but the number
        (Status.RESOLVED, "P1", None, 30),
        (Status.RESOLVED, "P4", None, 2),
        (Status.CLOSED, "P3", None, 50),
        (Status.CLOSED, "P2", None, 40),
    ]
    tickets = []
    for n, (status, priority, due_hours, age_hours) in enumerate(plan):
        ticket = make_ticket(requester, subject=f"Ticket {n}")
        ticket.status, ticket.priority = status, priority
        ticket.sla_due_at = None if due_hours is None else now + timedelta(hours=due_hours)
        ticket.sla_warn_at = None
        ticket.created_at = now - timedelta(hours=age_hours)
        ticket.updated_at = now - timedelta(minutes=(n * 7) % 5)
        tickets.append(ticket)
    db.commit()
    return tickets


@pytest.mark.parametrize("view", sorted(VIEW_STATUSES))
@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_every_order_lists_each_ticket_once_across_pages(
    db, client, login, make_user, monkeypatch, desk, view, sort
):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    login(make_user(Role.TECHNICIAN))
    db.expire_all()
    expected = sorted(
        (t for t in db.query(Ticket) if t.status in VIEW_STATUSES[view]), key=SORT_KEYS[sort]
    )
    assert _walk(client, view=view, sort=sort) == [t.id for t in expected]


def test_a_status_and_a_filter_narrow_every_page(db, client, login, make_user, monkeypatch, desk):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    login(make_user(Role.TECHNICIAN))
    db.expire_all()
    p2_open = [
        t for t in db.query(Ticket) if t.priority == "P2" and t.status in VIEW_STATUSES["open"]
    ]
    expected = [t.id for t in sorted(p2_open, key=SORT_KEYS["deadline"])]
    assert _walk(client, view="open", priority="P2") == expected
    waiting = [t.id for t in sorted(p2_open, key=SORT_KEYS["age"]) if t.status is Status.WAITING]
    assert _walk(client, view="all", status="waiting", sort="age") == waiting
    # A status the view cannot hold lists nothing, and still shows the view's counts.
    page = client.get("/queue?view=open&status=closed").get_data(as_text=True)
    assert _listed(page) == [] and "New (2)" in page


def test_overdue_lists_only_running_clocks_past_their_deadline(client, login, make_user, desk):
    login(make_user(Role.TECHNICIAN))
    assert _walk(client, view="breached") == [desk[4].id]
    page = client.get("/queue?view=breached").get_data(as_text=True)
    assert "In progress (1)" in page and "Closed" not in page.split("Order:")[0].split("Status:")[1]


def test_counts_past_the_cap_show_as_more_than(client, login, make_user, monkeypatch, desk):
    login(make_user(Role.TECHNICIAN))
    exact = client.get("/queue?view=all").get_data(as_text=True)
    assert "Any (11)" in exact and "New (2)" in exact and "Waiting for the user (2)" in exact
    monkeypatch.setattr(queue, "COUNT_CAP", 1)
    page = client.get("/queue?view=all").get_data(as_text=True)
    # Every status with two tickets stops at the cap; those with one are exact.
    assert 'New (<span title="More than 1">1+</span>)' in page
    assert "In progress (1)" in page
    # The total counts a capped status as the cap: more than 1+1+1+1+1+1+1.
    assert 'Any (<span title="More than 6">6+</span>)' in page
    # The tickets themselves are all there, page after page.
    assert len(_walk(client, view="all")) == 11


def test_capped_counts_are_translated(client, login, make_user, monkeypatch, desk):
    login(make_user(Role.TECHNICIAN, locale="zh_CN"))
    monkeypatch.setattr(queue, "COUNT_CAP", 1)
    page = client.get("/queue?view=all").get_data(as_text=True)
    assert 'title="超过 1"' in page


def test_a_category_number_too_large_is_refused(client, login, make_user):
    login(make_user(Role.TECHNICIAN))
    response = client.get("/queue?category=99999999999")
    assert response.status_code == 400
    assert "Unknown value for category" in response.get_data(as_text=True)


def test_a_search_counts_its_matches_up_to_the_cap(client, login, make_user, monkeypatch, desk):
    login(make_user(Role.TECHNICIAN))
    exact = client.get("/queue?view=all&q=ticket").get_data(as_text=True)
    assert "Any (11)" in exact and "Closed (2)" in exact
    monkeypatch.setattr(queue, "SEARCH_COUNT_CAP", 3)
    page = client.get("/queue?view=all&q=ticket").get_data(as_text=True)
    # Counted in one pass over the matches: past the cap every number is a lower bound.
    assert 'Any (<span title="More than 3">3+</span>)' in page
    assert len(_listed(page)) == 11
    # Read as common words, each status smaller than the word's tickets is counted on its
    # own, up to the cap: here every one exactly.
    monkeypatch.setattr(queue, "WALK_FROM", 1)
    page = client.get("/queue?view=all&q=ticket").get_data(as_text=True)
    assert "Any (11)" in page and "Closed (2)" in page
    assert len(_listed(page)) == 11


@pytest.mark.parametrize("walk_from", [1, 10**9], ids=["along the order", "from the words"])
@pytest.mark.parametrize("view", sorted(VIEW_STATUSES))
@pytest.mark.parametrize("sort", sorted(SORT_KEYS))
def test_a_search_lists_every_match_once_in_the_queues_order_whichever_way_it_is_read(
    db, client, login, make_user, monkeypatch, desk, view, sort, walk_from
):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    monkeypatch.setattr(queue, "WALK_FROM", walk_from)
    login(make_user(Role.TECHNICIAN))
    db.expire_all()
    shown = [t for t in db.query(Ticket) if t.status in VIEW_STATUSES[view]]
    expected = [t.id for t in sorted(shown, key=SORT_KEYS[sort])]
    assert _walk(client, view=view, sort=sort, q="ticket") == expected
    page = client.get("/queue", query_string={"view": view, "q": "ticket"})
    assert f"Any ({len(shown)})" in page.get_data(as_text=True)


@pytest.mark.parametrize("sort", ["deadline", "priority"])
def test_a_priority_filter_on_all_tickets_lists_each_of_that_priority_once(
    db, client, login, make_user, monkeypatch, desk, sort
):
    monkeypatch.setattr(views, "PER_PAGE", 2)
    login(make_user(Role.TECHNICIAN))
    db.expire_all()
    for priority in ("P1", "P2", "P3", "P4"):
        held = [t for t in db.query(Ticket) if t.priority == priority]
        expected = [t.id for t in sorted(held, key=SORT_KEYS[sort])]
        assert _walk(client, view="all", sort=sort, priority=priority) == expected


def _tabs(page: str) -> str:
    return page.split("Status:")[1].split("Order:")[0]


def test_common_and_rare_words_find_the_same_tickets_and_counts(
    db, client, login, make_user, make_ticket, monkeypatch
):
    requester = make_user()
    subjects = [
        "VPN drops every hour",
        "VPN 连接失败",
        "打印机无法打印",
        "Outlook 一直提示输入密码",
        "Outlook crashes on start",
        "忘记密码",
        "VPN 密码过期",
    ]
    statuses = [Status.NEW, Status.CLOSED, Status.WAITING, Status.RESOLVED]
    for n, subject in enumerate(subjects * 2):
        ticket = make_ticket(requester, subject=subject, symptom=f"Case {n}.")
        ticket.status = statuses[n % len(statuses)]
    db.commit()
    login(make_user(Role.TECHNICIAN))
    for q in ("vpn", "打印机", "outlook 密码", "密码 vpn", "outlook", "#3", "印"):
        for view in ("all", "open", "resolved"):
            for sort in ("deadline", "updated", "relevance"):
                read = {}
                for walk_from in (1, 10**9):
                    monkeypatch.setattr(queue, "WALK_FROM", walk_from)
                    args = {"view": view, "q": q, "sort": sort}
                    page = client.get("/queue", query_string=args).get_data(as_text=True)
                    read[walk_from] = (_listed(page), _tabs(page))
                assert read[1] == read[10**9], (q, view, sort)
    monkeypatch.setattr(queue, "WALK_FROM", 1)
    page = client.get("/queue", query_string={"view": "all", "q": "outlook 密码"})
    assert len(_listed(page.get_data(as_text=True))) == 2


@pytest.mark.parametrize("view", sorted(VIEW_STATUSES))
def test_best_match_first_lists_every_match_once_heaviest_first_across_pages(
    db, client, login, make_user, make_ticket, monkeypatch, view
):
    requester = make_user()
    now = utcnow().replace(microsecond=0)
    # The word in the subject and the text, the subject only, the text only: three weights,
    # each shared by several tickets, some changed at the same moment.
    texts = [
        ("Printer jam", "The printer jams."),
        ("Printer jam", "Paper stuck."),
        ("Paper stuck", "The printer jams."),
    ]
    statuses = [Status.NEW, Status.WAITING, Status.RESOLVED, Status.CLOSED, Status.ASSIGNED]
    for n in range(15):
        subject, symptom = texts[n % 3]
        ticket = make_ticket(requester, subject=subject, symptom=symptom)
        ticket.status = statuses[n % len(statuses)]
        ticket.updated_at = now - timedelta(minutes=n % 4)
    make_ticket(requester, subject="Keyboard", symptom="Keys stick.")
    db.commit()
    monkeypatch.setattr(views, "PER_PAGE", 2)
    login(make_user(Role.TECHNICIAN))
    db.expire_all()
    weight = dict(
        db.execute(
            select(ticket_terms.c.ticket_id, ticket_terms.c.weight).where(
                ticket_terms.c.term == "printer"
            )
        ).all()
    )
    assert len(set(weight.values())) == 3
    shown = [t for t in db.query(Ticket) if t.id in weight and t.status in VIEW_STATUSES[view]]
    expected = sorted(shown, key=lambda t: (-weight[t.id], -t.updated_at.timestamp(), t.id))
    assert _walk(client, view=view, q="printer", sort="relevance") == [t.id for t in expected]
