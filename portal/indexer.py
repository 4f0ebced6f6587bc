"""This process's search index and its outbox indexer, kept current by a background thread."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

from flask import Flask, current_app

from articles.indexing import OutboxIndexer
from portal.admin.synonyms import SynonymSync
from search.index import SearchIndex
from search.schema import INDEX_FORMAT

log = logging.getLogger(__name__)


class IndexerThread:
    """Polls the outbox and applies it; one per process, restarted after a fork."""

    def __init__(self, indexer: OutboxIndexer, synonyms: SynonymSync, interval: float) -> None:
        self.indexer = indexer
        self.synonyms = synonyms
        self.interval = interval
        self.wake = threading.Event()
        self.pid = 0
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread: threading.Thread | None = None

    def ensure_running(self) -> None:
        """Start the thread in this process if it is not running here yet."""
        if self.pid == os.getpid():
            return
        with self.lock:
            if self.pid == os.getpid():
                return
            self.wake = threading.Event()
            self.thread = threading.Thread(target=self._run, name="solveloop-indexer", daemon=True)
            self.thread.start()
            self.pid = os.getpid()

    def stop(self) -> None:
        """Stop the thread after its current pass (tests and orderly shutdown)."""
        self.stopped.set()
        self.wake.set()
        if self.thread is not None and self.pid == os.getpid():
            self.thread.join(timeout=5)

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.wake.wait(self.interval)
            self.wake.clear()
            if self.stopped.is_set():
                return
            try:
                self.indexer.apply_pending(wait=False)
                self.synonyms.refresh()
            except Exception:  # the loop must survive a database hiccup; it retries next tick
                log.exception("applying the index outbox failed")


def init_app(app: Flask) -> None:
    """Open the index and create the indexer (and, if configured, its thread)."""
    index = SearchIndex.open(Path(app.config["INDEX_PATH"]))
    built = index.index_format()
    if built < INDEX_FORMAT:
        log.warning(
            "the search index at %s was built by an older version (format %d, now %d); "
            "it answers as before until `solveloop index rebuild`",
            app.config["INDEX_PATH"],
            built,
            INDEX_FORMAT,
        )
    indexer = OutboxIndexer(app.extensions["solveloop.sessions"], index)
    synonyms = SynonymSync(app.extensions["solveloop.sessions"], index)
    app.extensions["solveloop.index"] = index
    app.extensions["solveloop.indexer"] = indexer
    app.extensions["solveloop.synonyms"] = synonyms
    app.before_request(_load_synonyms_once)
    if app.config["INDEXER_THREAD"]:
        thread = IndexerThread(indexer, synonyms, float(app.config["INDEXER_POLL_SECONDS"]))
        app.extensions["solveloop.indexer_thread"] = thread
        app.before_request(thread.ensure_running)


def _load_synonyms_once() -> None:
    """Give this process the synonyms before its first search (the thread keeps them fresh)."""
    synonyms: SynonymSync = current_app.extensions["solveloop.synonyms"]
    if synonyms.loaded is None:
        synonyms.refresh()


def poke(app: Flask) -> None:
    """Apply new outbox rows soon: wake this process's thread, or apply them right now."""
    thread: IndexerThread | None = app.extensions.get("solveloop.indexer_thread")
    if thread is not None and thread.pid == os.getpid():
        thread.wake.set()
        return
    try:
        app.extensions["solveloop.indexer"].apply_pending(wait=False)
    except Exception:  # the change is committed; the outbox keeps it until the next apply
        log.exception("applying the index outbox failed")


def index_of(app: Flask) -> SearchIndex:
    """Return ``app``'s search index (also outside a request)."""
    index: SearchIndex = app.extensions["solveloop.index"]
    return index


def get_index() -> SearchIndex:
    """Return this app's search index."""
    return index_of(current_app)


def get_indexer() -> OutboxIndexer:
    """Return this app's outbox indexer."""
    indexer: OutboxIndexer = current_app.extensions["solveloop.indexer"]
    return indexer
