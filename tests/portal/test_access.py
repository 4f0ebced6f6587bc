"""Every route checks the role on the server: who gets 200, 302 (sign in), 403 or 404."""

import pytest

from articles.models import ArticleState, Visibility
from portal.auth.models import Role
from portal.tickets import service
from portal.tickets.attachments import Rules, Store, Upload, attach

PAGES = {
    # path template: expected status for anonymous, user, technician, admin
    "/": (200, 200, 200, 200),
    "/search?q=vpn": (200, 200, 200, 200),
    "/categories/network": (200, 200, 200, 200),
    "/articles/{public}": (200, 200, 200, 200),
    "/articles/{internal}": (404, 404, 200, 200),
    "/articles/{draft}": (404, 404, 200, 200),
    "/requests/new": (302, 200, 200, 200),
    "/requests/suggest?q=vpn+client": (302, 200, 200, 200),
    "/tickets": (302, 200, 200, 200),
    "/tickets/{ticket}": (302, 404, 200, 200),
    "/queue": (302, 403, 200, 200),
    "/tickets/call": (302, 403, 200, 200),
    "/editor/articles": (302, 403, 200, 200),
    "/editor/articles/new": (302, 403, 200, 200),
    "/editor/articles/{public}/edit": (302, 403, 200, 200),
    "/editor/articles/{public}/history": (302, 403, 200, 200),
    "/admin/": (302, 403, 403, 200),
    "/admin/searches": (302, 403, 403, 200),
    "/admin/settings": (302, 403, 403, 200),
    "/admin/categories": (302, 403, 403, 200),
    "/admin/groups": (302, 403, 403, 200),
    "/queue?view=my_groups": (302, 403, 200, 200),
    "/queue?view=breached&sort=updated": (302, 403, 200, 200),
    "/queue?q=vpn&view=all": (302, 403, 200, 200),
    "/notifications": (302, 200, 200, 200),
    "/notifications/settings": (302, 200, 200, 200),
    "/service-levels": (200, 200, 200, 200),
    "/admin/mail": (302, 403, 403, 200),
    "/admin/replies": (302, 403, 403, 200),
    "/admin/mail?status=failed": (302, 403, 403, 200),
    "/tickets/{ticket}/rate": (302, 404, 404, 404),
    "/tickets/{ticket}/attachments/{attachment}": (302, 404, 200, 200),
    "/tickets/{ticket}/attachments/{note_attachment}": (302, 404, 200, 200),
    "/account/password": (302, 200, 200, 200),
    "/login": (200, 302, 302, 302),
}

ROLES = (None, Role.USER, Role.TECHNICIAN, Role.ADMIN)


@pytest.fixture
def world(app, db, make_user, make_article, make_ticket):
    owner = make_user(username="owner")
    ticket = make_ticket(owner)
    store = Store(app.config["ATTACHMENTS_PATH"])
    tech = make_user(role=Role.TECHNICIAN)
    note = service.add_note(ticket, db.merge(tech), "the config")
    [request_file] = attach(
        db, store, ticket, ticket.events[0], owner, [Upload("a.log", b"x")], Rules()
    )
    [note_file] = attach(db, store, ticket, note, tech, [Upload("b.log", b"y")], Rules())
    db.commit()
    return {
        "public": make_article("Public VPN guide").id,
        "internal": make_article("Internal VPN runbook", visibility=Visibility.INTERNAL).id,
        "draft": make_article("Draft VPN notes", state=ArticleState.DRAFT).id,
        "ticket": ticket.id,
        "attachment": request_file.id,
        "note_attachment": note_file.id,
    }


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_answers_each_role_as_the_matrix_says(
    path, world, client, make_user, login, make_client
):
    url = path.format(**world)
    for role, expected in zip(ROLES, PAGES[path], strict=True):
        browser = make_client()
        if role is not None:
            login(make_user(role=role), on=browser)
        response = browser.get(url)
        response.close()  # a download streams its file
        status = response.status_code
        assert status == expected, f"{url} as {role}: {status}, expected {expected}"


STAFF_POSTS = [
    ("/tickets/{ticket}/take", {}),
    ("/tickets/{ticket}/status", {"status": "in_progress"}),
    ("/tickets/{ticket}/resolve", {"diagnosis": "x", "solution": "Fixed it"}),
    ("/tickets/{ticket}/priority", {"priority": "P1", "reason": "VIP"}),
    ("/tickets/{ticket}/assign", {"group": "", "assignee": "", "reason": ""}),
    ("/tickets/call", {"caller": "owner", "subject": "x", "symptom": "y", "impact": "me"}),
    ("/editor/preview", {"body": "# hi"}),
    ("/queue/resolve", {"ticket": "{ticket}", "diagnosis": "x", "solution": "y"}),
    ("/queue/views", {"name": "Mine", "back": "/queue"}),
    ("/editor/articles/{draft}/submit", {}),
]


@pytest.mark.parametrize("path,data", STAFF_POSTS)
def test_staff_actions_are_forbidden_to_users(path, data, world, make_user, login, make_client):
    browser = make_client()
    login(make_user(role=Role.USER), on=browser)
    assert browser.post(path.format(**world), data).status_code in (403, 404)


@pytest.mark.parametrize("action", ["archive", "reactivate", "reject"])
def test_curation_actions_are_admin_only(action, world, make_user, login, make_client):
    browser = make_client()
    login(make_user(role=Role.TECHNICIAN), on=browser)
    assert browser.post(f"/editor/articles/{world['public']}/{action}").status_code == 403


def test_a_technician_cannot_publish_unless_the_desk_allows_it(world, make_user, login, client):
    login(make_user(role=Role.TECHNICIAN))
    assert client.post(f"/editor/articles/{world['draft']}/publish").status_code == 403


def test_an_unknown_article_or_ticket_is_404(make_user, login, client):
    login(make_user(role=Role.ADMIN))
    assert client.get("/articles/99999").status_code == 404
    assert client.get("/tickets/99999").status_code == 404
    assert client.get("/editor/articles/99999/edit").status_code == 404
