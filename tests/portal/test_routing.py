"""Categories and support groups: admins manage them, new tickets are routed by them."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from articles.models import Category
from portal.admin import catalogue
from portal.admin.catalogue import InvalidCatalogueEntry, Names
from portal.admin.models import SettingChange
from portal.auth.models import Role
from portal.tickets import service
from portal.tickets.models import EventKind, Status, SupportGroup, Ticket


@pytest.fixture
def admin_client(client, login, make_user):
    login(make_user(role=Role.ADMIN, username="desk-admin", name="Desk Admin"))
    return client


@pytest.fixture
def make_group(db, make_user):
    def make(name="Network team", line=1, auto_assign=False, members=()):
        group = catalogue.add_group(
            db, Names(name, name + " 组"), line, auto_assign, [m.id for m in members], None
        )
        db.commit()
        return group

    return make


def route(db, category, group):
    catalogue.update_category(
        db, category, Names(category.name_en, category.name_zh), group.id, None
    )
    db.commit()


def group_events(ticket):
    return [(e.field, e.old_value, e.new_value, e.actor_id) for e in ticket.events if e.field]


def test_a_new_ticket_goes_to_its_categorys_group(db, make_user, make_ticket, make_group, category):
    network = category("network")
    group = make_group()
    route(db, network, group)
    ticket = make_ticket(make_user(), category_id=network.id)
    assert ticket.group_id == group.id
    assert ticket.assignee_id is None and ticket.status is Status.NEW
    (routed,) = [e for e in ticket.events if e.field == "group"]
    assert routed.actor.value == "system" and routed.new_value == group.id


def test_an_auto_assigning_group_picks_the_active_member_with_fewest_open_tickets(
    db, make_user, make_ticket, make_group, category
):
    tom = make_user(Role.TECHNICIAN, "tom")
    lina = make_user(Role.TECHNICIAN, "lina")
    gone = make_user(Role.TECHNICIAN, "gone", active=False)
    assert gone.id > lina.id > tom.id
    network = category("network")
    route(db, network, make_group(auto_assign=True, members=[tom, lina, gone]))
    requester = make_user()
    tickets = [make_ticket(requester, category_id=network.id) for _ in range(3)]
    # Ties go to the older account: Tom, Lina, then Tom again; the inactive one gets none.
    assert [t.assignee_id for t in tickets] == [tom.id, lina.id, tom.id]
    assert all(t.status is Status.ASSIGNED for t in tickets)
    for ticket in (tickets[0], tickets[2]):
        service.record_resolution(ticket, ticket.assignee, "checked", "", "fixed")
        service.confirm_fix(ticket, requester)
    db.commit()
    # Tom's tickets are closed: he has none open, Lina one, so the next is his.
    assert make_ticket(requester, category_id=network.id).assignee_id == tom.id


def test_least_loaded_counts_only_open_tickets(db, make_user, make_ticket, make_group, category):
    tom = make_user(Role.TECHNICIAN, "tom")
    lina = make_user(Role.TECHNICIAN, "lina")
    network = category("network")
    group = make_group(auto_assign=True, members=[tom, lina])
    requester = make_user()
    # Tom has two tickets, both finished; Lina has one open one.
    for _ in range(2):
        done = make_ticket(requester)
        service.take(done, db.merge(tom))
        service.record_resolution(done, db.merge(tom), "checked", "", "fixed")
        service.confirm_fix(done, requester)
    busy = make_ticket(requester)
    service.take(busy, db.merge(lina))
    db.commit()
    route(db, network, group)
    assert make_ticket(requester, category_id=network.id).assignee_id == tom.id


def test_a_retired_group_receives_nothing(db, make_user, make_ticket, make_group, category):
    network = category("network")
    group = make_group()
    route(db, network, group)
    catalogue.retire_group(db, group, True, None)
    db.commit()
    assert make_ticket(make_user(), category_id=network.id).group_id is None


def test_a_core_system_outage_is_p1_whatever_scope_and_urgency(db, make_user, make_ticket):
    ticket = make_ticket(make_user(), impact="me", urgency="low", core_system_down=True)
    assert ticket.priority == "P1"
    tech = make_user(Role.TECHNICIAN)
    service.change_fields(ticket, db.merge(tech), {"core_system_down": False}, "only Outlook")
    db.commit()
    assert ticket.priority == "P4"
    changes = group_events(ticket)
    assert ("core_system_down", True, False, tech.id) in changes
    assert ("priority", "P1", "P4", tech.id) in changes


def test_escalating_records_the_reason_and_drops_an_assignee_outside_the_group(
    db, make_user, make_ticket, make_group
):
    tom = make_user(Role.TECHNICIAN, "tom")
    expert = make_user(Role.TECHNICIAN, "expert")
    first = make_group("Service desk", 1, members=[tom])
    second = make_group("Network specialists", 2, members=[expert])
    ticket = make_ticket(make_user())
    tom = db.merge(tom)
    service.reassign(db, ticket, first, tom, tom, "")
    service.reassign(db, ticket, second, None, tom, "Switch port config needed")
    db.commit()
    assert ticket.group_id == second.id and ticket.assignee_id is None
    escalation = [e for e in ticket.events if e.field == "group"][-1]
    assert escalation.detail["escalated"] is True
    assert escalation.body == "Switch port config needed"
    assert ("assignee", tom.id, None, tom.id) in group_events(ticket)


def test_category_names_are_required_in_both_languages(db):
    with pytest.raises(InvalidCatalogueEntry):
        catalogue.add_category(db, Names("Printing", " "), None, None)
    with pytest.raises(InvalidCatalogueEntry):
        catalogue.add_group(db, Names("", "打印"), 1, False, [], None)


def test_members_must_be_staff(db, make_user):
    with pytest.raises(InvalidCatalogueEntry):
        catalogue.add_group(db, Names("Desk", "服务台"), 1, False, [make_user().id], None)


def test_an_admin_adds_renames_reorders_and_retires_a_category(admin_client, db, make_group):
    group = make_group()
    response = admin_client.post(
        "/admin/categories", {"name_en": "Printing", "name_zh": "打印", "group": str(group.id)}
    )
    assert response.status_code == 302
    db.rollback()
    printing = db.scalars(select(Category).where(Category.name_en == "Printing")).one()
    assert printing.slug == "printing"
    assert catalogue.routes(db)[printing.id] == group.id
    order = [c.id for c in catalogue.ordered_categories(db)]
    assert order[-1] == printing.id

    prefix = f"c{printing.id}-"
    response = admin_client.post(
        f"/admin/categories/{printing.id}",
        {
            prefix + "name_en": "Printing and scanning",
            prefix + "name_zh": "打印与扫描",
            prefix + "group": "",
        },
    )
    assert response.status_code == 302
    admin_client.post(f"/admin/categories/{printing.id}/move", {"direction": "up"})
    admin_client.post(f"/admin/categories/{printing.id}/retire", {"retired": "1"})
    db.rollback()
    db.expire_all()
    assert printing.name_zh == "打印与扫描" and printing.retired
    assert printing.id not in catalogue.routes(db)
    assert [c.id for c in catalogue.ordered_categories(db)].index(printing.id) == len(order) - 2

    # Retired: the request form no longer offers it, and refuses it if sent anyway.
    page = admin_client.get("/requests/new").get_data(as_text=True)
    assert 'value="printing"' not in page
    request = {
        "subject": "Scanner jams",
        "symptom": "Paper jams.",
        "started": "",
        "impact": "me",
        "urgency": "low",
        "contact": "ext. 1",
        "category": "printing",
    }
    assert admin_client.post("/requests/new", request).status_code == 422
    keys = [
        c.key
        for c in db.scalars(select(SettingChange).order_by(SettingChange.id))
        if c.key.startswith("category")
    ]
    assert keys == [f"category:{printing.id}"] * 2 + ["category_order", f"category:{printing.id}"]

    page = admin_client.get("/admin/categories").get_data(as_text=True)
    assert "Printing → Printing and scanning" in page
    assert "Retired: no → yes" in page
    zh = admin_client.get("/admin/categories", headers={"Accept-Language": "zh-CN"})
    assert "打印 → 打印与扫描" in zh.get_data(as_text=True)


def test_a_category_without_its_chinese_name_is_refused_with_the_reason(admin_client, db):
    response = admin_client.post(
        "/admin/categories", {"name_en": "Printing", "name_zh": "", "group": ""}
    )
    assert response.status_code == 422
    db.rollback()
    assert db.scalar(select(Category).where(Category.name_en == "Printing")) is None


def test_moving_needs_a_direction(admin_client, category):
    assert (
        admin_client.post(f"/admin/categories/{category('network').id}/move", {}).status_code == 400
    )
    assert (
        admin_client.post("/admin/categories/999999/move", {"direction": "up"}).status_code == 404
    )


def test_an_admin_creates_a_group_with_members_and_edits_it(admin_client, db, make_user):
    tom = make_user(Role.TECHNICIAN, "tom", "Tom Hughes")
    lina = make_user(Role.TECHNICIAN, "lina", "李娜")
    user = make_user(Role.USER, "alice")
    form = {
        "name_en": "Service desk",
        "name_zh": "服务台",
        "line": "1",
        "auto_assign": "y",
        "members": [str(tom.id)],
    }
    assert admin_client.post("/admin/groups", form).status_code == 302
    db.rollback()
    group = db.scalars(select(SupportGroup)).one()
    assert group.auto_assign and [m.username for m in group.members] == ["tom"]

    prefix = f"g{group.id}-"
    edit = {
        prefix + "name_en": "Service desk",
        prefix + "name_zh": "服务台",
        prefix + "line": "1",
        prefix + "members": [str(tom.id), str(lina.id)],
    }
    assert admin_client.post(f"/admin/groups/{group.id}", edit).status_code == 302
    db.rollback()
    db.expire_all()
    assert not group.auto_assign and {m.username for m in group.members} == {"tom", "lina"}
    page = admin_client.get("/admin/groups").get_data(as_text=True)
    assert (
        "Members: Tom Hughes → Tom Hughes, 李娜" in page
        or "Members: Tom Hughes → 李娜, Tom Hughes" in page
    )

    # An end user is not offered and not accepted as a member.
    edit[prefix + "members"] = [str(user.id)]
    assert admin_client.post(f"/admin/groups/{group.id}", edit).status_code == 422
    edit[prefix + "line"] = "9"
    assert admin_client.post(f"/admin/groups/{group.id}", edit).status_code == 422


def test_catalogue_pages_are_for_admins_only(client, login, make_user):
    login(make_user(Role.TECHNICIAN))
    assert client.get("/admin/categories").status_code == 403
    assert client.get("/admin/groups").status_code == 403
    assert (
        client.post("/admin/groups", {"name_en": "x", "name_zh": "x", "line": "1"}).status_code
        == 403
    )


def technician_client(client, login, make_user):
    tech = make_user(Role.TECHNICIAN, "tom", "Tom Hughes")
    login(tech)
    return client, tech


def test_a_technician_corrects_fields_and_the_timeline_says_who_changed_what(
    client, login, make_user, make_ticket, db, category
):
    client, _tech = technician_client(client, login, make_user)
    ticket = make_ticket(make_user(), subject="printer broken", urgency="low")
    form = {
        "subject": "Printer on floor 3 offline",
        "symptom": ticket.symptom,
        "started": "this morning",
        "category": str(category("desktop").id),
        "impact": "department",
        "urgency": "high",
        "contact": "ext. 1234",
        "reason": "called the user",
    }
    assert client.post(f"/tickets/{ticket.id}/fields", form).status_code == 302
    db.rollback()
    db.expire_all()
    assert ticket.subject == "Printer on floor 3 offline" and ticket.priority == "P2"
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert (
        "Tom Hughes changed the subject from “printer broken” to “Printer on floor 3 offline”"
        in page
    )
    assert "The priority changed from P4 · Low to P2 · High with the impact and urgency" in page
    zh = client.get(f"/tickets/{ticket.id}", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True
    )
    assert "Tom Hughes" in zh and "the subject" not in zh


def test_a_priority_override_needs_a_reason_and_is_recorded(
    client, login, make_user, make_ticket, db
):
    client, _tech = technician_client(client, login, make_user)
    ticket = make_ticket(make_user())
    assert (
        client.post(f"/tickets/{ticket.id}/priority", {"priority": "P1", "reason": ""}).status_code
        == 422
    )
    assert (
        client.post(f"/tickets/{ticket.id}/priority", {"priority": "P0", "reason": "x"}).status_code
        == 422
    )
    assert (
        client.post(
            f"/tickets/{ticket.id}/priority", {"priority": "P1", "reason": "CEO's laptop"}
        ).status_code
        == 302
    )
    db.rollback()
    db.expire_all()
    assert ticket.priority == "P1"
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Tom Hughes overrode the priority from P3" in page and "CEO&#39;s laptop" in page


def test_assigning_and_escalating_from_the_ticket_page(
    client, login, make_user, make_ticket, make_group, db
):
    client, tech = technician_client(client, login, make_user)
    expert = make_user(Role.TECHNICIAN, "expert", "Eve Expert")
    desk = make_group("Service desk", 1, members=[tech])
    specialists = make_group("Network specialists", 2, auto_assign=True, members=[expert])
    ticket = make_ticket(make_user())
    response = client.post(
        f"/tickets/{ticket.id}/assign",
        {"group": str(desk.id), "assignee": str(tech.id), "reason": ""},
    )
    assert response.status_code == 302
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Escalate to a higher line" in page and "Network specialists (line 2)" in page
    assert (
        client.post(
            f"/tickets/{ticket.id}/escalate", {"group": str(specialists.id), "reason": ""}
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/tickets/{ticket.id}/escalate", {"group": str(desk.id), "reason": "x"}
        ).status_code
        == 422
    )
    response = client.post(
        f"/tickets/{ticket.id}/escalate",
        {"group": str(specialists.id), "reason": "Needs a switch change"},
    )
    assert response.status_code == 302
    db.rollback()
    db.expire_all()
    assert ticket.group_id == specialists.id and ticket.assignee_id == expert.id
    page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Tom Hughes escalated the ticket to Network specialists" in page
    assert "The service desk assigned the ticket to Eve Expert" in page
    # "My groups" in the queue is the groups one belongs to.
    assert f"/tickets/{ticket.id}" not in client.get("/queue?view=my_groups").get_data(as_text=True)
    client.post(
        f"/tickets/{ticket.id}/assign", {"group": str(desk.id), "assignee": "", "reason": ""}
    )
    assert f"/tickets/{ticket.id}" in client.get("/queue?view=my_groups").get_data(as_text=True)


def test_requesters_cannot_use_staff_tools(client, login, make_user, make_ticket):
    user = make_user()
    ticket = make_ticket(user)
    login(user)
    for action in ("fields", "priority", "assign", "escalate"):
        assert client.post(f"/tickets/{ticket.id}/{action}", {}).status_code == 403


def test_a_closed_ticket_cannot_be_reassigned(client, login, make_user, make_ticket, db):
    client, tech = technician_client(client, login, make_user)
    requester = make_user()
    ticket = make_ticket(requester)
    service.record_resolution(ticket, db.merge(tech), "checked", "", "fixed")
    service.confirm_fix(ticket, db.merge(requester))
    db.commit()
    response = client.post(
        f"/tickets/{ticket.id}/assign", {"group": "", "assignee": "", "reason": ""}
    )
    assert response.status_code == 422
    assert db.get(Ticket, ticket.id).events[-1].kind is EventKind.USER_CONFIRMED
