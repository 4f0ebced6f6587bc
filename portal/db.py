"""The database engine from config, one session per request, and the indexer poke after commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from articles.models import IndexOutbox

SQLITE_BUSY_TIMEOUT_MS = 15_000


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout, foreign keys and explicit BEGINs."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself, so writes can take the lock up front.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock at BEGIN: a deferred BEGIN that later upgrades can fail
        # with "database is locked" regardless of the busy timeout.
        mode = connection.get_execution_options().get("sqlite_begin", "")
        connection.exec_driver_sql(f"BEGIN {mode}".strip())

    return engine


def writing_engine(engine: Engine) -> Engine:
    """Return the engine variant whose transactions take the write lock at BEGIN (SQLite)."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(sqlite_begin="IMMEDIATE")
    return engine


def session_factory(
    engine: Engine, on_outbox: Callable[[], None] | None = None
) -> sessionmaker[Session]:
    """Return a session factory whose sessions call ``on_outbox`` after committing outbox rows."""
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    if on_outbox is not None:

        @event.listens_for(factory, "after_flush")
        def _note_outbox(session: Session, _context: Any) -> None:
            if any(isinstance(obj, IndexOutbox) for obj in session.new):
                session.info["outbox"] = True

        @event.listens_for(factory, "after_commit")
        def _poke_indexer(session: Session) -> None:
            if session.info.pop("outbox", False):
                on_outbox()

    return factory


def init_app(app: Flask, on_outbox: Callable[[], None]) -> None:
    """Create the engine and the two session factories, and close sessions at teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["solveloop.engine"] = engine
    app.extensions["solveloop.sessions"] = session_factory(engine, on_outbox)
    app.extensions["solveloop.write_sessions"] = session_factory(writing_engine(engine), on_outbox)
    app.teardown_appcontext(close_session)


def get_session() -> Session:
    """Return this request's session; POST and friends write, so they BEGIN IMMEDIATE on SQLite."""
    if "db" not in g:
        writes = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        key = "solveloop.write_sessions" if writes else "solveloop.sessions"
        g.db = current_app.extensions[key]()
    session: Session = g.db
    return session


def close_session(exc: BaseException | None = None) -> None:
    """Roll back anything uncommitted and release the connection."""
    session: Session | None = g.pop("db", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()
