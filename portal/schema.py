"""Create and check the database schema with Alembic, on the app's own engine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from portal.models import metadata

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")


def alembic_config(engine: Engine) -> Config:
    """Return an Alembic config whose env.py uses a connection of ``engine``."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ALEMBIC_INI.with_name("migrations")))
    cfg.attributes["engine"] = engine
    return cfg


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """Yield a connection in one transaction for migrations.

    On SQLite this follows its procedure for schema changes: foreign keys off (a batch
    migration recreates a referenced table, which a deferred check would count as a
    violation even after the rename), then `foreign_key_check` before committing.
    """
    with engine.connect() as connection:
        sqlite = engine.dialect.name == "sqlite"
        raw = connection.connection.dbapi_connection
        if sqlite and raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, or it is ignored
        try:
            with connection.begin():
                yield connection
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        finally:
            if sqlite and raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` (head by default)."""
    cfg = alembic_config(engine)
    with _migrating(engine) as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Migrate the database down to ``revision``."""
    cfg = alembic_config(engine)
    with _migrating(engine) as connection:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)


def revision(engine: Engine, message: str) -> None:
    """Autogenerate a new migration script from the models (for developers; review it!)."""
    cfg = alembic_config(engine)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)


def forbid_changes(connection: Connection, table: str) -> None:
    """Make ``table`` append-only in the database: UPDATE and DELETE raise.

    SQLite drops a table's triggers when a batch migration recreates it, so a later
    migration that batch-alters ``table`` calls ``allow_changes`` first and this after.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text(
                "CREATE OR REPLACE FUNCTION solveloop_append_only() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END $$"
            )
        )
        connection.execute(
            text(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION solveloop_append_only()"
            )
        )
        return
    for operation in ("UPDATE", "DELETE"):
        connection.execute(
            text(
                f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
            )
        )


def allow_changes(connection: Connection, table: str) -> None:
    """Remove what ``forbid_changes`` added to ``table``."""
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}"))
        return
    for operation in ("update", "delete"):
        connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{operation}"))


def drift(engine: Engine) -> list[Any]:
    """Return the differences between the migrated database and the models (empty = none)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "render_as_batch": True}
        )
        return list(compare_metadata(context, metadata))
