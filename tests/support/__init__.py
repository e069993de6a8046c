"""What tests of every level share: a controllable clock, sequential ids, the users and their tokens, PostgreSQL.

The rest of this package: `databases` (migrated template databases and their copies), `lifecycle` (a realistic
history on the ledger), `api` (the policies API through Flask's test client), `servers` (real servers and the
CLI as a subprocess) and `consistency` (checks on a log that servers wrote).
"""
from __future__ import annotations

import functools
import os
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy

from events.store.engine import unreachable

REPO = Path(__file__).resolve().parents[2]
# The seed policy as the service ships it (a copy of the one the product was born from).
SEED_POLICY = REPO / "service" / "content" / "seed" / "oshsu-education-quality-policy.ky.txt"
POSTGRES_ADMIN_URL = os.environ.get("POLICY_LEDGER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("POLICY_LEDGER_REQUIRE_POSTGRES") == "1"

ROLE_USERS = {
    "author": ("dean", ["author"]),
    "author2": ("head-of-department", ["author"]),
    "reviewer": ("reviewer1", ["reviewer"]),
    "reviewer2": ("reviewer2", ["reviewer"]),
    "approver": ("qa-director", ["approver"]),
    "approver2": ("rector", ["approver"]),
    "auditor": ("auditor", ["auditor"]),
    "admin": ("quality-office", ["admin"]),
    "staff": ("lecturer", ["staff"]),
}
# Every user ROLE_USERS makes has this password: signatures through the API ask for it again.
PASSWORD = "pass-сөз-ү-123"


def bearer(token: str) -> dict[str, str]:
    """Return the Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


class FakeClock:
    """A clock that moves only when told to (and by a microsecond per reading, so times stay distinct)."""

    def __init__(self, start: datetime | str = "2024-01-10T09:00:00+00:00") -> None:
        self.now = datetime.fromisoformat(start) if isinstance(start, str) else start

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def set(self, moment: str) -> None:
        self.now = datetime.fromisoformat(moment).astimezone(UTC)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class SequentialIds:
    """Readable ids in creation order, so failures are easy to read."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count:04d}"


# Every database test runs on each of these; the PostgreSQL runs are marked, and skipped (or failed) without a server.
DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@functools.cache
def postgres_reason() -> str | None:
    """Return why PostgreSQL cannot be used here, or None when it can (asked once per process)."""
    why = unreachable(POSTGRES_ADMIN_URL)
    return None if why is None else f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {why}"


def require_postgres() -> None:
    """Skip the test asking, saying why, where PostgreSQL is not reachable; with REQUIRE_POSTGRES, fail it."""
    reason = postgres_reason()
    if reason is not None:
        if REQUIRE_POSTGRES:
            pytest.fail(f"POLICY_LEDGER_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)


def create_postgres_database() -> str:
    """Create a fresh, uniquely named database and return its URL."""
    name = f"policy_ledger_test_{secrets.token_hex(4)}"
    engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0')
    engine.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def drop_postgres_database(url: str) -> None:
    """Drop a database made by create_postgres_database, closing what still holds it."""
    name = url.rsplit("/", 1)[1]
    engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()
