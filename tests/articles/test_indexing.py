"""The outbox indexer against a real database and a real Whoosh index."""

from datetime import timedelta

from sqlalchemy import func, select

from articles.indexing import OutboxIndexer
from articles.models import ArticleState, IndexOutbox, Visibility
from articles.service import ArticleFields, change_state, create_article, update_article
from search.index import Scope, SearchIndex

STAFF = Scope(visibilities=frozenset({"public", "internal"}), states=frozenset({"published"}))


def test_every_change_writes_an_outbox_row_in_the_same_transaction(db, app):
    article = create_article(db, ArticleFields(title="Mouse lag", body="Change the battery."), None)
    db.rollback()
    assert db.scalar(select(func.count(IndexOutbox.id))) == 0
    article = create_article(db, ArticleFields(title="Mouse lag", body="Change the battery."), None)
    change_state(db, article, ArticleState.PUBLISHED, None)
    db.commit()
    assert db.scalar(select(func.count(IndexOutbox.id))) == 2


def test_the_indexer_applies_the_outbox_and_replays_after_losing_its_index(app, db, tmp_path):
    indexer = OutboxIndexer(
        app.extensions["solveloop.sessions"], SearchIndex.open(tmp_path / "replica")
    )
    article = create_article(
        db, ArticleFields(title="Keyboard types wrong letters", body="Switch layout."), None
    )
    change_state(db, article, ArticleState.PUBLISHED, None)
    db.commit()
    assert indexer.apply_pending(wait=True) == 1
    assert indexer.index.search("keyboard layout", STAFF).total == 1
    fresh = OutboxIndexer(
        app.extensions["solveloop.sessions"], SearchIndex.open(tmp_path / "new-replica")
    )
    fresh.apply_pending(wait=True)
    assert fresh.index.search("keyboard layout", STAFF).total == 1


def test_the_watermark_waits_for_young_rows_but_they_are_applied(app, db, tmp_path):
    indexer = OutboxIndexer(
        app.extensions["solveloop.sessions"],
        SearchIndex.open(tmp_path / "replica"),
        grace=timedelta(hours=1),
    )
    article = create_article(
        db, ArticleFields(title="Webcam not detected", body="Check privacy switch."), None
    )
    change_state(db, article, ArticleState.PUBLISHED, None)
    db.commit()
    indexer.apply_pending(wait=True)
    assert indexer.index.applied_outbox_id() == 0
    assert indexer.index.search("webcam", STAFF).total == 1
    assert indexer.apply_pending(wait=True) == 0


def test_archived_and_internal_changes_reach_the_index(app, db, tmp_path):
    indexer = app.extensions["solveloop.indexer"]
    article = create_article(
        db, ArticleFields(title="Headset echo", body="Disable enhancements."), None
    )
    change_state(db, article, ArticleState.PUBLISHED, None)
    db.commit()
    public = Scope()
    assert indexer.index.search("headset echo", public).total == 1
    update_article(
        db,
        article,
        ArticleFields(
            title="Headset echo", body="Disable enhancements.", visibility=Visibility.INTERNAL
        ),
        None,
    )
    db.commit()
    assert indexer.index.search("headset echo", public).total == 0
    assert indexer.index.search("headset echo", STAFF).total == 1
    change_state(db, article, ArticleState.ARCHIVED, None)
    db.commit()
    assert indexer.index.search("headset echo", STAFF).total == 0


def test_rebuild_matches_the_database_and_check_finds_no_drift(app, db):
    indexer = app.extensions["solveloop.indexer"]
    for n in range(5):
        article = create_article(
            db, ArticleFields(title=f"Docking issue {n}", body="Update firmware."), None
        )
        change_state(db, article, ArticleState.PUBLISHED, None)
    db.commit()
    assert indexer.rebuild() == 5
    assert indexer.check().clean
