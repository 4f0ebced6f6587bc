"""Migrations and models agree, and the migrations run both ways."""

from portal.db import make_engine
from portal.schema import downgrade, drift, upgrade


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
