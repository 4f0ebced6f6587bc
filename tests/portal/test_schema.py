"""Migrations and models agree, run both ways, and carry existing data over."""

from datetime import UTC, datetime

from sqlalchemy import text

from portal.auth.models import Role
from portal.db import make_engine
from portal.schema import downgrade, drift, upgrade
from portal.tickets.models import Actor, EventKind, Ticket


def test_migrated_database_matches_the_models(database_url):
    engine = make_engine(database_url)
    try:
        assert drift(engine) == []
    finally:
        engine.dispose()


def test_migrations_downgrade_to_nothing_and_upgrade_again(database_url):
    engine = make_engine(database_url)
    try:
        downgrade(engine, "base")
        upgrade(engine)
        assert drift(engine) == []
    finally:
        engine.dispose()


def test_the_text_based_ticket_record_is_carried_over_to_typed_events(
    app, database_url, make_user, make_article
):
    requester = make_user(role=Role.USER)
    tech = make_user(role=Role.TECHNICIAN)
    drafted, other = make_article("Drafted from ticket 1"), make_article("Solved ticket 2")
    engine = make_engine(database_url)
    try:
        downgrade(engine, "0002")
        times = [datetime(2026, 11, 1, 9, minute, tzinfo=UTC) for minute in range(12)]
        with engine.begin() as connection:
            for number, article in ((1, drafted), (2, other)):
                connection.execute(
                    text(
                        "INSERT INTO tickets (id, subject, symptom, started, impact, urgency,"
                        " priority, contact, channel, status, requester_id, assignee_id,"
                        " diagnosis, cause, solution, article_id, created_at, updated_at)"
                        " VALUES (:id, 'Printer', 'Offline', '', 'me', 'low', 'P4', '', 'web',"
                        " 'closed', :requester, :tech, '', '', 'Restarted', :article, :at, :at)"
                    ),
                    {
                        "id": number,
                        "requester": requester.id,
                        "tech": tech.id,
                        "article": article.id,
                        "at": times[0],
                    },
                )
            connection.execute(
                text("UPDATE articles SET source_ticket_id = 1 WHERE id = :id"), {"id": drafted.id}
            )
            old_events = [
                ("created", requester.id, "", "", "new", False),
                ("assigned", tech.id, tech.display_name, "", "", False),
                ("status", tech.id, "", "new", "assigned", False),
                ("reply", tech.id, "Is it on?", "", "", False),
                ("resolution", tech.id, "Restarted", "", "", False),
                ("status", tech.id, "", "assigned", "resolved", False),
                ("status", requester.id, "Still off", "resolved", "in_progress", False),
                ("status", tech.id, "", "in_progress", "resolved", False),
                ("status", requester.id, "Confirmed by the user.", "resolved", "closed", False),
                ("article", tech.id, f"#{drafted.id} Drafted from ticket 1", "", "", True),
            ]
            for minute, (kind, author, body, old, new, internal) in enumerate(old_events):
                connection.execute(
                    text(
                        "INSERT INTO ticket_events (ticket_id, author_id, kind, body, internal,"
                        " from_status, to_status, created_at)"
                        " VALUES (1, :author, :kind, :body, :internal, :old, :new, :at)"
                    ),
                    {
                        "author": author,
                        "kind": kind,
                        "body": body,
                        "internal": internal,
                        "old": old,
                        "new": new,
                        "at": times[minute + 1],
                    },
                )
        upgrade(engine)
        assert drift(engine) == []
    finally:
        engine.dispose()
    with app.extensions["solveloop.sessions"]() as db:
        first, second = db.get(Ticket, 1), db.get(Ticket, 2)
        assert [(e.kind, e.field, e.old_value, e.new_value) for e in first.events] == [
            (EventKind.CREATED, "", None, None),
            (EventKind.FIELD_CHANGED, "assignee", None, tech.id),
            (EventKind.STATUS_CHANGED, "status", "new", "assigned"),
            (EventKind.REPLY, "", None, None),
            (EventKind.FIELD_CHANGED, "solution", None, "Restarted"),
            (EventKind.STATUS_CHANGED, "status", "assigned", "resolved"),
            (EventKind.STATUS_CHANGED, "status", "resolved", "in_progress"),
            (EventKind.STATUS_CHANGED, "status", "in_progress", "resolved"),
            (EventKind.USER_CONFIRMED, "status", "resolved", "closed"),
            (EventKind.ARTICLE_LINKED, "", None, None),
        ]
        assert first.events[-1].detail == {"relation": "drafted", "article_id": drafted.id}
        assert first.events[1].body == ""  # the display name is no longer stored
        assert {e.actor for e in first.events} == {Actor.USER}
        assert first.first_response_at == times[4]
        assert (first.first_resolved_at, first.resolved_at) == (times[6], times[8])
        assert first.reopen_count == 1
        assert [a.id for a in first.drafted_articles] == [drafted.id] and first.solved_by == []
        assert [a.id for a in second.solved_by] == [other.id] and second.drafted_articles == []


def test_0017_renders_articles_again_and_leaves_old_revisions_unclassified(
    database_url, make_article
):
    body = "5. Run:\n\n   ```\n   ipconfig /renew\n   ```\n6. Restart.\n"
    article = make_article("Renew the address", body=body)
    engine = make_engine(database_url)
    try:
        downgrade(engine, "0014")
        with engine.begin() as connection:
            connection.execute(text("UPDATE articles SET body_html = '<p>old</p>'"))
            connection.execute(text("DELETE FROM index_outbox"))
        upgrade(engine)
        with engine.connect() as connection:
            html = connection.execute(
                text("SELECT body_html FROM articles WHERE id = :id"), {"id": article.id}
            ).scalar_one()
            queued = connection.execute(text("SELECT article_id FROM index_outbox")).scalars().all()
            tags = connection.execute(text("SELECT tags FROM revisions")).scalars().all()
        assert queued == [article.id]
        assert "<li>\n<p>Run:</p>\n<pre><code>ipconfig /renew\n</code></pre>" in html
        assert tags and all(t is None for t in tags)
    finally:
        engine.dispose()
