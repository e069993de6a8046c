"""Fixtures every level shares: databases on SQLite and (where it is reachable) PostgreSQL, the store and ledger
on them, and the Flask app with its users.

The levels: `unit/` needs none of these; `integration/` uses the store, ledger and app on real databases;
`api/` talks HTTP to the app through Flask's test client; `e2e/` starts real servers and processes.
"""
from __future__ import annotations

import pytest
from sqlalchemy import Engine

import projections
from events.application import Ledger
from events.store.engine import make_engine
from events.store import EventStore
from service.db import full_metadata, upgrade

from tests.support import (DATABASES, POSTGRES_ADMIN_URL, ROLE_USERS, FakeClock, SequentialIds,
                           create_postgres_database, drop_postgres_database, postgres_reason, require_postgres)


def pytest_report_header(config) -> str:
    reason = postgres_reason()
    if reason is None:
        return "PostgreSQL: reachable, PostgreSQL tests will run"
    return f"PostgreSQL: NOT reachable, PostgreSQL tests will be SKIPPED ({reason})"


# ---- databases ----------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres() -> str:
    """PostgreSQL's admin URL, for tests that make databases of their own (skipped, saying why, without a server)."""
    require_postgres()
    return POSTGRES_ADMIN_URL


@pytest.fixture(scope="session")
def postgres_url(postgres):
    """One scratch PostgreSQL database for the session."""
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)


@pytest.fixture(params=DATABASES)
def database_url(request, tmp_path) -> str:
    """A fresh, empty database URL: a SQLite file, or a reset PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    url = request.getfixturevalue("postgres_url")
    engine = make_engine(url)
    full_metadata().drop_all(engine)  # every table the migrations make, whichever modules this test imported
    with engine.begin() as connection:  # so the next upgrade starts from an empty database again
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    engine.dispose()
    return url


@pytest.fixture
def engine(database_url) -> Engine:
    projections.register()
    engine = make_engine(database_url)
    upgrade(engine)  # the same Alembic migrations production runs
    yield engine
    engine.dispose()


# ---- the write side on them ---------------------------------------------------------------------

@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine, clock) -> EventStore:
    return EventStore(engine, clock=clock)


@pytest.fixture
def ledger(store, clock) -> Ledger:
    return Ledger(store=store, clock=clock, ids=SequentialIds())


# ---- the app ------------------------------------------------------------------------------------

@pytest.fixture
def app_config() -> dict:
    """Settings a module adds to the app's test configuration (override it: e.g. the ledger's clock)."""
    return {}


@pytest.fixture
def app(database_url, app_config):
    """The Flask app on a fresh database with its schema in place."""
    from service import create_app
    from service.bootstrap import services
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, **app_config})
    with app.app_context():
        upgrade(services().engine)
    yield app
    app.extensions["policy_ledger"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def tokens(app) -> dict[str, str]:
    """A bearer token per role name in ROLE_USERS (users: dean, reviewer1, qa-director, rector, …)."""
    from service.accounts import add_user
    engine = app.extensions["policy_ledger"].engine
    return {key: add_user(engine, name, roles) for key, (name, roles) in ROLE_USERS.items()}
