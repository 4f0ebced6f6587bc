"""This process's search index and its outbox indexer, kept current by a background thread."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path

from flask import Flask, current_app

from articles.indexing import OutboxIndexer
from portal.admin.synonyms import SynonymSync
from search.index import IndexUnavailable, SearchIndex
from search.schema import INDEX_FORMAT

log = logging.getLogger(__name__)


class IndexerThread:
    """Polls the outbox and applies it; one per process, restarted after a fork."""

    def __init__(
        self,
        indexer: OutboxIndexer,
        synonyms: SynonymSync,
        interval: float,
        recovery: IndexRecovery,
    ) -> None:
        self.indexer = indexer
        self.recovery = recovery
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
            except IndexUnavailable as exc:
                self.recovery.request(str(exc))
            except Exception:  # the loop must survive a database hiccup; it retries next tick
                log.exception("applying the index outbox failed")


class IndexRecovery:
    """Rebuilds this node's index in the background when it turns out missing or damaged.

    Searches meanwhile fall back to the database. One attempt at a time per process, and
    none within ``pause`` seconds of the last one; several processes queue on the index's
    writer lock, and each checks first whether another has already repaired it.
    """

    def __init__(self, indexer: OutboxIndexer, pause: float = 60.0) -> None:
        self.indexer = indexer
        self.pause = pause
        self.lock = threading.Lock()
        self.last_attempt = float("-inf")
        self.thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Return whether a rebuild is under way in this process."""
        return self.thread is not None and self.thread.is_alive()

    def request(self, reason: str) -> bool:
        """Start a background rebuild unless one runs or ran lately; return whether it started."""
        with self.lock:
            now = time.monotonic()
            if self.running or now - self.last_attempt < self.pause:
                return False
            self.last_attempt = now
            log.error("the search index is unusable (%s); rebuilding it in the background", reason)
            self.thread = threading.Thread(
                target=self._rebuild, name="solveloop-index-rebuild", daemon=True
            )
            self.thread.start()
            return True

    def _rebuild(self) -> None:
        try:
            if not self.indexer.index.verify():
                log.info("the search index was repaired meanwhile")
                return
            count = self.indexer.rebuild()
            log.warning("the search index was rebuilt: %d articles", count)
        except Exception:  # logged; the next failing search asks again after the pause
            log.exception("rebuilding the search index failed")

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a running rebuild (tests, and the command line)."""
        if self.thread is not None:
            self.thread.join(timeout)


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
    recovery = IndexRecovery(indexer)
    app.extensions["solveloop.index_recovery"] = recovery
    app.before_request(_load_synonyms_once)
    if app.config["INDEXER_THREAD"]:
        thread = IndexerThread(
            indexer, synonyms, float(app.config["INDEXER_POLL_SECONDS"]), recovery
        )
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
    except IndexUnavailable as exc:  # the change is committed; the rebuild will include it
        recovery_of(app).request(str(exc))
    except Exception:  # the change is committed; the outbox keeps it until the next apply
        log.exception("applying the index outbox failed")


def index_of(app: Flask) -> SearchIndex:
    """Return ``app``'s search index (also outside a request)."""
    index: SearchIndex = app.extensions["solveloop.index"]
    return index


def get_index() -> SearchIndex:
    """Return this app's search index."""
    return index_of(current_app)


def recovery_of(app: Flask) -> IndexRecovery:
    """Return ``app``'s background index recovery."""
    recovery: IndexRecovery = app.extensions["solveloop.index_recovery"]
    return recovery


def get_indexer() -> OutboxIndexer:
    """Return this app's outbox indexer."""
    indexer: OutboxIndexer = current_app.extensions["solveloop.indexer"]
    return indexer
