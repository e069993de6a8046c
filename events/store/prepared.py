"""Statements compiled once and run on the driver's own cursor: the store's fast path, and the only one."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any, NoReturn, cast

from sqlalchemy import ClauseElement, Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler


def raise_database_error(connection: Connection, error: Exception, statement: str | None, parameters: Any,
                         cursor: Any) -> NoReturn:
    """Raise a driver's error as SQLAlchemy raises it from `Connection.execute`.

    Wrapped in the matching `sqlalchemy.exc` class (OperationalError, IntegrityError…), and a connection the
    dialect says is lost is invalidated first, so the pool replaces it: the public pieces of what SQLAlchemy
    does for its own statements.
    """
    dialect = connection.dialect
    lost = bool(dialect.is_disconnect(error, connection.connection.dbapi_connection, cursor))  # type: ignore[arg-type]
    if lost:
        connection.invalidate(error)
    raise DBAPIError.instance(statement, parameters, error, dialect.loaded_dbapi.Error,
                              connection_invalidated=lost, dialect=dialect) from error


class Prepared:
    """A Core statement compiled once per dialect and run on the driver's own cursor.

    For the statements that run on every append, replay and rebuild. Through `Connection.execute`, SQLAlchemy's
    per-call work (cache key, compiled-cache lookup, bind and result processing, result metadata) costs two to
    four times the statement itself on SQLite. Only for statements whose parameters and results are text,
    integers and nulls, which need no type processing: rows come back as the driver's tuples. Errors are
    raised as SQLAlchemy's, and a lost connection is invalidated, exactly as through `Connection.execute`.
    """

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, tuple[str, Callable[[dict[str, Any]], Any] | None, dict[str, Any]]] = {}

    def _for(self, dialect: Dialect) -> tuple[str, Callable[[dict[str, Any]], Any] | None, dict[str, Any]]:
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = cast(SQLCompiler, self.statement.compile(dialect=dialect))
            order: Callable[[dict[str, Any]], Any] | None = None
            if compiled.positional:
                names = tuple(compiled.positiontup or ())
                # The driver takes a tuple in placeholder order: itemgetter builds it in one C call.
                order = _positional(names)
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
            found = list(cursor.fetchall()) if fetch else []
            cursor.close()
            return found
        except connection.dialect.loaded_dbapi.Error as error:
            raise_database_error(connection, error, sql, bound, cursor)

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
        cursor: Any = (dbapi.driver_connection.cursor(name=f"policy_ledger_{id(self):x}")  # type: ignore[union-attr]
                       if connection.dialect.name == "postgresql" else dbapi.cursor())
        try:
            if connection.dialect.name == "postgresql":
                cursor.itersize = batch
            cursor.execute(sql, bound)
            yield from cursor
        except connection.dialect.loaded_dbapi.Error as error:
            raise_database_error(connection, error, sql, bound, cursor)
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


def _positional(names: tuple[str, ...]) -> Callable[[dict[str, Any]], Any]:
    """Return what builds the driver's tuple of parameters in placeholder order (itemgetter: one C call)."""
    if not names:
        return lambda params: ()
    if len(names) == 1:
        name = names[0]
        return lambda params: (params[name],)
    return itemgetter(*names)
