"""Recording a call: the technician finds or adds the caller and opens the ticket for them."""

import pytest
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.tickets.models import Actor, Channel, EventKind, Status, Ticket

CALL = {
    "caller": "",
    "new_name": "",
    "new_email": "",
    "new_phone": "",
    "subject": "Printer offline",
    "symptom": "The floor printer says offline since the power cut.",
    "started": "this morning",
    "started_at": "",
    "impact": "team",
    "urgency": "high",
    "contact": "",
    "category": "desktop",
    "diagnosis": "",
    "solution": "",
}


@pytest.fixture
def technician(make_user, login):
    tech = make_user(role=Role.TECHNICIAN, username="tom", name="Tom Hughes")
    login(tech)
    return tech


def reread(db):
    db.rollback()
    db.expire_all()
    return db.scalars(select(Ticket).order_by(Ticket.id)).all()


def test_the_queue_links_to_the_call_page(technician, client):
    page = client.get("/queue").get_data(as_text=True)
    assert 'href="/tickets/call"' in page
    assert client.get("/tickets/call").status_code == 200


def test_a_call_from_a_known_user_opens_a_phone_ticket_recorded_by_the_technician(
    technician, make_user, client, db
):
    caller = make_user(
        username="alice", name="Alice Chen", email="alice@corp.example.com", phone="ext. 2231"
    )
    response = client.post("/tickets/call", CALL | {"caller": "alice@corp.example.com"})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    [ticket] = reread(db)
    assert ticket.channel is Channel.PHONE
    assert ticket.requester_id == caller.id and ticket.recorded_by_id == technician.id
    assert ticket.contact == "ext. 2231"  # the caller's phone when none was typed
    assert ticket.priority == "P2" and ticket.category.slug == "desktop"
    assert ticket.first_response_at is not None  # the call was the first response
    created = ticket.events[0]
    assert created.kind is EventKind.CREATED and created.actor is Actor.USER
    assert created.actor_id == technician.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Tom Hughes recorded a phone call from Alice Chen" in page


@pytest.mark.parametrize("typed", ["alice", "Alice Chen", "ext. 2231", "ALICE@corp.example.com"])
def test_the_caller_is_found_by_username_name_phone_or_email(
    technician, make_user, client, db, typed
):
    caller = make_user(
        username="alice", name="Alice Chen", email="alice@corp.example.com", phone="ext. 2231"
    )
    assert client.post("/tickets/call", CALL | {"caller": typed}).status_code == 302
    assert reread(db)[0].requester_id == caller.id


def test_several_matches_ask_which_caller_and_keep_what_was_typed(
    technician, make_user, client, db
):
    first = make_user(username="zhangwei", name="张伟", email="zhang.wei@corp.example.com")
    second = make_user(username="zhangwei2", name="张伟", email="zhang.wei2@corp.example.com")
    response = client.post("/tickets/call", CALL | {"caller": "张伟"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Choose the caller from the people who match" in page
    assert f'value="{first.id}"' in page and f'value="{second.id}"' in page
    assert "The floor printer says offline" in page
    assert reread(db) == []
    chosen = client.post("/tickets/call", CALL | {"caller": "张伟", "caller_id": str(second.id)})
    assert chosen.status_code == 302
    assert reread(db)[0].requester_id == second.id


def test_a_partial_match_is_offered_not_taken(technician, make_user, client, db):
    caller = make_user(username="alice", name="Alice Chen", email="alice@corp.example.com")
    response = client.post("/tickets/call", CALL | {"caller": "ali"})
    assert response.status_code == 422
    assert f'value="{caller.id}"' in response.get_data(as_text=True)
    assert reread(db) == []


def test_an_unknown_caller_is_added_as_a_new_contact_when_asked(technician, client, db):
    response = client.post("/tickets/call", CALL | {"caller": "Wang Fang"})
    assert response.status_code == 422
    assert "Nobody matches" in response.get_data(as_text=True)
    assert reread(db) == []
    response = client.post(
        "/tickets/call",
        CALL
        | {
            "caller": "Wang Fang",
            "create_caller": "y",
            "new_name": "Wang Fang",
            "new_email": "Wang.Fang@corp.example.com",
            "new_phone": "ext. 3310",
        },
    )
    assert response.status_code == 302
    [ticket] = reread(db)
    caller = db.get(User, ticket.requester_id)
    assert (caller.display_name, caller.email, caller.phone) == (
        "Wang Fang",
        "wang.fang@corp.example.com",
        "ext. 3310",
    )
    assert caller.role is Role.USER and caller.username == "wang.fang"
    assert ticket.contact == "ext. 3310"


def test_a_new_contact_cannot_take_an_address_someone_has(technician, make_user, client, db):
    make_user(username="alice", name="Alice Chen", email="alice@corp.example.com")
    response = client.post(
        "/tickets/call",
        CALL | {"caller": "A. Chen", "create_caller": "y", "new_email": "alice@corp.example.com"},
    )
    assert response.status_code == 422
    assert "already belongs to someone listed" in response.get_data(as_text=True)
    assert reread(db) == []


def test_a_call_solved_on_the_spot_is_resolved_with_diagnosis_and_solution(
    technician, make_user, client, db
):
    make_user(username="alice", name="Alice Chen")
    incomplete = client.post(
        "/tickets/call", CALL | {"caller": "alice", "solved_on_call": "y", "diagnosis": "Paper jam"}
    )
    assert incomplete.status_code == 422
    assert "needs a diagnosis and a solution" in incomplete.get_data(as_text=True)
    response = client.post(
        "/tickets/call",
        CALL
        | {
            "caller": "alice",
            "solved_on_call": "y",
            "diagnosis": "Paper jam in tray 2",
            "solution": "Talked the caller through clearing it.",
        },
    )
    assert response.status_code == 302
    [ticket] = reread(db)
    assert ticket.status is Status.RESOLVED and ticket.assignee_id == technician.id
    assert ticket.solution == "Talked the caller through clearing it."
    assert any(e.kind is EventKind.CONFIRMATION_ASKED for e in ticket.events)


def test_end_users_cannot_record_calls(make_user, login, make_client):
    browser = make_client()
    login(make_user(role=Role.USER), on=browser)
    assert browser.get("/tickets/call").status_code == 403
    assert browser.post("/tickets/call", CALL | {"caller": "x"}).status_code == 403


def test_the_call_page_is_in_chinese_for_chinese_readers(technician, client):
    page = client.get("/tickets/call", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "记录来电" in page
