"""Create or upgrade the database schema with Alembic: the log and triggers, the read models, the service's tables."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, delete, inspect, select, text

from events.store import EventStore
from events.store.engine import write_transaction
from events.store.tables import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# The revision that holds the schema `events.store.tables.create_all` made before migrations existed.
INITIAL_REVISION = "0001"
VERSION_TABLE = "alembic_version"

# A migration that adds or reshapes a read model asks for the read models to be rebuilt from the log;
# `upgrade` does so in the same transaction, so no read model is ever left disagreeing with the log.
rebuild_requests = Table(
    "rebuild_requests", metadata,
    Column("reason", String(200), primary_key=True),
    Column("requested_by", String(20), nullable=False),
)


def full_metadata() -> MetaData:
    """Return the one MetaData with every table registered on it (log, read models, service tables)."""
    import projections  # noqa: F401  (each read-model module registers its tables on import)
    from service import accounts, delegations  # noqa: F401  (the service's own tables)
    from service.evidence import checkpoints  # noqa: F401
    from service.http import idempotency  # noqa: F401
    from service.notifications import tables  # noqa: F401
    return metadata


def alembic_config(connection: Connection | None = None) -> Config:
    """Build the Alembic configuration in code, so no alembic.ini is needed at run time."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the current version (idempotent; safe to run while the service runs)."""
    # One write transaction: SQLite's BEGIN IMMEDIATE or PostgreSQL's append lock keeps out writers and
    # a second `init` running at the same moment, and a failed migration leaves nothing half done.
    with write_transaction(engine) as connection:
        config = alembic_config(connection)
        if _made_before_migrations(connection):
            command.stamp(config, _revision_of_unversioned(connection))
        command.upgrade(config, "head")
        if connection.execute(select(rebuild_requests.c.reason)).first() is not None:
            from projections.rebuild import replay_into
            replay_into(connection, EventStore(engine))
            connection.execute(delete(rebuild_requests))


def _made_before_migrations(connection: Connection) -> bool:
    tables = set(inspect(connection).get_table_names())
    return "events" in tables and VERSION_TABLE not in tables


def _revision_of_unversioned(connection: Connection) -> str:
    # `create_all` made the tables the code declared then: all of today's means head, else the first revision.
    return "head" if not differences(connection) else INITIAL_REVISION


def _declared(name: str | None, type_: str, parent_names: Any) -> bool:
    """Whether a reflected object is the code's to declare (not the full-text engine's, made by migration 0009)."""
    from projections.search.tables import ENGINE_COLUMNS, ENGINE_INDEXES, ENGINE_TABLE_PREFIX
    if type_ == "table":
        return not (name or "").startswith(ENGINE_TABLE_PREFIX)
    if type_ == "column":
        return name not in ENGINE_COLUMNS
    if type_ == "index":
        return name not in ENGINE_INDEXES
    return True


def differences(connection: Connection) -> list[Any]:
    """Return how the database's schema differs from what the code declares (Alembic's comparison)."""
    context = MigrationContext.configure(connection, opts={
        "compare_type": True, "include_name": _declared,
        "include_object": lambda obj, name, type_, reflected, compare_to: _declared(name, type_, None)})
    return list(compare_metadata(context, full_metadata()))


def current_revision(connection_or_engine: Connection | Engine) -> str | None:
    """Return the revision the database is at (None before the first upgrade)."""
    if isinstance(connection_or_engine, Engine):
        with connection_or_engine.connect() as connection:
            return current_revision(connection)
    connection = connection_or_engine
    # Read Alembic's table directly: cheap enough for every readiness probe, and silent in the logs.
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"the database has several schema heads: {', '.join(sorted(rows))}")
    return rows[0] if rows else None


@lru_cache(maxsize=1)
def head_revision() -> str:
    """Return the newest revision this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head
