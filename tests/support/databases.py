"""Databases for tests: each test gets a copy of one database that the real migrations built once.

Running every Alembic migration for each test cost more than most tests themselves. So each test process
(each pytest-xdist worker, or pytest alone) migrates one template per kind, with `service.db.upgrade`, what
production runs, and hands out copies of it: a file copy on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL.

On PostgreSQL a copy still costs the server a tenth of a second, and dropping it as much again. One thread
per process does that work while tests run: it keeps a few copies made ahead and drops those the tests let go,
one statement at a time (a creation and a drop running at once slow each other down).
"""
from __future__ import annotations

import itertools
import os
import secrets
import shutil
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy
from sqlalchemy import func, select

import projections
from events.store.engine import make_engine
from service.db import full_metadata, upgrade

from . import POSTGRES_ADMIN_URL, require_postgres

SQLITE_NAME = "ledger.sqlite3"
MADE_AHEAD = 2  # PostgreSQL copies kept ready


def _url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _admin() -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT", pool_size=1)


def _create(admin: sqlalchemy.Engine, name: str, source: str) -> None:
    with admin.connect() as connection:
        # Only the creation of this scratch database skips the wait for its commit to reach the disk.
        connection.exec_driver_sql("SET synchronous_commit = off")
        connection.exec_driver_sql(f'CREATE DATABASE "{name}" {source}')


def _drop(admin: sqlalchemy.Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # closing what holds it


class _Keeper:
    """The thread that makes PostgreSQL copies of a template ahead of need and drops the ones let go."""

    def __init__(self, template: str, new_name: Callable[[], str]) -> None:
        self.template, self.new_name = template, new_name
        self.ready: deque[str] = deque()
        self.to_drop: deque[str] = deque()
        self.failed_makes: list[str] = []
        self.failed_drops: list[str] = []
        self.closing = False
        self.changed = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="test-databases", daemon=True)
        self.thread.start()

    def take(self) -> str:
        """Return the name of a fresh copy, waiting for one if none is ready."""
        with self.changed:
            while not self.ready:
                if self.failed_makes:
                    raise RuntimeError("could not make a test database: " + "; ".join(self.failed_makes))
                self.changed.wait()
            name = self.ready.popleft()
            self.changed.notify_all()
            return name

    def let_go(self, name: str) -> None:
        with self.changed:
            self.to_drop.append(name)
            self.changed.notify_all()

    def close(self) -> None:
        """Drop every copy made and let go, then stop; fail naming any database that could not be dropped."""
        with self.changed:
            self.closing = True
            self.to_drop.extend(self.ready)
            self.ready.clear()
            self.changed.notify_all()
        self.thread.join(timeout=300)
        if self.failed_drops:
            raise RuntimeError("test databases left behind: " + "; ".join(self.failed_drops))

    def _run(self) -> None:
        admin = _admin()
        try:
            while True:
                with self.changed:
                    while not self.to_drop and (self.closing or len(self.ready) >= MADE_AHEAD or self.failed_makes):
                        if self.closing:
                            return
                        self.changed.wait()
                    make = not self.closing and len(self.ready) < MADE_AHEAD and not self.failed_makes
                    name = self.new_name() if make else self.to_drop.popleft()
                try:  # one statement at a time, outside the lock
                    if make:
                        _create(admin, name, f'TEMPLATE "{self.template}"')
                    else:
                        _drop(admin, name)
                except Exception as error:  # noqa: BLE001  reported to the tests that wait, or at the end
                    with self.changed:
                        (self.failed_makes if make else self.failed_drops).append(f"{name}: {error}")
                        self.changed.notify_all()
                    continue
                if make:
                    with self.changed:  # made while the session closed: it goes the way of the others
                        (self.to_drop if self.closing else self.ready).append(name)
                        self.changed.notify_all()
        finally:
            admin.dispose()


class Databases:
    """This test process's templates and the copies it hands out (see the module's docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        self.prefix = f"policy_ledger_test_{worker}_{secrets.token_hex(3)}"
        self.numbers = itertools.count(1)
        self.template_name = f"{self.prefix}_template"
        self.lock = threading.Lock()
        self._sqlite_template: Path | None = None
        self._keeper: _Keeper | None = None
        self._admin: sqlalchemy.Engine | None = None

    @contextmanager
    def lend(self, kind: str, directory: Path, *, migrated: bool = True) -> Iterator[str]:
        """Give the URL of a new database (at the newest schema, or empty) for a `with` block; let it go after.

        A SQLite database is a file in `directory`; a PostgreSQL one is dropped after the block.
        """
        if kind == "sqlite":
            target = directory / SQLITE_NAME
            if migrated:
                shutil.copyfile(self._sqlite(), target)
            yield f"sqlite:///{target}"
            return
        require_postgres()
        if migrated:
            keeper = self._postgres()
            name = keeper.take()
        else:
            keeper, name = self._postgres(), self._new_name()
            _create(self._admin_engine(), name, "ENCODING 'UTF8' TEMPLATE template0")
        try:
            yield _url(name)
        finally:
            keeper.let_go(name)

    @contextmanager
    def copy_of(self, source_url: str, directory: Path) -> Iterator[str]:
        """Give the URL of a new copy of a database a test module built (the demo, say), for a `with` block.

        Nothing may hold the source open: on PostgreSQL it takes no connections from then on.
        """
        if source_url.startswith("sqlite:///"):
            target = directory / SQLITE_NAME
            shutil.copyfile(source_url.removeprefix("sqlite:///"), target)
            yield f"sqlite:///{target}"
            return
        source = source_url.rsplit("/", 1)[1]
        admin, name = self._admin_engine(), self._new_name()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'ALTER DATABASE "{source}" ALLOW_CONNECTIONS false')
        _create(admin, name, f'TEMPLATE "{source}"')
        try:
            yield _url(name)
        finally:
            _drop(admin, name)

    def close(self) -> None:
        """Drop every PostgreSQL database made, the template last."""
        if self._keeper is not None:
            try:
                self._keeper.close()
            finally:
                admin = self._admin_engine()
                with admin.connect() as connection:
                    connection.exec_driver_sql(f'ALTER DATABASE "{self.template_name}" IS_TEMPLATE false')
                _drop(admin, self.template_name)
        if self._admin is not None:
            self._admin.dispose()

    # ---- the templates --------------------------------------------------------------------------

    def _sqlite(self) -> Path:
        with self.lock:
            if self._sqlite_template is None:
                path = self.directory / "template.sqlite3"
                _migrate(f"sqlite:///{path}")
                # The last connection closed checkpoints the write-ahead log into the file: the file is all of it.
                assert not Path(f"{path}-wal").exists(), "the template's write-ahead log was not checkpointed"
                self._sqlite_template = path
            return self._sqlite_template

    def _postgres(self) -> _Keeper:
        with self.lock:
            if self._keeper is None:
                admin = self._admin_engine()
                _create(admin, self.template_name, "ENCODING 'UTF8' TEMPLATE template0")
                _migrate(_url(self.template_name))
                with admin.connect() as connection:
                    # Nobody may connect to it any more (autovacuum neither): PostgreSQL copies only an unused one.
                    connection.exec_driver_sql(
                        f'ALTER DATABASE "{self.template_name}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false')
                self._keeper = _Keeper(self.template_name, self._new_name)
            return self._keeper

    def _new_name(self) -> str:
        return f"{self.prefix}_{next(self.numbers)}"  # itertools.count: safe from any thread

    def _admin_engine(self) -> sqlalchemy.Engine:
        if self._admin is None:
            self._admin = _admin()
        return self._admin


def row_counts(database_url: str) -> dict[str, int]:
    """Return how many rows each table holds (the log's included), in one query."""
    tables = full_metadata().sorted_tables
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            counts = connection.execute(
                select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables)))
            return dict(zip((t.name for t in tables), counts.one(), strict=True))
    finally:
        engine.dispose()


def _migrate(url: str) -> None:
    """Bring a database to the newest schema the way production does, and close every connection to it."""
    projections.register()
    engine = make_engine(url)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def tamper(engine: sqlalchemy.Engine, statement: str) -> None:
    """Change the log behind its triggers' back, as someone with a database prompt could (what verify must catch)."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER USER")
            connection.exec_driver_sql(statement)
            connection.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER USER")
        else:
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_update")
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS events_no_delete")
            connection.exec_driver_sql(statement)
