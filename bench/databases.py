"""Scratch databases for one run: SQLite files in a temporary folder, PostgreSQL databases created and dropped."""
from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from sqlalchemy import Engine, event

from events.store.engine import unreachable

POSTGRES_ADMIN_URL = os.environ.get("POLICY_LEDGER_BENCH_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# The durability every SQLite figure runs with: what events/database.py sets for the ledger.
SQLITE_PRAGMAS = ("journal_mode=WAL", "synchronous=FULL")


def postgres_reason() -> str | None:
    """Return why PostgreSQL cannot be used, or None when it can."""
    why = unreachable(POSTGRES_ADMIN_URL)
    return None if why is None else f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {why}"


class Scratch:
    """Hands out fresh databases and removes every one of them at the end."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="policy-ledger-bench-"))
        self.postgres: list[str] = []

    def sqlite_path(self, name: str) -> Path:
        """Return the path of a new, empty SQLite file."""
        return self.folder / f"{name}.sqlite3"

    def sqlite_url(self, name: str) -> str:
        """Return the URL of a new, empty SQLite file."""
        return f"sqlite:///{self.sqlite_path(name)}"

    def postgres_url(self, name: str) -> str:
        """Create an empty PostgreSQL database and return its SQLAlchemy URL."""
        database = f"policy_ledger_bench_{name}_{secrets.token_hex(3)}"
        engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE \"{database}\" ENCODING 'UTF8' TEMPLATE template0")
        engine.dispose()
        self.postgres.append(database)
        return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + database

    def close(self) -> None:
        """Drop every database this run made."""
        if self.postgres:
            engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
            with engine.connect() as connection:
                for database in self.postgres:
                    connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            engine.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextmanager
def scratch() -> Iterator[Scratch]:
    """Give out scratch databases for a block and remove them after it."""
    place = Scratch()
    try:
        yield place
    finally:
        place.close()


def libpq_url(url: str) -> str:
    """Return a SQLAlchemy PostgreSQL URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def database_name(url: str) -> str:
    """Return the database name at the end of a URL."""
    return url.rsplit("/", 1)[1]


def plain_sqlite(path: Path) -> sqlite3.Connection:
    """Open SQLite with the ledger's durability settings and manual transactions."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in SQLITE_PRAGMAS:
        connection.execute(f"PRAGMA {pragma}")
    return connection


def plain_sqlalchemy_engine(url: str) -> Engine:
    """Create a stock SQLAlchemy engine; on SQLite with the ledger's durability settings and nothing else."""
    engine = sqlalchemy.create_engine(url)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _pragmas)
    return engine


def _pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
