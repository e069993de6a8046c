"""The policy in force now, rendered once per change: the read web frontends make most, answered from memory."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import Engine, bindparam, select

from events.store.engine import ThreadConnection
from events.store.prepared import Prepared
from projections.catalog import policies

# Where a policy's stream has got to: the only thing a cached answer has to be checked against.
_LAST_POSITION = Prepared(select(policies.c.last_position).where(policies.c.policy_id == bindparam("policy_id")))


@dataclass(frozen=True)
class Rendered:
    """One policy's answer to "what is in force now", as it was when its stream stood at `position`."""

    position: int
    until: str | None  # when the next published version takes effect, and this answer stops being true
    etag: str
    body: bytes


class InForceCache:
    """Rendered answers per policy, each good while the policy's stream has not moved and `until` is ahead.

    Every use checks the stream's position in the database, so writes made by other workers and hosts are
    seen at once; only the rendering (reading the version, shaping it through its schema, serialising it)
    is saved.
    """

    def __init__(self, engine: Engine, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[str, Rendered] = OrderedDict()
        self._lock = threading.Lock()
        # One statement per check, each its own transaction: on PostgreSQL the held connection autocommits.
        options = {"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else {}
        self._reader = ThreadConnection(engine, **options)

    def position(self, policy_id: str) -> int | None:
        """Return where the policy's stream stands now (None for an unknown policy)."""
        return self._reader.run(lambda connection: _LAST_POSITION.scalar(connection, {"policy_id": policy_id}))[1]

    def get(self, policy_id: str, position: int, now: str) -> Rendered | None:
        """Return the cached answer if it is still the answer at `position` and `now`."""
        with self._lock:
            found = self._entries.get(policy_id)
        if found is None or found.position != position or (found.until is not None and now >= found.until):
            return None
        return found

    def put(self, policy_id: str, rendered: Rendered) -> None:
        """Keep an answer, dropping the least recently stored one beyond the size."""
        with self._lock:
            self._entries[policy_id] = rendered
            self._entries.move_to_end(policy_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
