"""Engines for SQLite (the embedded default) and PostgreSQL, with the write transaction each needs."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, RootTransaction, bindparam, create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError

from .prepared import Prepared, raise_database_error

T = TypeVar("T")

# Every append takes this advisory lock, so positions become visible in the order they were handed out.
APPEND_LOCK_KEY = 7_203_114_251


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine; SQLite gets WAL, full sync, a busy timeout and explicit BEGINs."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


def unreachable(url: str) -> str | None:
    """Return why the database at `url` does not answer (the error's type and first words), or None."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return None
    except Exception as error:  # noqa: BLE001  whatever stops a connection is the answer
        return f"{type(error).__name__}: {' '.join(str(error).split())[:160]}"
    finally:
        engine.dispose()


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take over transaction control from the driver, so a write can start with BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writing = connection.get_execution_options().get("policy_ledger_write", False)
    # Straight to the driver: this runs on every transaction, and exec_driver_sql would triple its cost.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute("BEGIN IMMEDIATE" if writing else "BEGIN")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """Open the one kind of transaction that may append: serialised against every other writer."""
    with engine.connect() as connection:
        connection = connection.execution_options(policy_ledger_write=True)
        with _begin_writing(connection):
            yield connection


def _begin_writing(connection: Connection) -> RootTransaction:
    transaction = connection.begin()  # on SQLite, BEGIN IMMEDIATE: the database's one writer
    if connection.dialect.name == "postgresql":
        _APPEND_LOCK.first(connection, {"key": APPEND_LOCK_KEY})
    return transaction


class ThreadConnection:
    """A connection for one engine that each thread keeps open between uses.

    The statements that run on every append (or on every read of a hot resource) are few and short;
    checking a connection out of the pool and back in for each use (and on PostgreSQL, pinging it first)
    costs as much as they do. The connection is returned to the pool when its thread ends or this object
    is dropped. One that was lost while idle is replaced, through the pool, and the use tried once more.
    """

    def __init__(self, engine: Engine, **execution_options: Any) -> None:
        self.engine = engine
        self.execution_options = execution_options
        self._local = threading.local()

    def run(self, start: Callable[[Connection], T]) -> tuple[Connection, T]:
        """Call `start` with this thread's connection; return the connection and what `start` returned."""
        for attempt in (1, 2):
            held = getattr(self._local, "held", None)
            if held is None or held.pool is not self.engine.pool:  # none yet, or the engine was disposed since
                if held is not None:
                    held.close()
                held = self._local.held = _Held(self.engine, self.execution_options)
            try:
                return held.connection, start(held.connection)
            except DBAPIError as error:
                self._local.held = None
                held.close()
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")


class Writer(ThreadConnection):
    """Write transactions (as `write_transaction`) on the connection each thread keeps for them."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine, policy_ledger_write=True)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Open a write transaction on this thread's connection."""
        connection, transaction = self.run(_begin_writing)
        with transaction:
            yield connection


@contextmanager
def pipelined(connection: Connection) -> Iterator[None]:
    """On PostgreSQL, send a write's statements without waiting for each one's answer (psycopg's pipeline
    mode): an append's inserts and its read models' writes then cost one round trip, not one each. Reads
    still wait for their rows; an error a statement met is raised when the pipeline is next synchronised,
    at the latest on leaving this block, as SQLAlchemy's error."""
    if connection.dialect.name != "postgresql":
        yield
        return
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.pipeline():
            yield
    except connection.dialect.loaded_dbapi.Error as error:
        raise_database_error(connection, error, None, None, None)


class _Held:
    """A thread's connection, given back when the thread or its owner lets go of it."""

    def __init__(self, engine: Engine, execution_options: dict[str, Any]) -> None:
        self.pool = engine.pool
        self.connection = engine.connect().execution_options(**execution_options)

    def close(self) -> None:
        try:
            if self.connection.engine.pool is not self.pool:
                # The engine was disposed while this was out: its pool is gone, so close the connection itself.
                self.connection.invalidate()
            self.connection.close()
        except Exception:  # noqa: BLE001  the database may be gone already: there is nothing left to give back
            pass

    def __del__(self) -> None:
        self.close()


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """Open a read transaction: one consistent snapshot for a whole read."""
    with engine.connect() as connection, connection.begin():
        if engine.dialect.name == "postgresql":
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        yield connection


_APPEND_LOCK = Prepared(select(func.pg_advisory_xact_lock(bindparam("key"))))
