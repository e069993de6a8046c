"""Engines for SQLite (the embedded default) and PostgreSQL, with the write transaction each needs."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event, text

# Every append takes this advisory lock, so positions become visible in the order they were handed out.
APPEND_LOCK_KEY = 7_203_114_251


def make_engine(url: str, **options) -> Engine:
    """Create an engine; SQLite gets WAL, full sync, a busy timeout and explicit BEGINs."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Take over transaction control from the driver, so a write can start with BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writing = connection.get_execution_options().get("policy_ledger_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Open the one kind of transaction that may append: serialised against every other writer."""
    with engine.connect() as connection:
        connection = connection.execution_options(policy_ledger_write=True)
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})
            yield connection


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """Open a read transaction: one consistent snapshot for a whole read."""
    with engine.connect() as connection:
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            yield connection
