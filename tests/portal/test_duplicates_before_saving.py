"""Duplicates before saving: the from-ticket check page searches the draft's title and
symptom among drafts, internal and published articles with search's ranking, and adds a
ticket's solution to one of them (a proposal for a published one, never a live change)."""

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from articles.models import Article, ArticleState, Proposal, ProposalOutcome, Visibility
from portal.auth.models import Role
from portal.indexer import index_of, recovery_of
from portal.tickets.models import Ticket
from tests.conftest import FINGERPRINT

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def fresh(db, model, key):
    db.rollback()
    db.expire_all()
    return db.get(model, key)


def resolved_ticket(make_user, make_ticket, login, client, tech=None):
    requester = make_user(name="Wang Fang", email="wang.fang@corp.example.com")
    ticket = make_ticket(
        requester,
        subject="Scanner cannot send scan to email",
        symptom="The office scanner fails to send scans to email; Wang Fang gets nothing.",
    )
    login(tech or make_user(role=Role.TECHNICIAN))
    response = client.post(
        f"/tickets/{ticket.id}/resolve",
        {
            "diagnosis": "Relay refused the scanner.",
            "cause": "SMTP password expired (password: Hunter22).",
            "solution": "Update the scanner's SMTP account, "
            "then mail wang.fang@corp.example.com a test scan.",
            "solved_by": "",
        },
    )
    assert response.status_code == 302
    return ticket


def check_page(client, ticket, **form):
    page = client.get(f"/editor/from-ticket/{ticket.id}")
    if not form:
        return page
    fingerprint = FINGERPRINT.search(page.get_data(as_text=True)).group(1)
    return client.post(
        f"/editor/from-ticket/{ticket.id}", data={"fingerprint": fingerprint, **form}
    )


def test_the_check_page_lists_likely_duplicates_among_drafts_and_internal_articles(
    db, make_article, make_user, make_ticket, login, client
):
    draft = make_article("Scan to email fails on the office scanner", state=ArticleState.DRAFT)
    internal = make_article(
        "Scanner cannot send scans: SMTP relay for staff",
        body="## Symptom\n\nThe office scanner fails to send scans to email.\n\n"
        "## Resolution\n\nReset the relay password.\n",
        visibility=Visibility.INTERNAL,
        category_slug="desktop",
    )
    archived = make_article("Scan to email fails (old scanner)", state=ArticleState.ARCHIVED)
    unrelated = make_article("Request a new laptop")
    ticket = resolved_ticket(make_user, make_ticket, login, client)
    response = check_page(client, ticket)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="append:{draft.id}"' in page
    assert f'value="append:{archived.id}"' not in page
    assert f'value="append:{unrelated.id}"' not in page
    section = page[page.index("duplicates-heading") : page.index("draft-heading")]
    assert "badge-state-draft" in section
    assert f'value="append:{internal.id}"' in page
    assert "badge-visibility-internal" in section
    shares = [int(s) for s in re.findall(r"(\d+)% of the distinctive words", section)]
    assert len(shares) == 2 and all(50 <= share <= 100 for share in shares)
    assert re.search(r"(Very likely|Likely) the same problem", section)
    assert "Is there an article for this already?" in page
    zh = client.get(f"/editor/from-ticket/{ticket.id}", headers=ZH).get_data(as_text=True)
    assert "是否已有相关文章" in zh
    assert db.scalars(select(Article).where(Article.source_ticket_id == ticket.id)).all() == []


def test_adding_a_solution_to_a_published_article_waits_as_a_proposal(
    db, make_article, make_user, make_ticket, login, client, make_client
):
    article = make_article(
        "Scan to email fails on the office scanner",
        body="## Symptom\n\nScans never arrive.\n\n## Resolution\n\nCheck the address book.\n",
    )
    before = article.body
    tech = make_user(role=Role.TECHNICIAN)
    ticket = resolved_ticket(make_user, make_ticket, login, client, tech)
    opened = check_page(client, ticket, action=f"append:{article.id}")
    page = opened.get_data(as_text=True)
    assert opened.status_code == 200
    assert "This article is published: saving keeps your change as a proposal" in page
    body = re.search(r'<textarea[^>]*name="body"[^>]*>\n?(.*?)</textarea>', page, re.S).group(1)
    assert "Check the address book." in body and "Update the scanner" in body
    assert "wang.fang@corp.example.com" not in body and "Wang Fang" not in body
    assert "Hunter22" not in body and "Relay refused" not in body  # staff-only notes left out
    version = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    saved = client.post(
        f"/editor/articles/{article.id}/from-ticket/{ticket.id}",
        {
            "title": article.title,
            "body": body.replace("&#34;", '"')
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
            "note": "solution added",
            "version": version,
        },
    )
    assert saved.status_code == 302
    live = fresh(db, Article, article.id)
    assert live.body == before and live.state is ArticleState.PUBLISHED
    [proposal] = db.scalars(select(Proposal)).all()
    assert proposal.outcome is ProposalOutcome.PENDING and proposal.ticket_id == ticket.id
    assert "Update the scanner" in proposal.body
    assert [a.id for a in db.get(Ticket, ticket.id).solved_by] == [article.id]
    # A technician without publishing rights cannot apply it; an admin can.
    editor_page = client.get(f"/editor/articles/{article.id}/edit").get_data(as_text=True)
    assert "1 proposed change waits" in editor_page
    assert client.post(f"/editor/proposals/{proposal.id}/apply").status_code == 403
    admin = make_client()
    login(make_user(role=Role.ADMIN), on=admin)
    assert admin.post(f"/editor/proposals/{proposal.id}/apply").status_code == 302
    live = fresh(db, Article, article.id)
    assert "Update the scanner" in live.body and live.version == int(version) + 1
    assert live.revisions[-1].note == f"proposal #{proposal.id}: solution added"
    assert admin.post(f"/editor/proposals/{proposal.id}/apply").status_code == 409


def test_a_proposal_over_a_newer_revision_is_refused_and_its_author_may_withdraw_it(
    db, make_article, make_user, make_ticket, login, client, make_client
):
    article = make_article("Scan to email fails on the office scanner")
    ticket = resolved_ticket(make_user, make_ticket, login, client)
    url = f"/editor/articles/{article.id}/from-ticket/{ticket.id}"
    form = {"title": article.title, "body": article.body + "\nMore.\n", "note": "", "version": "1"}
    assert client.post(url, form).status_code == 302
    [proposal] = db.scalars(select(Proposal)).all()
    admin = make_client()
    login(make_user(role=Role.ADMIN), on=admin)
    refused = admin.post(f"/editor/proposals/{proposal.id}/apply", headers=ZH)
    assert refused.status_code == 409  # written against revision 1, the article is at 3
    assert "此后已更改" in refused.get_data(as_text=True)
    assert fresh(db, Article, article.id).body == article.body
    assert client.post(f"/editor/proposals/{proposal.id}/discard").status_code == 302
    assert fresh(db, Proposal, proposal.id).outcome is ProposalOutcome.DISCARDED
    assert client.post("/editor/proposals/9999/discard").status_code == 404


def test_adding_a_solution_to_a_draft_saves_a_revision_and_publishes_nothing(
    db, make_article, make_user, make_ticket, login, client
):
    draft = make_article("Scan to email fails on the office scanner", state=ArticleState.DRAFT)
    ticket = resolved_ticket(make_user, make_ticket, login, client)
    url = f"/editor/articles/{draft.id}/from-ticket/{ticket.id}"
    stale = {"title": draft.title, "body": draft.body + "\nAdded.\n", "note": "", "version": "0"}
    assert client.post(url, stale).status_code == 409
    assert client.post(url, {**stale, "version": str(draft.version)}).status_code == 302
    saved = fresh(db, Article, draft.id)
    assert saved.state is ArticleState.DRAFT and saved.body.endswith("Added.\n")
    assert db.scalars(select(Proposal)).all() == []
    assert [a.id for a in db.get(Ticket, ticket.id).solved_by] == [draft.id]


def test_adding_to_an_article_is_refused_for_bad_targets_and_readers(
    db, make_article, make_user, make_ticket, login, client, make_client
):
    archived = make_article("Old scanner guide", state=ArticleState.ARCHIVED)
    live = make_article("Scanner guide")
    ticket = resolved_ticket(make_user, make_ticket, login, client)
    assert check_page(client, ticket, action=f"append:{archived.id}").status_code == 422
    assert check_page(client, ticket, action="append:99999").status_code == 404
    assert check_page(client, ticket, action="append:x").status_code == 404
    url = f"/editor/articles/{live.id}/from-ticket/{ticket.id}"
    assert (
        client.post(url, {"title": "", "body": "x", "note": "", "version": "1"}).status_code == 422
    )
    assert client.post(url, {"title": "T"}).status_code == 400
    assert db.scalars(select(Proposal)).all() == []
    reader = make_client()
    login(db.get(Ticket, ticket.id).requester, on=reader)
    form = {"title": "T", "body": "x", "note": "", "version": "1"}
    assert reader.post(url, form).status_code == 403
    open_ticket = make_ticket(make_user())
    assert (
        client.post(f"/editor/articles/{live.id}/from-ticket/{open_ticket.id}", form).status_code
        == 422
    )


@pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)
def test_while_the_index_is_rebuilt_duplicates_come_unranked_and_say_so(
    app, db, make_article, make_user, make_ticket, login, client
):
    article = make_article("VPN token expired", body="The VPN token expired: renew it.")
    ticket = make_ticket(make_user(), subject="VPN token expired", symptom="VPN token expired.")
    login(make_user(role=Role.TECHNICIAN))
    client.post(
        f"/tickets/{ticket.id}/resolve",
        {"diagnosis": "Old token.", "cause": "", "solution": "Renew it.", "solved_by": ""},
    )
    shutil.rmtree(Path(app.config["INDEX_PATH"]))
    index_of(app).close()
    page = check_page(client, ticket).get_data(as_text=True)
    section = page[page.index("duplicates-heading") : page.index("draft-heading")]
    assert "The search index is being rebuilt" in section
    assert f'value="append:{article.id}"' in section
    assert "of the distinctive words" not in section and "same problem" not in section
    recovery_of(app).wait(timeout=60)
