"""Two people saving the same ticket or article: the second is told what changed, and
nothing anyone saved is lost; submitting an article keeps its unsaved edits."""

from __future__ import annotations

import re

from articles.models import ArticleState
from portal.auth.models import Role
from portal.tickets.models import Status

SEEN = re.compile(r'name="seen" value="(\d+)"')


def _seen(page: str) -> str:
    found = SEEN.search(page)
    assert found, "the ticket page's staff forms say which event they had seen"
    return found.group(1)


def test_a_second_technician_is_told_what_changed_and_nothing_is_overwritten(
    db, make_user, make_ticket, login, make_client
):
    ticket = make_ticket(make_user())
    first = login(make_user(Role.TECHNICIAN, name="Tina"), on=make_client())
    second = login(make_user(Role.TECHNICIAN, name="Tom"), on=make_client())
    seen_by_first = _seen(first.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    seen_by_second = _seen(second.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    fields = {
        "subject": "Printer offline on floor 3",
        "symptom": "It says offline.",
        "started": "this morning",
        "category": "",
        "impact": "team",
        "urgency": "medium",
        "contact": "ext. 1234",
        "reason": "",
    }
    saved = first.post(f"/tickets/{ticket.id}/fields", {**fields, "seen": seen_by_first})
    assert saved.status_code == 302
    stale = second.post(
        f"/tickets/{ticket.id}/fields",
        {**fields, "subject": "Printer broken", "impact": "me", "seen": seen_by_second},
    )
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "changed since you loaded it" in page
    assert "Tina" in page and "Printer offline on floor 3" in page
    db.rollback()
    db.expire_all()
    assert (ticket.subject, ticket.impact) == ("Printer offline on floor 3", "team")
    # Reloaded, the same save goes through.
    fresh = _seen(second.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    again = second.post(
        f"/tickets/{ticket.id}/fields", {**fields, "subject": "Printer broken", "seen": fresh}
    )
    assert again.status_code == 302


def test_a_status_change_over_someone_elses_is_refused_but_a_reply_is_not(
    db, make_user, make_ticket, login, make_client
):
    ticket = make_ticket(make_user())
    tina = login(make_user(Role.TECHNICIAN, name="Tina"), on=make_client())
    tom = login(make_user(Role.TECHNICIAN, name="Tom"), on=make_client())
    tina.post(f"/tickets/{ticket.id}/take", {})
    seen = _seen(tom.get(f"/tickets/{ticket.id}").get_data(as_text=True))
    waiting = tina.post(
        f"/tickets/{ticket.id}/status",
        {
            "status": "waiting",
            "body": "Which printer?",
            "seen": _seen(tina.get(f"/tickets/{ticket.id}").get_data(as_text=True)),
        },
    )
    assert waiting.status_code == 302
    moved = tom.post(
        f"/tickets/{ticket.id}/status", {"status": "in_progress", "body": "", "seen": seen}
    )
    assert moved.status_code == 409
    assert (
        tom.post(
            f"/tickets/{ticket.id}/reply", {"body": "I can help too.", "internal": ""}
        ).status_code
        == 302
    )
    db.rollback()
    db.expire_all()
    assert ticket.status is Status.WAITING


def _article_form(title: str, body: str, version: str | None, **extra: str) -> dict[str, str]:
    form = {
        "title": title,
        "category": "network",
        "visibility": "public",
        "tags": "",
        "body": body,
        "note": "",
        **extra,
    }
    if version is not None:
        form["version"] = version
    return form


def test_saving_an_article_over_a_newer_revision_keeps_both_and_says_so(
    db, make_article, make_user, login, make_client
):
    article = make_article("Reset the VPN client")
    first = login(make_user(Role.TECHNICIAN, name="Tina"), on=make_client())
    second = login(make_user(Role.TECHNICIAN, name="Tom"), on=make_client())
    page = first.get(f"/editor/articles/{article.id}/edit").get_data(as_text=True)
    loaded = str(article.version)
    assert f'value="{loaded}"' in page
    body = "## Resolution\n\nRestart the client, then sign in again.\n"
    assert (
        first.post(
            f"/editor/articles/{article.id}/edit",
            _article_form("Reset the VPN client", body, loaded, note="sign in again"),
        ).status_code
        == 302
    )
    mine = "## Resolution\n\nReinstall the client.\n"
    stale = second.post(
        f"/editor/articles/{article.id}/edit", _article_form("Reset the VPN client", mine, loaded)
    )
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert "changed since you opened it" in text and "Tina" in text and "sign in again" in text
    assert "Reinstall the client." in text  # the second editor's text is still there
    db.rollback()
    db.expire_all()
    assert article.body == body
    # Saving again from that page (it now carries the newer version) keeps the second text.
    newer = str(article.version)
    assert (
        second.post(
            f"/editor/articles/{article.id}/edit",
            _article_form("Reset the VPN client", mine, newer),
        ).status_code
        == 302
    )
    db.rollback()
    db.expire_all()
    assert article.body == mine


def test_submitting_for_review_saves_the_unsaved_edits_first(
    db, make_article, make_user, login, client
):
    draft = make_article("Map a network drive", state=ArticleState.DRAFT)
    login(make_user(Role.TECHNICIAN))
    page = client.get(f"/editor/articles/{draft.id}/edit").get_data(as_text=True)
    assert f'formaction="/editor/articles/{draft.id}/submit"' in page
    body = "## Resolution\n\nUse \\\\fileserver\\share with your account.\n"
    response = client.post(
        f"/editor/articles/{draft.id}/submit",
        _article_form("Map a network drive", body, str(draft.version)),
    )
    assert response.status_code == 302
    db.rollback()
    db.expire_all()
    assert draft.state is ArticleState.IN_REVIEW
    assert draft.body == body
    notes = [r.note for r in draft.revisions]
    assert notes[-2:] == ["edited", "in_review"]
    bad = client.post(
        f"/editor/articles/{draft.id}/submit", _article_form("", body, str(draft.version))
    )
    assert bad.status_code == 422
