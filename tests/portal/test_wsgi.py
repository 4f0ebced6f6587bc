"""The gunicorn entry point."""

import gc
import json
import logging
from datetime import UTC, datetime

from portal import create_app, wsgi
from search import scoring
from search.index import Document, SearchIndex


def test_the_entry_point_freezes_what_it_built_before_the_workers_fork(tmp_path):
    assert gc.get_freeze_count() == 0
    app = wsgi.create_app(instance_path=str(tmp_path / "instance"))
    try:
        assert gc.get_freeze_count() > 0
        assert app.extensions["solveloop.index"] is not None
    finally:
        gc.unfreeze()
        app.extensions["solveloop.engine"].dispose()


def test_the_entry_point_warms_the_search_cache_and_closes_its_searchers(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    with SearchIndex.open(instance / "index") as index:
        moment = datetime(2026, 1, 1, tzinfo=UTC)
        document = Document("1", "Printer offline", "Restart the spooler.", moment, 1)
        assert index.apply([document], [], None)
    monkeypatch.setattr(scoring, "MIN_WARM_POSTINGS", 1)
    scoring.CACHE.clear()
    app = wsgi.create_app(instance_path=str(instance))
    try:
        assert scoring.CACHE.nbytes > 0
        assert app.extensions["solveloop.index"]._generation is None
    finally:
        gc.unfreeze()
        app.extensions["solveloop.engine"].dispose()


def test_an_index_built_by_an_older_version_is_reported_at_start(app_config, tmp_path, caplog):
    index_root = tmp_path / "instance" / "index"
    with SearchIndex.open(index_root) as index:
        meta = index._live_dir() / "solveloop-meta.json"
    meta.write_text(json.dumps({"outbox_id": 0}))
    with caplog.at_level(logging.WARNING, logger="portal.indexer"):
        app = create_app(app_config, instance_path=str(tmp_path / "instance"))
    app.extensions["solveloop.engine"].dispose()
    assert "older version (format 1" in caplog.text
    assert "solveloop index rebuild" in caplog.text
