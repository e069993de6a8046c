"""Make a large, valid log fast: commands run on in-memory aggregates, rows chained as the store chains them."""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert

from events.application import HANDLERS
from events.domain.canonical import GENESIS_HASH, canonical_json, chain_hash, event_body, format_time, sha256_hex
from events.domain.policy import Policy
from events.domain.streams import stream_for
from events.domain.types import Meta
from events.store.tables import events as events_table

from .corpus import Corpus
from .workload import Clock, Ids, Script, policy_ids

CHUNK = 5000
# A decade of activity: the simulated clock spreads the log over it whatever its size.
SPAN_SECONDS = 10 * 365 * 24 * 3600


@dataclass
class LogStats:
    """What a generated log holds."""

    events: int = 0
    data_bytes: int = 0

    @property
    def mean_payload(self) -> float:
        """Return the mean size of an event's data, in UTF-8 bytes."""
        return self.data_bytes / self.events if self.events else 0.0


def commands(policies: int, events: int, seed: int, corpus: Corpus) -> Iterator[tuple[Any, ...]]:
    """Yield (policy id, command, context, payload, now, ids, policy, script) until `events` are recorded."""
    rng = random.Random(seed)
    clock = Clock(random.Random(seed + 1), SPAN_SECONDS / max(events / 1.7, 1))
    ids = Ids(random.Random(seed + 2))
    names = policy_ids(policies)
    states = {pid: Policy() for pid in names}
    scripts = {pid: Script(pid, corpus, random.Random(f"{seed}:{pid}")) for pid in names}
    recorded = 0
    while recorded < events:
        pid = names[0] if policies == 1 else rng.choice(names)
        policy, script = states[pid], scripts[pid]
        now = clock()
        command = script.next(policy, now, budget=events - recorded)
        yield pid, command, now, ids, policy, script
        recorded += len(policy.pending)
        policy.pending = []


def generate(policies: int, events: int, seed: int, corpus: Corpus) -> Iterator[dict[str, Any]]:
    """Yield the log's rows in position order, each chained to the one before, as EventStore.append writes them."""
    position, prev_hash, last_time = 0, GENESIS_HASH, ""
    for pid, command, now, ids, policy, script in commands(policies, events, seed, corpus):
        result = HANDLERS[type(command.command)](policy, command.command, command.context, now, ids)
        script.observe(command, result)
        meta = Meta(actor=command.context.actor.name, role=command.context.actor.role, occurred_at=format_time(now),
                    reason=command.context.reason, correlation_id=ids("req"))
        meta_json = canonical_json(meta.to_data())
        recorded_at = max(format_time(now), last_time)
        last_time = recorded_at
        stream = stream_for(pid)
        version = policy.version - len(policy.pending)
        for event in policy.pending:
            position += 1
            version += 1
            data_json = canonical_json(event.to_data())
            body = event_body(position=position, stream=stream, version=version, type=event.type_name,
                              schema=event.schema, data_json=data_json, meta_json=meta_json, recorded_at=recorded_at)
            digest = chain_hash(prev_hash, sha256_hex(body))
            yield {"position": position, "stream": stream, "version": version, "type": event.type_name,
                   "schema": event.schema, "data": data_json, "meta": meta_json, "recorded_at": recorded_at,
                   "prev_hash": prev_hash, "hash": digest}
            prev_hash = digest


def write(engine: Engine, rows: Iterator[dict[str, Any]], progress: Callable[[int], None] | None = None) -> LogStats:
    """Insert generated rows straight into the events table, in large transactions."""
    stats = LogStats()
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        stats.events += 1
        stats.data_bytes += len(row["data"].encode("utf-8"))
        if len(chunk) == CHUNK:
            _flush(engine, chunk)
            chunk = []
            if progress:
                progress(stats.events)
    if chunk:
        _flush(engine, chunk)
    return stats


def _flush(engine: Engine, chunk: list[dict[str, Any]]) -> None:
    with engine.begin() as connection:
        connection.execute(insert(events_table), chunk)
