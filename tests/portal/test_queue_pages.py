"""The queue's pages: each order walks every ticket once, page by page, and counts stop
at a cap (the queries are shaped for a large desk; the results must not change)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from articles.models import utcnow
from portal.auth.models import Role
from portal.tickets import queue, views
from portal.tickets.models import Status, Ticket

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
    monkeypatch.setattr(queue, "COUNT_CAP", 3)
    page = client.get("/queue?view=all&q=ticket").get_data(as_text=True)
    # Past the cap every number is a lower bound: "more than".
    assert 'Any (<span title="More than 3">3+</span>)' in page
    assert len(_listed(page)) == 11
