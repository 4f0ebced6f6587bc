"""gunicorn entry point: `portal.wsgi:create_app(instance_path=...)` with `--preload`."""

from __future__ import annotations

import gc
import logging

from flask import Flask

from portal import create_app as build_app
from portal.indexer import index_of
from search.analysis import terms
from search.index import IndexUnavailable

log = logging.getLogger(__name__)


def create_app(instance_path: str | None = None) -> Flask:
    """Build the app, load the Chinese dictionary, warm the search cache and freeze it all
    before gunicorn forks."""
    app = build_app(instance_path=instance_path)
    terms("预加载词典 preload")
    # Long posting lists decoded once here are shared by every worker (copy-on-write).
    try:
        index_of(app).warm()
    except IndexUnavailable as exc:
        # Serve anyway: searches use the database meanwhile, and the first one in each
        # worker starts the rebuild there (no thread or connection is opened before the fork).
        log.error("the search index is unusable at start (%s)", exc)
    # What exists now lives as long as the process; frozen, the cyclic collector's full
    # passes skip it (measured at 100k articles: 25-32 ms -> 3-4.5 ms per full pass, which
    # lands on whichever request triggers it). Workers forked after this inherit the freeze.
    gc.collect()
    gc.freeze()
    return app
