"""Drop every read model and replay the whole log into it, through the same code the live appends use."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import delete

from events.database import write_transaction
from events.signals import appended
from events.store import BATCH, EventStore

from . import register, tables


def rebuild(store: EventStore, progress: Callable[[int], None] | None = None) -> int:
    """Empty the read models and replay the log into them in one transaction; return the events replayed."""
    register()
    count = 0
    # The write transaction holds off appenders, so the rebuilt state is the log's state at one position.
    with write_transaction(store.engine) as connection:
        for table in reversed(tables()):
            connection.execute(delete(table))
        batch = []
        for stored in store.read_all(conn=connection):
            batch.append(stored)
            if len(batch) == BATCH:
                appended.send(store, connection=connection, events=batch, replaying=True)
                count += len(batch)
                if progress:
                    progress(len(batch))
                batch = []
        if batch:
            appended.send(store, connection=connection, events=batch, replaying=True)
            count += len(batch)
            if progress:
                progress(len(batch))
    return count


def snapshot(store: EventStore) -> dict[str, list[tuple]]:
    """Return every read model's rows, sorted, for comparing live state with a rebuild."""
    from sqlalchemy import select
    result = {}
    with store.engine.connect() as connection:
        for table in tables():
            rows = connection.execute(select(table)).all()
            result[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return result
