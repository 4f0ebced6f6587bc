"""Drafting from a ticket: every redaction shown and undoable, nothing unredacted saved
unless undone, internal by default, staff-only notes marked, requesters see the solution."""

import re

from sqlalchemy import select

from articles.models import Article, Visibility
from portal.admin import settings
from portal.auth.models import Role
from portal.tickets import service
from portal.tickets.models import Ticket
from tests.conftest import FINGERPRINT


def resolved(db, make_user, make_ticket, login, client):
    requester = make_user(name="Wang Fang", email="wang.fang@corp.example.com")
    colleague = make_user(role=Role.TECHNICIAN, name="Lina Ward")
    tech = make_user(role=Role.TECHNICIAN, name="Tom Hughes")
    ticket = make_ticket(
        requester,
        subject="Scanner mails fail for Wang Fang",
        symptom="Scan to e-mail fails; call 13812345678. Logs at https://jira.acme.cn/browse/IT-7",
    )
    service.add_note(db.merge(ticket), db.merge(colleague), "Checked the relay.")
    settings.change(db, "internal_domains", ["acme.cn"], db.merge(tech).id)
    db.commit()
    login(tech)
    client.post(
        f"/tickets/{ticket.id}/resolve",
        {
            "diagnosis": "Lina's laptop reproduced it; token=Zx81kPq02LmN93vB in the log.",
            "cause": "The scanner's SMTP password expired (password: Hunter22).",
            "solution": "1. Update the SMTP account on the scanner.\n2. Send a test scan.",
            "solved_by": "",
        },
    )
    return ticket


def review(client, ticket, **form):
    page = client.get(f"/editor/from-ticket/{ticket.id}").get_data(as_text=True)
    data = {"fingerprint": FINGERPRINT.search(page).group(1), **form}
    return client.post(f"/editor/from-ticket/{ticket.id}", data=data)


def undo_key(page: str, kind: str) -> str:
    return re.search(rf'name="undo" value="({kind}-[0-9a-f]+-\d+)"', page).group(1)


def test_the_review_highlights_each_redaction_with_its_kind_and_saves_nothing(
    db, make_user, make_ticket, login, client
):
    ticket = resolved(db, make_user, make_ticket, login, client)
    response = client.post(f"/editor/from-ticket/{ticket.id}")  # the ticket page's button
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for kind in ("name", "phone", "hostname", "secret", "credential"):
        assert f'<mark class="redaction" data-kind="{kind}"' in page
    # Staff see what each placeholder replaced, to judge it.
    assert "<code>13812345678</code>" in page and "<code>Hunter22</code>" in page
    assert "<code>Lina</code>" in page  # a note's author is on the ticket too
    assert "From staff-only notes" in page
    assert db.scalars(select(Article)).all() == []


def test_creating_without_undo_saves_only_redacted_text_as_an_internal_draft(
    db, make_user, make_ticket, login, client
):
    ticket = resolved(db, make_user, make_ticket, login, client)
    assert review(client, ticket, action="create").status_code == 302
    article = db.scalars(select(Article)).one()
    assert article.visibility is Visibility.INTERNAL
    text = article.title + article.body + "".join(r.body + r.note for r in article.revisions)
    secrets = ("Wang Fang", "13812345678", "jira.acme.cn", "Zx81kPq02LmN93vB", "Hunter22")
    for secret in (*secrets, "Lina"):
        assert secret not in text
    assert "https://[hostname]/browse/IT-7" in article.body
    page = client.get(f"/editor/articles/{article.id}/edit").get_data(as_text=True)
    assert "Parts of this draft came from staff-only notes" in page
    assert "Diagnosis, Cause" in page


def test_one_undone_redaction_is_restored_and_recorded_in_the_revision_note(
    db, make_user, make_ticket, login, client
):
    ticket = resolved(db, make_user, make_ticket, login, client)
    page = review(client, ticket, action="review").get_data(as_text=True)
    key = undo_key(page, "hostname")
    checked = review(client, ticket, action="review", undo=key).get_data(as_text=True)
    assert 'redaction-undone" data-kind="hostname"' in checked
    assert review(client, ticket, action="create", undo=key).status_code == 302
    article = db.scalars(select(Article)).one()
    assert "https://jira.acme.cn/browse/IT-7" in article.body
    assert "13812345678" not in article.body
    [revision] = article.revisions
    assert re.search(r"1 redaction\(s\) undone by the author: #\d+ hostname", revision.note)
    assert "jira" not in revision.note


def test_text_hidden_by_hand_is_replaced_everywhere(db, make_user, make_ticket, login, client):
    ticket = resolved(db, make_user, make_ticket, login, client)
    page = review(client, ticket, action="review", hide_new="test scan").get_data(as_text=True)
    assert 'data-kind="manual"' in page and 'name="hide" value="test scan"' in page
    review(client, ticket, action="create", hide="test scan")
    article = db.scalars(select(Article)).one()
    assert "test scan" not in article.body and "[redacted]" in article.body
    assert "1 text(s) hidden by hand" in article.revisions[0].note


def test_a_ticket_changed_during_the_review_is_reviewed_again(
    db, make_user, make_ticket, login, client
):
    ticket = resolved(db, make_user, make_ticket, login, client)
    page = client.get(f"/editor/from-ticket/{ticket.id}").get_data(as_text=True)
    fingerprint = FINGERPRINT.search(page).group(1)
    db.get(Ticket, ticket.id).solution = "Restart the scanner. Ask Wang Fang to try again."
    db.commit()
    response = client.post(
        f"/editor/from-ticket/{ticket.id}",
        data={"fingerprint": fingerprint, "action": "create", "undo": undo_key(page, "phone")},
    )
    assert response.status_code == 409
    assert "The ticket changed while you were checking" in response.get_data(as_text=True)
    assert db.scalars(select(Article)).all() == []


def test_requesters_cannot_open_the_review_and_bad_input_is_refused(
    db, make_user, make_ticket, login, client, make_client
):
    ticket = resolved(db, make_user, make_ticket, login, client)
    assert review(client, ticket, action="review", hide_new="x" * 201).status_code == 400
    requester = make_client()
    login(db.get(Ticket, ticket.id).requester, on=requester)
    assert requester.get(f"/editor/from-ticket/{ticket.id}").status_code in (403, 404)
    assert requester.post(f"/editor/from-ticket/{ticket.id}").status_code in (403, 404)


def test_requesters_see_the_solution_but_not_the_diagnosis_or_cause(
    db, make_user, make_ticket, login, client, make_client
):
    ticket = resolved(db, make_user, make_ticket, login, client)
    requester = make_client()
    login(db.get(Ticket, ticket.id).requester, on=requester)
    page = requester.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Update the SMTP account on the scanner" in page
    assert "Hunter22" not in page and "reproduced it" not in page
    staff_page = client.get(f"/tickets/{ticket.id}").get_data(as_text=True)
    assert "Hunter22" in staff_page and "reproduced it" in staff_page
