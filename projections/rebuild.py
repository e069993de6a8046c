"""Drop every read model and replay the whole log into it, through the same code the live appends use."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, delete, select

from events.store import EventStore
from events.store.engine import write_transaction
from events.store.signals import appended

from . import register, tables

# Events fed to the read models at once: large enough that each batch's per-policy and per-revision writes
# are few, small enough that its decoded events stay about ten megabytes.
REPLAY_BATCH = 2_000


def rebuild(store: EventStore, progress: Callable[[int], None] | None = None) -> int:
    """Empty the read models and replay the log into them in one transaction; return the events replayed."""
    # The write transaction holds off appenders, so the rebuilt state is the log's state at one position.
    with write_transaction(store.engine) as connection:
        count = replay_into(connection, store, progress)
    if store.engine.dialect.name == "postgresql":
        # Fresh statistics for the planner: the tables were refilled in one go, before autovacuum's next look.
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE " + ", ".join(table.name for table in tables()))
    return count


def replay_into(connection: Connection, store: EventStore, progress: Callable[[int], None] | None = None) -> int:
    """Empty the read models and replay the log into them on a write transaction the caller holds."""
    register()
    count = 0
    memo: dict[str, Any] = {}  # what read models keep from one batch of this replay to the next
    for table in reversed(tables()):
        connection.execute(delete(table))
    for batch in store.read_batches(REPLAY_BATCH, conn=connection):
        appended.send(store, connection=connection, events=batch, replaying=True, memo=memo)
        count += len(batch)
        if progress:
            progress(len(batch))
    return count


def snapshot(store: EventStore) -> dict[str, list[tuple[Any, ...]]]:
    """Return every read model's rows, sorted, for comparing live state with a rebuild."""
    result = {}
    with store.engine.connect() as connection:
        for table in tables():
            rows = connection.execute(select(table)).all()
            result[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return result
