"""Shared fixtures: a real database (SQLite file or PostgreSQL) and a real Whoosh index per test."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from articles.models import Article, ArticleState, Category, Visibility
from articles.service import ArticleFields, change_state, create_article
from portal import create_app
from portal.admin import settings
from portal.auth.models import Role, User
from portal.cli import main as cli_main
from portal.db import make_engine
from portal.demo import ensure_categories
from portal.models import metadata
from portal.schema import upgrade
from portal.tickets.models import Ticket
from portal.tickets.service import Intake, open_ticket

PASSWORD = "correct horse battery staple"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def lists(page: str, article: Article) -> bool:
    """Return whether a results page links to the article (titles may be split by <mark>)."""
    return f"/articles/{article.id}" in page


FINGERPRINT = re.compile(r'name="fingerprint" value="([0-9a-f]+)"')


def draft_from_ticket(client: Any, ticket_id: int, **form: Any) -> Any:
    """Open the draft-from-ticket review, then create the draft with ``form`` (undo=…,
    hide_new=…); return the create response."""
    page = client.get(f"/editor/from-ticket/{ticket_id}")
    found = FINGERPRINT.search(page.get_data(as_text=True))
    if found is None:  # already drafted (a redirect), or refused
        return page
    return client.post(
        f"/editor/from-ticket/{ticket_id}",
        data={"fingerprint": found.group(1), "action": "create", **form},
    )


def _postgres_url() -> str | None:
    url = os.environ.get("SOLVELOOP_TEST_DATABASE_URL") or os.environ.get("SOLVELOOP_DATABASE_URL")
    return url or None


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrate one database per test worker: a SQLite file to copy, or a PostgreSQL database."""
    base = _postgres_url()
    if base is None:
        path = tmp_path_factory.mktemp("template") / "portal.sqlite"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        yield str(path)
        return
    url = make_url(base)
    # One database per checkout and worker, so two checkouts can run the suite at once.
    checkout = hashlib.sha256(str(Path(__file__).resolve()).encode()).hexdigest()[:6]
    name = f"solveloop_test_{checkout}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    worker_url = url.set(database=name).render_as_string(hide_password=False)
    engine = make_engine(worker_url)
    upgrade(engine)
    engine.dispose()
    yield worker_url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> str:
    """A fresh, migrated database for one test."""
    if database_template.startswith("postgresql"):
        engine = create_engine(database_template)
        tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return database_template
    path = tmp_path / "portal.sqlite"
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(database_url: str) -> dict[str, Any]:
    """The test configuration; tests may change it before `app` is built."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": database_url,
        "INDEXER_THREAD": False,
        "JOBS_IN_PROCESS": False,
        "RATELIMIT_STORAGE_URI": "memory://",
    }


@pytest.fixture
def app(app_config: dict[str, Any], tmp_path: Path) -> Iterator[Flask]:
    """The portal on its own instance folder, with the default categories."""
    application = create_app(app_config, instance_path=str(tmp_path / "instance"))
    with application.extensions["solveloop.sessions"]() as session:
        ensure_categories(session)
        session.commit()
    yield application
    application.extensions["solveloop.engine"].dispose()


@pytest.fixture
def db(app: Flask) -> Iterator[Session]:
    """A session on the test database for arranging and checking data."""
    with app.extensions["solveloop.sessions"]() as session:
        yield session


class Client:
    """A test client that adds the CSRF token to form posts, as a browser's form would."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.token: str | None = None

    def get(self, url: str, **kwargs: Any) -> Any:
        """GET a URL."""
        return self.client.get(url, **kwargs)

    def csrf_token(self) -> str:
        """Return this browser session's CSRF token, read from a page like a browser would."""
        if self.token is None:
            page = self.client.get("/").get_data(as_text=True)
            match = CSRF_META.search(page)
            assert match, "the page carries no csrf-token meta tag"
            self.token = match.group(1)
        return self.token

    def post(
        self, url: str, data: dict[str, Any] | None = None, csrf: bool = True, **kwargs: Any
    ) -> Any:
        """POST a form, with the CSRF token unless ``csrf`` is False."""
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf_token())
        return self.client.post(url, data=form, **kwargs)


@pytest.fixture
def client(app: Flask) -> Client:
    """A browser-like client."""
    return Client(app.test_client())


@pytest.fixture
def make_client(app: Flask) -> Callable[[], Client]:
    """Return a factory of independent browser-like clients."""
    return lambda: Client(app.test_client())


@pytest.fixture
def runner(app: Flask) -> Any:
    """Flask's CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Callable[..., Result]:
    """Return a function running `solveloop --instance TMP ...` against the test database."""
    runner = CliRunner()
    instance = str(tmp_path / "cli-instance")

    def run(*args: str, input: str | bytes | None = None) -> Result:
        return runner.invoke(
            cli_main,
            ["--instance", instance, *args],
            input=input,
            env={"SOLVELOOP_DATABASE_URL": database_url, "SOLVELOOP_INDEXER_THREAD": "false"},
        )

    return run


@pytest.fixture
def make_user(db: Session) -> Callable[..., User]:
    """Return a factory: make_user(role=Role.USER, username=None, name=None) -> User."""
    counter = iter(range(1, 10_000))

    def make(
        role: Role = Role.USER, username: str | None = None, name: str | None = None, **extra: Any
    ) -> User:
        db.commit()  # end any read snapshot: SQLite cannot upgrade a stale one to a write
        username = username or f"{role.value}{next(counter)}"
        user = User(username=username, display_name=name or username.title(), role=role, **extra)
        user.set_password(PASSWORD)
        db.add(user)
        db.commit()
        return user

    return make


@pytest.fixture
def login(client: Client) -> Callable[..., Client]:
    """Return a function signing a user in on a client (the default client unless given)."""

    def sign_in(user: User, on: Client | None = None) -> Client:
        target = on or client
        response = target.post("/login", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return target

    return sign_in


@pytest.fixture
def category(db: Session) -> Callable[[str], Category]:
    """Return a lookup of a default category by slug."""
    from sqlalchemy import select

    return lambda slug: db.scalars(select(Category).where(Category.slug == slug)).one()


@pytest.fixture
def make_article(db: Session, category: Callable[[str], Category]) -> Callable[..., Article]:
    """Return a factory: make_article(title, body, state=published, visibility=public, ...)."""

    def make(
        title: str = "How to reset the VPN client",
        body: str = "## Symptom\n\nIt stopped working.\n\n## Resolution\n\nRestart it.\n",
        state: ArticleState = ArticleState.PUBLISHED,
        visibility: Visibility = Visibility.PUBLIC,
        category_slug: str = "network",
        tags: tuple[str, ...] = (),
    ) -> Article:
        db.commit()  # end any read snapshot: SQLite cannot upgrade a stale one to a write
        fields = ArticleFields(
            title=title,
            body=body,
            category_id=category(category_slug).id,
            visibility=visibility,
            tags=tags,
        )
        article = create_article(db, fields, None)
        if state in (ArticleState.IN_REVIEW, ArticleState.PUBLISHED, ArticleState.ARCHIVED):
            change_state(db, article, ArticleState.IN_REVIEW, None)
        if state in (ArticleState.PUBLISHED, ArticleState.ARCHIVED):
            change_state(db, article, ArticleState.PUBLISHED, None)
        if state is ArticleState.ARCHIVED:
            change_state(db, article, ArticleState.ARCHIVED, None)
        db.commit()
        return article

    return make


@pytest.fixture
def make_ticket(db: Session) -> Callable[..., Ticket]:
    """Return a factory: make_ticket(requester, subject=..., symptom=...) -> Ticket."""

    def make(
        requester: User,
        subject: str = "Printer offline",
        symptom: str = "It says offline.",
        **extra: Any,
    ) -> Ticket:
        db.commit()  # end any read snapshot: SQLite cannot upgrade a stale one to a write
        intake = Intake(
            subject=subject,
            symptom=symptom,
            started=extra.pop("started", "this morning"),
            impact=extra.pop("impact", "me"),
            urgency=extra.pop("urgency", "medium"),
            contact=extra.pop("contact", "ext. 1234"),
            category_id=extra.pop("category_id", None),
            core_system_down=extra.pop("core_system_down", False),
        )
        ticket = open_ticket(db, intake, db.merge(requester))
        db.commit()
        return ticket

    return make


@pytest.fixture
def mail_people(db: Session, make_user: Callable[..., User]) -> dict[str, User]:
    """The desk's mail settings and the people who write to it, by username."""
    chief = make_user(role=Role.ADMIN, username="chief")
    settings.change(db, "mail_address", "servicedesk@corp.example.com", chief.id)
    settings.change(db, "internal_domains", ["corp.example.com"], chief.id)
    db.commit()
    return {
        "alice": make_user(
            username="alice", name="Alice Chen", email="alice.chen@corp.example.com"
        ),
        "bob": make_user(username="bob", name="Bob Martin", email="Bob.Martin@corp.example.com"),
        "zhangwei": make_user(username="zhangwei", name="张伟", email="zhang.wei@corp.example.com"),
        "tom": make_user(
            role=Role.TECHNICIAN,
            username="tom",
            name="Tom Hughes",
            email="tom.hughes@corp.example.com",
        ),
        "chief": chief,
    }
