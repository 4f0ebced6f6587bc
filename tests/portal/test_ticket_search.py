"""Staff search over tickets, saved queue views, the channel column and bulk resolve."""

import re
from datetime import UTC, datetime

from sqlalchemy import select, text

from portal.auth.models import Role
from portal.db import make_engine
from portal.schema import downgrade, upgrade
from portal.tickets.models import Channel, EventKind, Status, Ticket
from portal.tickets.saved_views import SavedView
from portal.tickets.text_search import query_units, ticket_terms


def _listed(page: str) -> list[int]:
    """Return the ticket numbers of a queue page's rows, in order."""
    return [int(n) for n in re.findall(r'name="ticket" value="(\d+)"', page)]


def _queue(client, **args) -> str:
    response = client.get("/queue", query_string={"view": "all", **args})
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def test_search_finds_tickets_by_subject_symptom_reply_and_note_in_both_languages(
    make_user, make_ticket, login, client, make_client
):
    requester, tech = make_user(name="Wang Fang"), make_user(role=Role.TECHNICIAN)
    vpn = make_ticket(requester, subject="VPN drops every hour", symptom="Since Monday.")
    printer = make_ticket(requester, subject="打印机无法打印", symptom="显示脱机状态。")
    quiet = make_ticket(requester, subject="Keyboard", symptom="Some keys stick.")
    staff = make_client()
    login(tech, on=staff)
    staff.post(f"/tickets/{quiet.id}/reply", {"body": "Try the spare laptop dock."})
    staff.post(
        f"/tickets/{printer.id}/reply", {"body": "Spooler service crashed twice", "internal": "1"}
    )
    assert _listed(_queue(staff, q="vpn")) == [vpn.id]
    assert _listed(_queue(staff, q="drop")) == [vpn.id]  # stemmed: drops ~ drop
    assert _listed(_queue(staff, q="打印机")) == [printer.id]
    assert _listed(_queue(staff, q="脱机")) == [printer.id]
    assert _listed(_queue(staff, q="docking laptop")) == [quiet.id]  # a public reply
    assert _listed(_queue(staff, q="spooler")) == [printer.id]  # an internal note (staff)
    assert set(_listed(_queue(staff, q="wang fang"))) == {vpn.id, printer.id, quiet.id}
    assert _listed(_queue(staff, q=f"#{quiet.id}")) == [quiet.id]
    assert _listed(_queue(staff, q="vpn keyboard")) == []  # every word must match
    assert _listed(_queue(staff, q="...")) == []


def test_a_chinese_word_matches_however_the_sentence_was_segmented(make_user, make_ticket):
    requester = make_user()
    make_ticket(requester, subject="共享文件夹打不开", symptom="提示没有权限访问共享文件夹。")
    word, pairs = query_units("文件夹")[0]
    assert word == "文件夹" and pairs == ["文件", "件夹"]


def test_search_results_follow_edits_and_rank_the_subject_first(
    db, make_user, make_ticket, login, client
):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    in_text = make_ticket(requester, subject="Laptop slow", symptom="Outlook takes minutes.")
    in_subject = make_ticket(requester, subject="Outlook crashes", symptom="On start.")
    login(tech)
    assert _listed(_queue(client, q="outlook", sort="relevance")) == [in_subject.id, in_text.id]
    response = client.post(
        f"/tickets/{in_text.id}/fields",
        {
            "subject": "Laptop slow",
            "symptom": "Everything takes minutes.",
            "started": "",
            "started_at": "",
            "contact": "ext. 1234",
            "category": "",
            "impact": "me",
            "urgency": "medium",
            "reason": "",
            "seen": str(max(e.id for e in db.get(Ticket, in_text.id).events)),
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert _listed(_queue(client, q="outlook", sort="relevance")) == [in_subject.id]
    db.rollback()
    db.expire_all()
    stored = db.execute(
        select(ticket_terms.c.ticket_id).where(ticket_terms.c.term == "everyth")
    ).scalars()
    assert list(stored) == [in_text.id]


def test_search_combines_with_views_and_filters_and_counts_only_matches(
    db, make_user, make_ticket, login, client
):
    requester, tech = make_user(), make_user(role=Role.TECHNICIAN)
    high = make_ticket(requester, subject="Mail down for everyone", impact="organisation")
    low = make_ticket(requester, subject="Mail signature wrong")
    make_ticket(requester, subject="Printer jam")
    login(tech)
    assert set(_listed(_queue(client, q="mail"))) == {high.id, low.id}
    assert _listed(_queue(client, q="mail", priority=db.get(Ticket, high.id).priority)) == [high.id]
    page = _queue(client, q="mail")
    assert "(2)" in page  # "Any (2)": the counts are of the matches
    assert "Best match" in page
    assert _listed(_queue(client, q="mail", sort="age")) == [high.id, low.id]


def test_search_input_is_checked(make_user, login, client):
    login(make_user(role=Role.TECHNICIAN))
    too_long = client.get("/queue", query_string={"q": "x" * 201})
    assert too_long.status_code == 400 and "too long" in too_long.get_data(as_text=True)
    assert client.get("/queue?sort=relevance").status_code == 400
    assert client.get("/queue", query_string={"q": "a:b OR * title:(x"}).status_code == 200


def test_requesters_cannot_search_tickets(make_user, make_ticket, login, client):
    requester = make_user()
    make_ticket(make_user(), subject="Someone else's VPN")
    login(requester)
    assert client.get("/queue?q=vpn").status_code == 403


def test_the_queue_shows_the_channel(make_user, make_ticket, login, client):
    make_ticket(make_user(), subject="By the portal")
    login(make_user(role=Role.TECHNICIAN))
    page = _queue(client)
    assert '<th scope="col">Via</th>' in page and "Web portal" in page
    assert _listed(_queue(client, channel=Channel.PHONE.value)) == []


def test_a_technician_saves_opens_and_removes_their_own_views(
    db, make_user, login, client, make_client
):
    tech, other = make_user(role=Role.TECHNICIAN), make_user(role=Role.TECHNICIAN)
    login(tech)
    back = "/queue?view=mine&priority=P1&q=vpn&page=3"
    response = client.post("/queue/views", {"name": "  My  urgent VPN ", "back": back})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/queue?")
    db.rollback()
    saved = db.scalars(select(SavedView)).one()
    assert (saved.name, saved.owner_id, saved.shared) == ("My urgent VPN", tech.id, False)
    assert saved.arguments == {"view": "mine", "priority": "P1", "q": "vpn"}  # no page
    page = _queue(client)
    assert "My urgent VPN" in page and "/queue?view=mine&amp;priority=P1&amp;q=vpn" in page
    # The same name again replaces the view.
    client.post("/queue/views", {"name": "My urgent VPN", "back": "/queue?view=breached"})
    db.rollback()
    assert db.scalars(select(SavedView)).one().arguments == {"view": "breached"}
    # Nobody else sees or removes it.
    others = make_client()
    login(other, on=others)
    assert "My urgent VPN" not in _queue(others)
    assert others.post(f"/queue/views/{saved.id}/delete").status_code == 404
    assert client.post(f"/queue/views/{saved.id}/delete").status_code == 302
    db.rollback()
    assert db.scalars(select(SavedView)).all() == []


def test_saving_a_view_refuses_bad_input(make_user, login, client):
    login(make_user(role=Role.TECHNICIAN))
    assert client.post("/queue/views", {"name": "", "back": "/queue"}).status_code == 422
    assert client.post("/queue/views", {"name": "x" * 61, "back": "/queue"}).status_code == 422
    assert (
        client.post("/queue/views", {"name": "Elsewhere", "back": "https://evil.example/"})
    ).status_code == 422
    shared = client.post("/queue/views", {"name": "All", "back": "/queue", "shared": "y"})
    assert shared.status_code == 422 and "administrator" in shared.get_data(as_text=True)
    assert client.post("/queue/views", {"back": "/queue"}).status_code == 400


def test_an_admin_shares_a_view_with_all_staff(db, make_user, login, client, make_client):
    admin, tech = make_user(role=Role.ADMIN), make_user(role=Role.TECHNICIAN)
    login(admin)
    assert (
        client.post(
            "/queue/views", {"name": "P1 overdue", "back": "/queue?view=breached", "shared": "y"}
        ).status_code
        == 302
    )
    db.rollback()
    view = db.scalars(select(SavedView)).one()
    staff = make_client()
    login(tech, on=staff)
    assert "P1 overdue" in _queue(staff)
    assert staff.post(f"/queue/views/{view.id}/delete").status_code == 403
    assert client.post(f"/queue/views/{view.id}/delete").status_code == 302


def test_bulk_resolve_resolves_the_open_ticked_tickets_and_asks_each_user(
    db, make_user, make_ticket, login, client
):
    tech = make_user(role=Role.TECHNICIAN)
    first, second = make_ticket(make_user()), make_ticket(make_user())
    done = make_ticket(make_user())
    login(tech)
    resolution = {"diagnosis": "Mail server outage", "cause": "", "solution": "Restarted it."}
    client.post(
        f"/tickets/{done.id}/resolve",
        {**resolution, "solved_by": "", "seen": str(db.get(Ticket, done.id).events[-1].id)},
    )
    response = client.post(
        "/queue/resolve",
        {
            **resolution,
            "solved_by": "",
            "ticket": [str(first.id), str(second.id), str(done.id)],
            "back": "/queue?view=all",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/queue?view=all"
    page = client.get("/queue").get_data(as_text=True)
    assert "2 tickets resolved." in page and "1 ticket was already resolved" in page
    db.rollback()
    db.expire_all()
    for ticket in (first, second):
        ticket = db.get(Ticket, ticket.id)
        assert ticket.status is Status.RESOLVED and ticket.solution == "Restarted it."
        assert EventKind.CONFIRMATION_ASKED in [e.kind for e in ticket.events]
    assert [e.kind for e in db.get(Ticket, done.id).events].count(EventKind.CONFIRMATION_ASKED) == 1


def test_bulk_resolve_needs_a_resolution_and_ticked_tickets(make_user, make_ticket, login, client):
    ticket = make_ticket(make_user())
    login(make_user(role=Role.TECHNICIAN))
    base = {"diagnosis": "", "cause": "", "solution": "", "solved_by": "", "back": "/queue"}
    assert client.post("/queue/resolve", {**base, "ticket": str(ticket.id)}).status_code == 422
    filled = {**base, "diagnosis": "d", "solution": "s"}
    assert client.post("/queue/resolve", filled).status_code == 422
    assert client.post("/queue/resolve", {**filled, "ticket": "1; drop"}).status_code == 422


def test_the_migration_fills_the_terms_of_existing_tickets(app, database_url, make_user):
    requester = make_user(name="Li Lei")
    engine = make_engine(database_url)
    try:
        downgrade(engine, "0009")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO tickets (id, subject, symptom, started, impact, urgency,"
                    " core_system_down, priority, contact, channel, status, requester_id,"
                    " diagnosis, cause, solution, created_at, updated_at, reopen_count)"
                    " VALUES (99, '显示器闪烁', 'Flickering screen', '', 'me', 'low', false,"
                    " 'P4', '', 'web', 'new', :requester, '', '', '', :at, :at, 0)"
                ),
                {"requester": requester.id, "at": datetime(2026, 11, 2, tzinfo=UTC)},
            )
        upgrade(engine)
        with engine.connect() as connection:
            rows = connection.execute(
                select(ticket_terms.c.term).where(ticket_terms.c.ticket_id == 99)
            ).scalars()
            assert {"显示器", "flicker", "lei"} <= set(rows)
    finally:
        engine.dispose()
