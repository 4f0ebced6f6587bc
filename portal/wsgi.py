"""gunicorn entry point: `portal.wsgi:create_app(instance_path=...)` with `--preload`."""

from __future__ import annotations

from flask import Flask

from portal import create_app as build_app
from search.analysis import terms


def create_app(instance_path: str | None = None) -> Flask:
    """Build the app and load the Chinese dictionary once, before gunicorn forks its workers."""
    app = build_app(instance_path=instance_path)
    terms("预加载词典 preload")
    return app
