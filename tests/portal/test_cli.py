"""The solveloop command: init-db, accounts, demo, index rebuild and check."""

import json
from datetime import UTC, datetime

from click.testing import CliRunner
from conftest import PASSWORD
from sqlalchemy import create_engine, text

from portal import create_app
from portal.auth.models import Role, User
from portal.cli import main
from portal.demo import DEFAULT_CATEGORIES
from portal.tickets.models import Ticket
from search.schema import INDEX_FORMAT


def users(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return {
                row.username: row.role
                for row in connection.execute(text("SELECT username, role FROM users"))
            }
    finally:
        engine.dispose()


def test_init_db_migrates_and_creates_the_default_categories(cli, database_url):
    result = cli("init-db")
    assert result.exit_code == 0, result.output
    engine = create_engine(database_url)
    with engine.connect() as connection:
        slugs = {r[0] for r in connection.execute(text("SELECT slug FROM categories"))}
    engine.dispose()
    assert {slug for slug, _en, _zh in DEFAULT_CATEGORIES} <= slugs
    assert len(DEFAULT_CATEGORIES) == 7


def test_create_admin_asks_for_the_password_twice(cli, database_url):
    result = cli("create-admin", "chief", input="a long enough password\na long enough password\n")
    assert result.exit_code == 0, result.output
    assert users(database_url)["chief"] == Role.ADMIN.value


def test_create_admin_refuses_a_short_password_and_a_duplicate(cli, database_url):
    assert cli("create-admin", "chief", input="short\nshort\n").exit_code != 0
    assert "chief" not in users(database_url)
    cli("create-admin", "chief", input="a long enough password\na long enough password\n")
    result = cli("create-admin", "chief", input="a long enough password\na long enough password\n")
    assert result.exit_code != 0 and "already exists" in result.output


def test_create_user_refuses_a_bad_username(cli):
    result = cli(
        "create-user", "bad name!", input="a long enough password\na long enough password\n"
    )
    assert result.exit_code != 0 and "USERNAME" in result.output


def test_demo_loads_content_builds_the_index_and_prints_the_accounts(cli, database_url, tmp_path):
    result = cli("demo")
    assert result.exit_code == 0, result.output
    assert "admin" in result.output and "password:" in result.output
    accounts_file = tmp_path / "cli-instance" / "demo-accounts.txt"
    assert f"also in {accounts_file}" in result.output and accounts_file.is_file()
    assert set(users(database_url)) >= {"alice", "bob", "zhangwei", "tom", "lina", "admin"}
    again = cli("demo")
    assert again.exit_code == 0
    assert again.output.splitlines()[-6:] == result.output.splitlines()[-6:]
    check = cli("index", "check")
    assert check.exit_code == 0, check.output
    assert "matches" in check.output


def test_the_demo_seeds_synonyms_so_english_questions_find_chinese_articles(
    cli, database_url, tmp_path
):
    assert cli("demo").exit_code == 0
    app = create_app(
        {"DATABASE_URL": database_url, "INDEXER_THREAD": False, "JOBS_IN_PROCESS": False},
        instance_path=str(tmp_path / "cli-instance"),
    )
    try:
        page = app.test_client().get("/search?q=reset+my+password").get_data(as_text=True)
    finally:
        app.extensions["solveloop.engine"].dispose()
    # The title comes back highlighted: 密码 is the synonym of "password" that matched.
    assert "OA <mark>密码</mark>忘了或账号被锁定" in page


def settled_demo(cli, database_url):
    """Load the demo and age its outbox rows (younger ones are replayed on every start)."""
    cli("demo")
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE index_outbox SET created_at = :t"), {"t": datetime(2020, 1, 1, tzinfo=UTC)}
        )
    engine.dispose()


def test_index_check_reports_drift_and_rebuild_repairs_it(cli, database_url, tmp_path):
    settled_demo(cli, database_url)
    assert cli("index", "check").exit_code == 0
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE articles SET version = version + 5 WHERE id = 1"))
    engine.dispose()
    check = cli("index", "check")
    assert check.exit_code == 1
    assert "stale: 1" in check.output
    rebuild = cli("index", "rebuild")
    assert rebuild.exit_code == 0, rebuild.output
    assert cli("index", "check").exit_code == 0


def test_index_check_reports_an_index_built_by_an_older_version(cli, database_url, tmp_path):
    settled_demo(cli, database_url)
    index = tmp_path / "cli-instance" / "index"
    live = index / (index / "current").read_text().strip()
    meta = live / "solveloop-meta.json"
    meta.write_text(json.dumps({"outbox_id": json.loads(meta.read_text())["outbox_id"]}))
    check = cli("index", "check")
    assert check.exit_code == 1
    assert f"format 1, this version writes {INDEX_FORMAT}" in check.output
    assert cli("index", "rebuild").exit_code == 0
    assert cli("index", "check").exit_code == 0


def test_passwords_are_never_stored_in_clear(cli, database_url):
    cli("create-user", "plain", input="a long enough password\na long enough password\n")
    engine = create_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT password_hash FROM users")).scalar_one()
    engine.dispose()
    assert "a long enough password" not in stored


def test_help_works_without_an_instance():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("init-db", "create-admin", "demo", "index", "serve", "worker"):
        assert command in result.output


def test_user_model_roles_nest():
    admin = User(role=Role.ADMIN)
    assert admin.has_role(Role.TECHNICIAN) and admin.has_role(Role.USER)
    assert not User(role=Role.USER).has_role(Role.TECHNICIAN)


def test_deactivating_a_user_stops_their_sign_in_and_keeps_their_tickets(
    cli, make_user, make_ticket, client, db
):
    user = make_user(username="leaver")
    ticket = make_ticket(user, subject="Laptop to return")
    result = cli("deactivate-user", "leaver")
    assert result.exit_code == 0, result.output
    response = client.post("/login", {"username": "leaver", "password": PASSWORD})
    assert response.status_code != 302
    db.rollback()
    kept = db.get(Ticket, ticket.id)
    assert kept is not None and kept.requester.username == "leaver"
    assert [e.kind.value for e in kept.events] == ["created"]
    assert cli("deactivate-user", "leaver", "--undo").exit_code == 0
    assert client.post("/login", {"username": "leaver", "password": PASSWORD}).status_code == 302
    result = cli("deactivate-user", "nobody")
    assert result.exit_code != 0 and "no user 'nobody'" in result.output


def test_index_tickets_stores_the_search_words_of_every_ticket_anew(
    cli, database_url, make_user, make_ticket
):
    ticket = make_ticket(make_user(), subject="Projector flickers", symptom="Room 3.")
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM ticket_terms"))
        result = cli("index", "tickets")
        assert result.exit_code == 0, result.output
        assert "Stored the search words of 1 tickets" in result.output
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT ticket_id FROM ticket_terms WHERE term = 'projector'")
            ).scalars()
            assert list(found) == [ticket.id]
    finally:
        engine.dispose()
