"""Tickets: privacy between users, the technician's work, confirmation by the requester."""

from portal.auth.models import Role
from portal.tickets.models import EventKind, Status, Ticket
from portal.tickets.views import PER_PAGE


def test_a_user_sees_only_their_own_tickets(make_user, make_ticket, login, client):
    me, other = make_user(), make_user()
    mine = make_ticket(me, subject="My monitor flickers")
    theirs = make_ticket(other, subject="Their secret problem")
    login(me)
    listing = client.get("/tickets").get_data(as_text=True)
    assert "My monitor flickers" in listing
    assert "Their secret problem" not in listing
    assert client.get(f"/tickets/{mine.id}").status_code == 200
    assert client.get(f"/tickets/{theirs.id}").status_code == 404
    assert client.post(f"/tickets/{theirs.id}/reply", {"body": "hi"}).status_code == 404


def test_a_technician_takes_works_and_resolves_a_ticket(db, make_user, make_ticket, login, client):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(requester)
    login(tech)
    assert "Printer offline" in client.get("/queue").get_data(as_text=True)
    assert client.post(f"/tickets/{ticket.id}/take").status_code == 302
    assert (
        client.post(
            f"/tickets/{ticket.id}/status", {"status": "in_progress", "body": ""}
        ).status_code
        == 302
    )
    client.post(f"/tickets/{ticket.id}/reply", {"body": "Please restart the printer."})
    client.post(
        f"/tickets/{ticket.id}/reply",
        {"body": "Driver 3.2 is broken on PC-ALICE-01", "internal": "1"},
    )
    response = client.post(
        f"/tickets/{ticket.id}/resolve",
        {
            "diagnosis": "Queue stuck",
            "cause": "Spooler crashed",
            "solution": "Restarted the spooler.",
            "solved_by": "",
        },
    )
    assert response.status_code == 302
    db.expire_all()
    ticket = db.get(Ticket, ticket.id)
    assert ticket.status is Status.RESOLVED
    assert ticket.assignee_id == tech.id
    assert (ticket.cause, ticket.solution) == ("Spooler crashed", "Restarted the spooler.")
    kinds = [e.kind for e in ticket.events]
    assert kinds.count(EventKind.NOTE) == 1 and EventKind.CONFIRMATION_ASKED in kinds
    assert ticket.first_response_at is not None


def test_internal_notes_are_hidden_from_the_requester(
    make_user, make_ticket, login, client, make_client
):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(requester)
    staff = make_client()
    login(tech, on=staff)
    staff.post(f"/tickets/{ticket.id}/reply", {"body": "visible reply text"})
    staff.post(f"/tickets/{ticket.id}/reply", {"body": "internal note text", "internal": "1"})
    login(requester)
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "visible reply text" in page
    assert "internal note text" not in page
    assert "internal note text" in staff.get(f"/tickets/{ticket.id}").get_data(as_text=True)


def test_a_user_cannot_post_an_internal_note(make_user, make_ticket, login, client):
    requester = make_user()
    ticket = make_ticket(requester)
    login(requester)
    assert (
        client.post(f"/tickets/{ticket.id}/reply", {"body": "x", "internal": "1"}).status_code
        == 403
    )


def test_the_requester_confirms_the_fix_and_the_ticket_closes(
    db, make_user, make_ticket, login, client, make_client
):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(requester)
    staff = make_client()
    login(tech, on=staff)
    staff.post(
        f"/tickets/{ticket.id}/resolve",
        {
            "diagnosis": "Toner empty.",
            "cause": "",
            "solution": "Replaced the toner.",
            "solved_by": "",
        },
    )
    login(requester)
    assert client.post(f"/tickets/{ticket.id}/confirm").status_code == 302
    db.expire_all()
    assert db.get(Ticket, ticket.id).status is Status.CLOSED
    assert client.post(f"/tickets/{ticket.id}/reply", {"body": "more"}).status_code == 422


def test_the_requester_can_reopen_instead_of_confirming(
    db, make_user, make_ticket, login, client, make_client
):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(requester)
    staff = make_client()
    login(tech, on=staff)
    staff.post(
        f"/tickets/{ticket.id}/resolve",
        {
            "diagnosis": "Toner empty.",
            "cause": "",
            "solution": "Replaced the toner.",
            "solved_by": "",
        },
    )
    login(requester)
    client.post(f"/tickets/{ticket.id}/reopen", {"body": "Still streaky."})
    db.expire_all()
    ticket = db.get(Ticket, ticket.id)
    assert ticket.status is Status.IN_PROGRESS
    # The earlier resolution stays on record; the reopen is counted and carries the comment.
    assert ticket.resolved_at is not None and ticket.first_resolved_at == ticket.resolved_at
    assert ticket.reopen_count == 1
    reopened = ticket.events[-1]
    assert (reopened.kind, reopened.field, reopened.old_value, reopened.new_value) == (
        EventKind.USER_REOPENED,
        "status",
        "resolved",
        "in_progress",
    )
    assert reopened.body == "Still streaky." and reopened.actor_id == requester.id


def test_another_user_cannot_confirm_someone_elses_ticket(
    make_user, make_ticket, login, client, make_client
):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(requester)
    login(tech)
    client.post(
        f"/tickets/{ticket.id}/resolve",
        {"diagnosis": "Checked.", "cause": "", "solution": "Done.", "solved_by": ""},
    )
    assert client.post(f"/tickets/{ticket.id}/confirm").status_code == 403


def test_an_invalid_status_change_is_422(make_user, make_ticket, login, client):
    tech = make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(make_user())
    login(tech)
    assert (
        client.post(f"/tickets/{ticket.id}/status", {"status": "waiting", "body": ""}).status_code
        == 422
    )
    assert (
        client.post(f"/tickets/{ticket.id}/status", {"status": "bogus", "body": ""}).status_code
        == 422
    )
    assert (
        client.post(
            f"/tickets/{ticket.id}/resolve",
            {"diagnosis": "", "cause": "", "solution": "", "solved_by": ""},
        ).status_code
        == 422
    )


def test_the_queue_filters_are_validated(make_user, login, client):
    login(make_user(role=Role.TECHNICIAN))
    for view in ("open", "mine", "unassigned", "resolved", "all"):
        assert client.get(f"/queue?view={view}").status_code == 200
    assert client.get("/queue?view=nonsense").status_code == 400
    assert client.get("/queue?page=-1").status_code == 400


def test_waiting_on_the_user_sends_them_the_question_and_a_refusal_says_why(
    make_user, make_ticket, login, client, db
):
    tech = make_user(role=Role.TECHNICIAN, name="Tom Hughes")
    ticket = make_ticket(make_user())
    login(tech)
    refused = client.post(f"/tickets/{ticket.id}/status", {"status": "waiting", "body": " "})
    assert refused.status_code == 422
    assert "needs a message telling them what you need" in refused.get_data(as_text=True)
    zh = client.post(
        f"/tickets/{ticket.id}/status",
        {"status": "waiting", "body": ""},
        headers={"Accept-Language": "zh-CN"},
    )
    assert "转为等待用户时" in zh.get_data(as_text=True)

    asked = client.post(
        f"/tickets/{ticket.id}/status", {"status": "waiting", "body": "Which printer is it?"}
    )
    assert asked.status_code == 302
    db.rollback()
    db.expire_all()
    reply, moved, _paused = ticket.events[-3:]
    assert (reply.kind, reply.body, reply.internal) == (
        EventKind.REPLY,
        "Which printer is it?",
        False,
    )
    assert (moved.old_value, moved.new_value) == ("new", "waiting")
    assert ticket.first_response_at == reply.created_at


def test_resolving_without_a_diagnosis_is_refused_and_changes_nothing(
    make_user, make_ticket, login, client, db
):
    tech = make_user(role=Role.TECHNICIAN)
    ticket = make_ticket(make_user())
    login(tech)
    before = len(ticket.events)
    response = client.post(
        f"/tickets/{ticket.id}/resolve",
        {"diagnosis": " ", "cause": "", "solution": "Restarted.", "solved_by": ""},
    )
    assert response.status_code == 422
    assert "diagnosis and a solution" in response.get_data(as_text=True)
    db.rollback()
    db.expire_all()
    assert ticket.status is Status.NEW and len(ticket.events) == before and ticket.solution == ""


def test_the_queue_narrows_by_priority_category_channel_and_status_with_counts(
    db, client, login, make_user, make_ticket, category
):
    from portal.tickets import service

    requester = make_user()
    tech = make_user(Role.TECHNICIAN)
    network = category("network")
    vpn = make_ticket(requester, subject="VPN drops", category_id=network.id, urgency="critical")
    make_ticket(requester, subject="Toner empty", urgency="low")
    taken = make_ticket(requester, subject="Mail slow", category_id=network.id)
    service.take(taken, db.merge(tech))
    db.commit()
    login(tech)
    page = client.get(f"/queue?category={network.id}").get_data(as_text=True)
    assert "VPN drops" in page and "Mail slow" in page and "Toner empty" not in page
    assert "New (1)" in page and "Assigned (1)" in page
    narrowed = client.get(f"/queue?category={network.id}&status=assigned").get_data(as_text=True)
    assert "Mail slow" in narrowed and "VPN drops" not in narrowed
    assert "New (1)" in narrowed  # the counts ignore the status picked
    p2 = client.get(f"/queue?priority={vpn.priority}").get_data(as_text=True)
    assert "VPN drops" in p2 and "Toner empty" not in p2
    assert "Toner empty" not in client.get("/queue?channel=phone").get_data(as_text=True)
    for bad in ("priority=P9", "status=lost", "channel=fax", "category=x"):
        assert client.get(f"/queue?{bad}").status_code == 400


def test_technicians_assign_several_tickets_at_once(
    db, client, login, make_user, make_ticket, make_client
):
    requester = make_user()
    tech = make_user(Role.TECHNICIAN, name="Tina")
    first = make_ticket(requester, subject="One")
    second = make_ticket(requester, subject="Two")
    untouched = make_ticket(requester, subject="Three")
    login(tech)
    response = client.post(
        "/queue/assign",
        {
            "ticket": [str(first.id), str(second.id)],
            "group": "",
            "assignee": str(tech.id),
            "reason": "morning sweep",
            "back": "/queue?view=unassigned",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/queue?view=unassigned")
    db.rollback()
    db.expire_all()
    assert first.assignee_id == second.assignee_id == tech.id
    assert untouched.assignee_id is None
    assert first.status is Status.ASSIGNED
    nothing = {"group": "", "assignee": str(tech.id), "reason": "", "back": ""}
    assert client.post("/queue/assign", nothing).status_code == 422
    assert client.post("/queue/assign", {**nothing, "ticket": "x"}).status_code == 422
    user = login(requester, on=make_client())
    assert user.post("/queue/assign", {**nothing, "ticket": str(untouched.id)}).status_code == 403


def test_a_requesters_own_list_is_paged_like_the_queue(make_user, make_ticket, login, client):
    me = make_user()
    for n in range(PER_PAGE + 2):
        make_ticket(me, subject=f"Request number {n:02d}")
    login(me)
    first = client.get("/tickets").get_data(as_text=True)
    assert "Request number 26" in first and "Request number 02" in first
    assert "Request number 01" not in first
    assert 'href="/tickets?page=2"' in first
    second = client.get("/tickets?page=2").get_data(as_text=True)
    assert "Request number 01" in second and "Request number 00" in second
    assert "Request number 02" not in second
    assert 'href="/tickets?page=1"' in second and "page=3" not in second
    beyond = client.get("/tickets?page=3")
    assert beyond.status_code == 200
    assert "There are no more requests." in beyond.get_data(as_text=True)
    assert client.get("/tickets?page=x").status_code == 400
