"""Engines for SQLite (the embedded default) and PostgreSQL, with the write transaction each needs."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from operator import itemgetter
from typing import Any, Callable, Iterator, TypeVar

from sqlalchemy import (Connection, Dialect, Engine, Executable, RootTransaction, bindparam, create_engine, event,
                        func, select, text)
from sqlalchemy.exc import DBAPIError

T = TypeVar("T")

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


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Take over transaction control from the driver, so a write can start with BEGIN IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=30000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    writing = connection.get_execution_options().get("policy_ledger_write", False)
    # Straight to the driver: this runs on every transaction, and exec_driver_sql would triple its cost.
    connection.connection.driver_connection.execute("BEGIN IMMEDIATE" if writing else "BEGIN")


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
    try:
        with driver.pipeline():
            yield
    except connection.dialect.loaded_dbapi.Error as error:
        connection._handle_dbapi_exception(error, None, None, None, None)
        raise  # not reached: the handler always raises


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
    with engine.connect() as connection:
        with connection.begin():
            if engine.dialect.name == "postgresql":
                connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
            yield connection


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's own cursor.

    For the statements that run on every append, replay and rebuild. Through `Connection.execute`, SQLAlchemy's
    per-call work (cache key, compiled-cache lookup, bind and result processing, result metadata) costs two to
    four times the statement itself on SQLite. Only for statements whose parameters and results are text,
    integers and nulls, which need no type processing: rows come back as the driver's tuples. Errors are
    raised as SQLAlchemy's, and a lost connection is invalidated, exactly as through `Connection.execute`.
    """

    def __init__(self, statement: Executable) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, Callable[[dict[str, Any]], Any] | None, dict[str, Any]]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, Callable[[dict[str, Any]], Any] | None, dict[str, Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            order: Callable[[dict[str, Any]], Any] | None = None
            if compiled.positional:
                names = tuple(compiled.positiontup or ())
                # The driver takes a tuple in placeholder order: itemgetter builds it in one C call.
                order = (lambda params: ()) if not names else (
                    (lambda params, name=names[0]: (params[name],)) if len(names) == 1 else itemgetter(*names))
            # Values fixed in the statement itself (a LIMIT, a literal in a WHERE) travel as parameters too.
            fixed = {name: bind.value for bind, name in compiled.bind_names.items() if bind.value is not None}
            found = self._compiled[dialect.name] = (compiled.string, order, fixed)
        return found

    def _bind(self, order: Callable[[dict[str, Any]], Any] | None, fixed: dict[str, Any],
              params: dict[str, Any]) -> Any:
        if fixed:
            params = {**fixed, **params}
        return params if order is None else order(params)

    def _run(self, connection: Connection, params: dict[str, Any] | None, rows: list[dict[str, Any]] | None,
             fetch: bool) -> list[Any]:
        sql, order, fixed = self._for(connection.dialect)
        bound: Any = None
        cursor = connection.connection.cursor()
        try:
            if rows is None:
                bound = self._bind(order, fixed, params or {})
                cursor.execute(sql, bound)
            else:
                bound = [self._bind(order, fixed, row) for row in rows]
                cursor.executemany(sql, bound)
            found = cursor.fetchall() if fetch else []
            cursor.close()
            return found
        except connection.dialect.loaded_dbapi.Error as error:
            # SQLAlchemy's own handler: wraps the error, and invalidates the connection if it was lost.
            connection._handle_dbapi_exception(error, sql, bound, cursor, None)
            raise  # not reached: the handler always raises

    def rows(self, connection: Connection, params: dict[str, Any] | None = None) -> list[Any]:
        """Run a query and return all its rows as tuples."""
        return self._run(connection, params, None, True)

    def stream(self, connection: Connection, params: dict[str, Any] | None = None,
               batch: int = 2000) -> Iterator[Any]:
        """Run a query and yield its rows as the database hands them over, never holding them all.

        SQLite steps through the result as it is read; on PostgreSQL a server-side cursor sends `batch` rows
        at a time (it needs the caller's transaction to stay open while the rows are read).
        """
        sql, order, fixed = self._for(connection.dialect)
        bound = self._bind(order, fixed, params or {})
        dbapi = connection.connection
        cursor = (dbapi.driver_connection.cursor(name=f"policy_ledger_{id(self):x}")
                  if connection.dialect.name == "postgresql" else dbapi.cursor())
        try:
            if connection.dialect.name == "postgresql":
                cursor.itersize = batch
            cursor.execute(sql, bound)
            yield from cursor
        except connection.dialect.loaded_dbapi.Error as error:
            connection._handle_dbapi_exception(error, sql, bound, cursor, None)
            raise  # not reached: the handler always raises
        finally:
            cursor.close()

    def first(self, connection: Connection, params: dict[str, Any] | None = None) -> Any:
        """Run a query and return its first row (None when it has none)."""
        found = self._run(connection, params, None, True)
        return found[0] if found else None

    def scalar(self, connection: Connection, params: dict[str, Any] | None = None) -> Any:
        """Run a query and return the first column of its first row (None when it has none)."""
        found = self._run(connection, params, None, True)
        return found[0][0] if found else None

    def execute(self, connection: Connection, params: dict[str, Any] | None = None) -> None:
        """Run a statement with one set of named parameters."""
        self._run(connection, params, None, False)

    def execute_many(self, connection: Connection, rows: list[dict[str, Any]]) -> None:
        """Run a statement once per row, through the driver's executemany (nothing for no rows)."""
        if rows:
            self._run(connection, None, rows, False)


_APPEND_LOCK = Prepared(select(func.pg_advisory_xact_lock(bindparam("key"))))
