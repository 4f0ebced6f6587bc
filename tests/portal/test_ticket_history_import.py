"""`solveloop tickets import`: resolved tickets from CSV or JSON, with their real dates."""

import json
from datetime import UTC, datetime

import pytest
from conftest import draft_from_ticket
from sqlalchemy import func, select

from articles.models import Article
from portal.auth.models import Role, User
from portal.tickets.models import Channel, EventKind, Status, Ticket
from portal.tickets.notifications import Notification
from portal.tickets.text_search import ticket_terms

HEADER = "subject,description,resolution,category,created,resolved,requester_email,legacy_id\n"
GOOD = (
    'VPN 连接失败,"连接时提示错误 809, error 809",重置网络适配器后恢复,network,'
    "2025-03-01 09:15,2025-03-01 11:40,zhang.wei@corp.example.com,A-1\n"
    "Outlook not receiving mail,Inbox stuck since Monday,Turned off offline mode,操作系统与软件,"
    "2025-03-02,2025-03-03T10:00:00+00:00,Alice@corp.example.com,A-2\n"
)
BAD = (
    ",no subject,fixed,network,2025-03-01,2025-03-02,a@corp.example.com,A-3\n"
    "Bad date,x,fixed,network,yesterday,2025-03-02,a@corp.example.com,A-4\n"
    "Backwards,x,fixed,network,2025-03-05,2025-03-02,a@corp.example.com,A-5\n"
    "No resolution,x,,network,2025-03-01,2025-03-02,a@corp.example.com,A-6\n"
    "Bad mail,x,fixed,network,2025-03-01,2025-03-02,not-an-address,A-7\n"
    "Odd category,x,fixed,plumbing,2025-03-01,2025-03-02,a@corp.example.com,A-8\n"
)


def count(db, column):
    db.rollback()
    db.expire_all()
    return db.scalar(select(func.count(column)))


def test_rows_become_closed_tickets_with_their_real_dates(cli, db, tmp_path, make_user):
    alice = make_user(username="alice", email="alice@corp.example.com")
    path = tmp_path / "history.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    result = cli("tickets", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "ignored column(s): legacy_id" in result.output
    assert "Imported 2 ticket(s) from history.csv; 0 already imported, 0 row(s)" in result.output
    db.rollback()
    vpn, outlook = db.scalars(select(Ticket).order_by(Ticket.id)).all()
    assert (vpn.status, vpn.channel) == (Status.CLOSED, Channel.IMPORT)
    assert vpn.symptom == "连接时提示错误 809, error 809"
    assert vpn.solution == "重置网络适配器后恢复"
    assert vpn.category.slug == "network"
    # Naive times are the desk's (Asia/Shanghai by default).
    assert vpn.created_at == datetime(2025, 3, 1, 1, 15, tzinfo=UTC)
    assert vpn.resolved_at == vpn.closed_at == datetime(2025, 3, 1, 3, 40, tzinfo=UTC)
    kinds = [(e.kind, e.field, e.created_at) for e in vpn.events]
    assert kinds == [
        (EventKind.CREATED, "", vpn.created_at),
        (EventKind.FIELD_CHANGED, "solution", vpn.resolved_at),
        (EventKind.STATUS_CHANGED, "status", vpn.resolved_at),
        (EventKind.STATUS_CHANGED, "status", vpn.resolved_at),
    ]
    assert vpn.events[0].actor_id == vpn.requester_id
    assert all(e.detail["imported"] == "history.csv" for e in vpn.events)
    contact = vpn.requester
    assert contact.email == "zhang.wei@corp.example.com"
    assert contact.role is Role.USER and not contact.has_usable_password
    assert outlook.requester_id == alice.id  # found by e-mail, case-insensitively
    assert outlook.category.slug == "software"  # by its Chinese name
    assert outlook.resolved_at == datetime(2025, 3, 3, 10, tzinfo=UTC)
    assert count(db, Notification.id) == 0
    terms = db.execute(select(ticket_terms.c.ticket_id).distinct()).scalars().all()
    assert set(terms) >= {vpn.id, outlook.id}


def test_bad_rows_get_a_line_each_and_the_rest_imports(cli, db, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HEADER + BAD + GOOD, encoding="utf-8")
    result = cli("tickets", "import", str(path))
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if ": row " in line]
    assert lines == [
        "history.csv: row 2: subject: empty",
        "history.csv: row 3: created: 'yesterday' is not a date or time",
        "history.csv: row 4: resolved: before created",
        "history.csv: row 5: resolution: empty (only resolved tickets are imported)",
        "history.csv: row 6: requester_email: 'not-an-address' is not an e-mail address",
        "history.csv: row 7: category: no category 'plumbing'",
    ]
    assert "Imported 2 ticket(s)" in result.output
    assert count(db, Ticket.id) == 2


def test_dry_run_changes_nothing_and_a_second_import_skips_what_is_there(cli, db, tmp_path):
    path = tmp_path / "history.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    dry = cli("tickets", "import", "--dry-run", str(path))
    assert dry.exit_code == 0, dry.output
    assert "Would import 2 ticket(s)" in dry.output
    assert count(db, Ticket.id) == 0
    assert count(db, User.id) == 0
    assert cli("tickets", "import", str(path)).exit_code == 0
    again = cli("tickets", "import", str(path))
    assert "row 2: already imported, skipped" in again.output
    assert "Imported 0 ticket(s) from history.csv; 2 already imported" in again.output
    assert count(db, Ticket.id) == 2


def test_json_is_a_list_of_objects(cli, db, tmp_path):
    path = tmp_path / "history.json"
    rows = [
        {
            "subject": "打印机脱机",
            "description": "打印机显示脱机",
            "resolution": "重新添加打印机",
            "created": "2025-04-01 10:00",
            "resolved": "2025-04-01 10:30",
            "requester_email": "li.na@corp.example.com",
            "requester_name": "李娜",
        },
        ["not", "an", "object"],
        {"subject": "X", "resolution": "y", "created": 5, "requester_email": "x@corp.example.com"},
    ]
    path.write_text(json.dumps({"tickets": rows}, ensure_ascii=False), encoding="utf-8")
    result = cli("tickets", "import", str(path))
    assert result.exit_code == 1
    assert "history.json: row 2: not an object with the columns as keys" in result.output
    assert "history.json: row 3: created: give a date" in result.output
    db.rollback()
    ticket = db.scalars(select(Ticket)).one()
    assert ticket.requester.display_name == "李娜"
    assert ticket.category_id is None


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("h.csv", "subject,description\nA,b\n", "missing column(s): resolution, created"),
        ("h.json", "{not json", "not valid JSON"),
        ("h.txt", "subject", "give a .csv or a .json file"),
        ("h.csv", "", "the file is empty"),
    ],
)
def test_a_file_that_cannot_be_read_is_named_with_its_problem(
    cli, tmp_path, name, content, message
):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    result = cli("tickets", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}: " in result.output and message in result.output


def test_an_imported_ticket_drafts_an_article(cli, db, tmp_path, make_user, login):
    path = tmp_path / "history.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    assert cli("tickets", "import", str(path)).exit_code == 0
    db.rollback()
    ticket = db.scalars(select(Ticket).order_by(Ticket.id)).first()
    client = login(make_user(Role.TECHNICIAN))
    page = client.get(f"/tickets/{ticket.id}")
    assert page.status_code == 200
    assert "Imported history" in page.get_data(as_text=True)
    response = draft_from_ticket(client, ticket.id)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    db.rollback()
    article = db.scalars(select(Article)).one()
    assert article.source_ticket_id == ticket.id
    assert "重置网络适配器" in article.body
