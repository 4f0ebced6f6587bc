"""The ticket record: typed, append-only events rendered in the reader's language, two
article links, and the service times reports read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from articles.models import ArticleState
from portal.auth.models import Role
from portal.tickets import service
from portal.tickets.models import (
    Actor,
    ArticleLink,
    EventKind,
    EventsAreAppendOnly,
    Status,
    Ticket,
    TicketEvent,
)
from tests.conftest import draft_from_ticket


def record(db, ticket_id):
    db.rollback()  # a fresh snapshot: the requests committed in their own sessions
    db.expire_all()
    ticket = db.get(Ticket, ticket_id)
    return ticket, [(e.kind, e.field, e.old_value, e.new_value) for e in ticket.events]


def resolve(client, ticket, **fields):
    form = {"diagnosis": "It hung.", "cause": "", "solution": "Restarted it.", "solved_by": ""}
    return client.post(f"/tickets/{ticket.id}/resolve", {**form, **fields})


def test_every_step_of_a_ticket_is_a_typed_event_with_its_values(
    db, make_user, make_ticket, login, client, make_client
):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(requester)
    login(tech)
    client.post(f"/tickets/{ticket.id}/take")
    client.post(f"/tickets/{ticket.id}/status", {"status": "in_progress", "body": ""})
    client.post(f"/tickets/{ticket.id}/reply", {"body": "Is it plugged in?"})
    client.post(f"/tickets/{ticket.id}/reply", {"body": "Driver 3.2 again", "internal": "1"})
    resolve(client, ticket, diagnosis="Queue stuck", solution="Restarted the spooler.")
    user = make_client()
    login(requester, on=user)
    user.post(f"/tickets/{ticket.id}/confirm")
    ticket, events = record(db, ticket.id)
    assert events == [
        (EventKind.CREATED, "", None, None),
        (EventKind.FIELD_CHANGED, "assignee", None, tech.id),
        (EventKind.STATUS_CHANGED, "status", "new", "assigned"),
        (EventKind.STATUS_CHANGED, "status", "assigned", "in_progress"),
        (EventKind.REPLY, "", None, None),
        (EventKind.NOTE, "", None, None),
        (EventKind.FIELD_CHANGED, "diagnosis", "", "Queue stuck"),
        (EventKind.FIELD_CHANGED, "solution", "", "Restarted the spooler."),
        (EventKind.STATUS_CHANGED, "status", "in_progress", "resolved"),
        (EventKind.CONFIRMATION_ASKED, "", None, None),
        (EventKind.USER_CONFIRMED, "status", "resolved", "closed"),
    ]
    actors = [(e.actor, e.actor_id) for e in ticket.events]
    assert actors[0] == (Actor.USER, requester.id)
    assert actors[9] == (Actor.SYSTEM, None)
    assert actors[-1] == (Actor.USER, requester.id)
    assert [e.internal for e in ticket.events if e.field == "diagnosis"] == [True]
    assert ticket.events[0].detail == {"channel": "web", "priority": ticket.priority}
    reply = ticket.events[4]
    assert ticket.first_response_at == reply.created_at
    assert ticket.first_resolved_at == ticket.resolved_at == ticket.events[8].created_at
    assert ticket.closed_at == ticket.events[-1].created_at


def test_only_a_staff_reply_is_the_first_response(db, make_user, make_ticket, login, client):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(requester)
    login(requester)
    client.post(f"/tickets/{ticket.id}/reply", {"body": "Any news?"})
    staff = login(tech, on=type(client)(client.client.application.test_client()))
    staff.post(f"/tickets/{ticket.id}/reply", {"body": "Looking", "internal": "1"})
    assert record(db, ticket.id)[0].first_response_at is None
    assert staff.post(f"/tickets/{ticket.id}/reply", {"body": "Try this."}).status_code == 302
    ticket, _ = record(db, ticket.id)
    assert ticket.first_response_at == ticket.events[-1].created_at


def test_events_cannot_be_changed_or_deleted_by_the_orm(db, make_user, make_ticket):
    ticket = make_ticket(make_user())
    event = ticket.events[0]
    event.body = "rewritten history"
    with pytest.raises(EventsAreAppendOnly):
        db.flush()
    db.rollback()
    db.delete(db.get(TicketEvent, event.id))
    with pytest.raises(EventsAreAppendOnly):
        db.flush()
    db.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ticket_events SET body = 'rewritten' WHERE ticket_id = :id",
        "DELETE FROM ticket_events WHERE ticket_id = :id",
        "DELETE FROM tickets WHERE id = :id",
    ],
)
def test_the_database_refuses_to_rewrite_the_record(statement, db, make_user, make_ticket):
    ticket = make_ticket(make_user())
    with pytest.raises(DBAPIError):
        db.execute(text(statement), {"id": ticket.id})
    db.rollback()
    assert len(db.get(Ticket, ticket.id).events) == 1


def test_the_timeline_is_written_when_shown_in_the_readers_language(
    db, make_user, make_ticket, login, client
):
    requester = make_user(name="Alice")
    tech = make_user(role=Role.TECHNICIAN, name="Tom")
    ticket = make_ticket(requester)
    login(tech)
    client.post(f"/tickets/{ticket.id}/take")
    resolve(client, ticket)
    # The event holds ids, not names: a renamed technician shows under the new name.
    db.get(type(tech), tech.id).display_name = "Thomas"
    db.commit()
    english = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Thomas took the ticket" in english
    assert "Thomas changed the status from New to Assigned" in english
    assert "The service desk asked Alice to confirm the fix" in english
    client.post("/language", {"lang": "zh_CN", "next": "/"})
    chinese = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Thomas 接手了工单" in chinese
    assert "服务台请 Alice 确认问题已解决" in chinese
    timeline = chinese[chinese.index('<ol class="timeline">') :]
    timeline = timeline[: timeline.index("</ol>")]
    for english_text in ("took the ticket", "changed the status", "to confirm", "Confirmed by"):
        assert english_text not in timeline


def test_the_requester_does_not_see_staff_only_changes(db, make_user, make_ticket, login, client):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(requester)
    staff = login(tech, on=type(client)(client.client.application.test_client()))
    form = staff.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Staff only: the user does not see it." in form
    resolve(
        staff,
        ticket,
        diagnosis="Their driver is ancient",
        cause="Vendor image from 2019",
        solution="Updated the driver.",
    )
    login(requester)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "recorded the solution" in page and "Updated the driver." in page
    assert "recorded the diagnosis" not in page
    assert "Their driver is ancient" not in page and "Vendor image from 2019" not in page


def test_drafting_from_a_ticket_solved_by_another_article_makes_a_new_draft(
    db, make_article, make_user, make_ticket, login, client
):
    existing = make_article("Restart the print spooler")
    ticket = make_ticket(make_user(), subject="Printer queue stuck")
    login(make_user(role=Role.TECHNICIAN))
    resolve(client, ticket, solved_by=existing.id)
    response = draft_from_ticket(client, ticket.id)
    assert response.status_code == 302
    assert f"/editor/articles/{existing.id}/" not in response.headers["Location"]
    ticket, _ = record(db, ticket.id)
    assert [a.id for a in ticket.solved_by] == [existing.id]
    [draft] = ticket.drafted_articles
    assert draft.state is ArticleState.DRAFT and draft.id != existing.id
    links = [e.detail for e in ticket.events if e.kind is EventKind.ARTICLE_LINKED]
    assert links == [
        {"article_id": existing.id, "relation": "solved_by"},
        {"article_id": draft.id, "relation": "drafted"},
    ]
    # Drafting again opens that draft, not the article that solved it.
    again = draft_from_ticket(client, ticket.id)
    assert again.headers["Location"].endswith(f"/editor/articles/{draft.id}/edit")
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert f"#{existing.id} Restart the print spooler" in page


def test_one_article_solves_several_tickets_and_a_ticket_cites_several(
    db, make_article, make_user, make_ticket
):
    first, second = make_article("VPN client reset"), make_article("VPN certificate renewal")
    tech = db.merge(make_user(role=Role.TECHNICIAN))
    tickets = [make_ticket(make_user()) for _ in range(2)]
    for ticket in tickets:
        service.link_article(db.merge(ticket), db.merge(first), ArticleLink.SOLVED_BY, tech)
    assert not service.link_article(
        db.merge(tickets[0]), db.merge(first), ArticleLink.SOLVED_BY, tech
    )
    service.link_article(db.merge(tickets[0]), db.merge(second), ArticleLink.SOLVED_BY, tech)
    db.commit()
    db.expire_all()
    assert [a.id for a in db.get(Ticket, tickets[0].id).solved_by] == [first.id, second.id]
    assert [a.id for a in db.get(Ticket, tickets[1].id).solved_by] == [first.id]


def test_correcting_fields_records_old_and_new_values_and_the_priority_follows(
    db, make_user, make_ticket, category
):
    ticket = db.merge(make_ticket(make_user(), impact="me", urgency="medium"))
    tech = db.merge(make_user(role=Role.TECHNICIAN))
    network = category("network")
    service.change_fields(
        ticket, tech, {"urgency": "critical", "category": network.id, "subject": "Printer offline"}
    )
    service.set_priority(ticket, "P1", tech, "The CEO's printer")
    db.commit()
    changes = [
        (e.field, e.old_value, e.new_value, e.detail, e.body)
        for e in db.get(Ticket, ticket.id).events
        if e.kind is EventKind.FIELD_CHANGED
    ]
    # The unchanged subject leaves no event; me × critical is P2 in the default matrix.
    assert changes == [
        ("urgency", "medium", "critical", {}, ""),
        ("category", None, network.id, {}, ""),
        ("priority", "P3", "P2", {"reason": "matrix"}, ""),
        ("priority", "P2", "P1", {"reason": "override"}, "The CEO's printer"),
    ]
    with pytest.raises(ValueError, match="status"):
        service.change_fields(ticket, tech, {"status": "closed"})


def test_the_start_time_keeps_the_words_and_the_typed_time(db, make_user, login, client):
    user = make_user()
    login(user)
    response = client.post(
        "/requests/new",
        {
            "subject": "Monitor flickers",
            "symptom": "Since the update.",
            "started": "after Monday's update",
            "started_at": "2026-11-30T09:15",
            "impact": "me",
            "urgency": "medium",
            "contact": "ext. 4321",
            "category": "",
        },
    )
    assert response.status_code == 302
    ticket = db.query(Ticket).filter_by(subject="Monitor flickers").one()
    assert ticket.started == "after Monday's update"
    # Typed in the desk's time zone (the business calendar's, Asia/Shanghai by default).
    assert ticket.started_at == datetime(2026, 11, 30, 1, 15, tzinfo=UTC)
    assert ticket.status is Status.NEW
