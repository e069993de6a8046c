"""Fixtures every level shares: databases on SQLite and (where it is reachable) PostgreSQL, the store and ledger
on them, and the Flask app with its users.

The levels: `unit/` needs none of these; `integration/` uses the store, ledger and app on real databases;
`api/` talks HTTP to the app through Flask's test client; `e2e/` starts real servers and processes.

Each test gets a database of its own, copied from one the migrations built once (see tests/support/databases.py).
A module whose tests only read may share one database and app among them: it overrides `database_url`, `app`
and `tokens` at module scope, and its tests use `nothing_written`, which fails any test that wrote.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from sqlalchemy import Engine

import projections
from events.application import Ledger
from events.store import EventStore
from events.store.engine import make_engine
from tests.support import DATABASES, POSTGRES_ADMIN_URL, FakeClock, SequentialIds, postgres_reason, require_postgres
from tests.support.apps import add_tokens, running_app
from tests.support.databases import Databases, row_counts

# Property tests check what holds, never how fast (speed is measured by the benchmarks): no deadline per example,
# and no health check failing a test because a busy machine generated its data slowly.
settings.register_profile("ledger", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ledger")


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
def databases(tmp_path_factory) -> Databases:
    """This test process's migrated templates, and the copies of them it hands out."""
    databases = Databases(tmp_path_factory.mktemp("databases"))
    yield databases
    databases.close()


@pytest.fixture(params=DATABASES)
def database_url(request, databases, tmp_path) -> str:
    """A new database at the newest schema: a SQLite file, or a PostgreSQL database dropped after the test."""
    with databases.lend(request.param, tmp_path) as url:
        yield url


@pytest.fixture(params=DATABASES)
def empty_database_url(request, databases, tmp_path) -> str:
    """A new, empty database (no schema at all), for tests of the migrations."""
    with databases.lend(request.param, tmp_path, migrated=False) as url:
        yield url


@pytest.fixture
def nothing_written(database_url):
    """Fail the test if it changed its database: for modules whose tests share one (and promise only to read)."""
    before = row_counts(database_url)
    yield
    assert row_counts(database_url) == before, "a test of a read-only module wrote to the database it shares"


@pytest.fixture
def engine(database_url) -> Engine:
    projections.register()
    engine = make_engine(database_url)
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
    """The Flask app on the test's database."""
    with running_app(database_url, **app_config) as app:
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def tokens(app) -> dict[str, str]:
    """A bearer token per role name in ROLE_USERS (users: dean, reviewer1, qa-director, rector, …)."""
    return add_tokens(app)
