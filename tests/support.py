"""Test helpers: a controllable clock, sequential ids, and databases on SQLite and PostgreSQL."""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy

from events.store.engine import unreachable

# The seed policy as the service ships it (a copy of the one the product was born from).
SEED_POLICY = Path(__file__).resolve().parents[1] / "service" / "content" / "seed" / "oshsu-education-quality-policy.ky.txt"
POSTGRES_ADMIN_URL = os.environ.get("POLICY_LEDGER_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


class FakeClock:
    """A clock that moves only when told to (and by a microsecond per reading, so times stay distinct)."""

    def __init__(self, start: datetime | str = "2024-01-10T09:00:00+00:00") -> None:
        self.now = datetime.fromisoformat(start) if isinstance(start, str) else start

    def __call__(self) -> datetime:
        self.now += timedelta(microseconds=1)
        return self.now

    def set(self, moment: str) -> None:
        self.now = datetime.fromisoformat(moment).astimezone(timezone.utc)

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class SequentialIds:
    """Readable ids in creation order, so failures are easy to read."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}-{self.count:04d}"


def postgres_reason() -> str | None:
    """Return why PostgreSQL cannot be used here, or None when it can."""
    why = unreachable(POSTGRES_ADMIN_URL)
    return None if why is None else f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {why}"


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
