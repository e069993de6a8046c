"""The event store on SQLAlchemy Core: optimistic appends, idempotency keys, gap-safe reads and the hash chain."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any, Callable, Iterator, Sequence

from sqlalchemy import Connection, Engine, func, insert, select

from . import schema
from .canonical import GENESIS_HASH, canonical_json, chain_hash, event_body, format_time, sha256_hex, utcnow
from .database import read_transaction, write_transaction
from .errors import ConcurrencyError, IdempotencyMismatch, InvalidInput
from .signals import appended
from .types import Event, Meta, from_record

BATCH = 2000


@dataclass(frozen=True, kw_only=True)
class StoredEvent:
    """An event as the log holds it: position, stream, version, payload, metadata and chain hashes."""

    position: int
    stream: str
    version: int
    type: str
    schema: int
    data: dict[str, Any]
    meta: dict[str, Any]
    recorded_at: str
    prev_hash: str
    hash: str

    @cached_property
    def event(self) -> Event:
        """Return the typed event, upcast to the current schema."""
        return from_record(self.type, self.schema, self.data)

    def to_json(self) -> dict[str, Any]:
        """Return the event as the log's readers see it."""
        return {
            "position": self.position, "stream": self.stream, "version": self.version, "type": self.type,
            "schema": self.schema, "data": self.data, "meta": self.meta, "recorded_at": self.recorded_at,
            "prev_hash": self.prev_hash, "hash": self.hash,
        }


@dataclass(frozen=True, kw_only=True)
class AppendResult:
    """What an append wrote (or, for a repeated idempotency key, what the first one wrote)."""

    stream: str
    from_version: int
    to_version: int
    first_position: int
    last_position: int
    result: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False


@dataclass(frozen=True, kw_only=True)
class VerifyResult:
    """The outcome of walking the hash chain."""

    ok: bool
    events_checked: int
    first_bad_position: int | None = None
    problem: str | None = None


def _row_to_event(row: Any) -> StoredEvent:
    return StoredEvent(position=row.position, stream=row.stream, version=row.version, type=row.type,
                       schema=row.schema, data=json.loads(row.data), meta=json.loads(row.meta),
                       recorded_at=row.recorded_at, prev_hash=row.prev_hash, hash=row.hash)


_E = schema.events
_COLUMNS = (_E.c.position, _E.c.stream, _E.c.version, _E.c.type, _E.c.schema, _E.c.data, _E.c.meta,
            _E.c.recorded_at, _E.c.prev_hash, _E.c.hash)


class EventStore:
    """Append to and read from the one log every policy shares."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock

    # ---- writing -------------------------------------------------------------------------------

    def append(self, stream: str, expected_version: int, events: Sequence[Event], meta: Meta, *,
               idempotency_key: str | None = None, fingerprint: str | None = None,
               result: dict[str, Any] | None = None) -> AppendResult:
        """Append events if the stream is at `expected_version`; read models update in the same transaction."""
        if not events:
            raise InvalidInput("nothing to append", field="events")
        records = [(e.type_name, e.schema, canonical_json(e.to_data())) for e in events]
        if fingerprint is None:
            fingerprint = sha256_hex(canonical_json([stream, expected_version, [list(r) for r in records]]))
        with write_transaction(self.engine) as conn:
            if idempotency_key is not None:
                earlier = self.find_idempotent(idempotency_key, fingerprint, conn)
                if earlier is not None:
                    return earlier
            actual = self.stream_version(stream, conn)
            if actual != expected_version:
                raise ConcurrencyError(f"stream {stream} is at version {actual}, not {expected_version}",
                                       expected=expected_version, actual=actual)
            stored = self._insert(conn, stream, expected_version, records, meta)
            outcome = AppendResult(stream=stream, from_version=expected_version + 1,
                                   to_version=expected_version + len(stored), first_position=stored[0].position,
                                   last_position=stored[-1].position, result=result or {})
            if idempotency_key is not None:
                conn.execute(insert(schema.idempotency_keys).values(
                    key=idempotency_key, stream=stream, fingerprint=fingerprint,
                    first_position=outcome.first_position, last_position=outcome.last_position,
                    from_version=outcome.from_version, to_version=outcome.to_version,
                    result=canonical_json(outcome.result), recorded_at=stored[-1].recorded_at))
            appended.send(self, connection=conn, events=stored, replaying=False)
        return outcome

    def _insert(self, conn: Connection, stream: str, expected_version: int,
                records: list[tuple[str, int, str]], meta: Meta) -> list[StoredEvent]:
        head = conn.execute(select(_E.c.position, _E.c.hash, _E.c.recorded_at)
                            .order_by(_E.c.position.desc()).limit(1)).first()
        position, prev_hash, last_time = (head.position, head.hash, head.recorded_at) if head else (0, GENESIS_HASH, "")
        # Record time never runs backwards, so "recorded by T" always cuts the log at one position.
        recorded_at = max(format_time(self.clock()), last_time)
        meta_data = meta.to_data()
        meta_json = canonical_json(meta_data)
        rows, stored = [], []
        for offset, (type_name, schema_version, data_json) in enumerate(records):
            position += 1
            version = expected_version + offset + 1
            body = event_body(position=position, stream=stream, version=version, type=type_name,
                              schema=schema_version, data_json=data_json, meta_json=meta_json,
                              recorded_at=recorded_at)
            digest = chain_hash(prev_hash, sha256_hex(body))
            rows.append({"position": position, "stream": stream, "version": version, "type": type_name,
                         "schema": schema_version, "data": data_json, "meta": meta_json,
                         "recorded_at": recorded_at, "prev_hash": prev_hash, "hash": digest})
            stored.append(StoredEvent(position=position, stream=stream, version=version, type=type_name,
                                      schema=schema_version, data=json.loads(data_json), meta=meta_data,
                                      recorded_at=recorded_at, prev_hash=prev_hash, hash=digest))
            prev_hash = digest
        conn.execute(insert(_E), rows)
        return stored

    def find_idempotent(self, key: str, fingerprint: str, conn: Connection | None = None) -> AppendResult | None:
        """Return the first append under this key, refusing a key reused for something else."""
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return self.find_idempotent(key, fingerprint, fresh)
        row = conn.execute(select(schema.idempotency_keys).where(schema.idempotency_keys.c.key == key)).first()
        if row is None:
            return None
        if row.fingerprint != fingerprint:
            raise IdempotencyMismatch("this Idempotency-Key was used for a different request",
                                      field="Idempotency-Key")
        return AppendResult(stream=row.stream, from_version=row.from_version, to_version=row.to_version,
                            first_position=row.first_position, last_position=row.last_position,
                            result=json.loads(row.result), replayed=True)

    # ---- reading -------------------------------------------------------------------------------

    def stream_version(self, stream: str, conn: Connection | None = None) -> int:
        """Return the version of a stream's newest event (0 for an empty stream)."""
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return self.stream_version(stream, fresh)
        return conn.execute(select(func.coalesce(func.max(_E.c.version), 0)).where(_E.c.stream == stream)).scalar_one()

    def head(self, conn: Connection | None = None) -> tuple[int, str, str]:
        """Return the newest position, its hash and its record time (0, genesis, '' for an empty log)."""
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return self.head(fresh)
        row = conn.execute(select(_E.c.position, _E.c.hash, _E.c.recorded_at)
                           .order_by(_E.c.position.desc()).limit(1)).first()
        return (row.position, row.hash, row.recorded_at) if row else (0, GENESIS_HASH, "")

    def read_stream(self, stream: str, up_to_version: int | None = None, *, up_to_position: int | None = None,
                    after_version: int = 0, conn: Connection | None = None) -> list[StoredEvent]:
        """Return one stream's events in order: after a version, up to a version or a global position."""
        query = select(*_COLUMNS).where(_E.c.stream == stream).order_by(_E.c.version)
        if after_version:
            query = query.where(_E.c.version > after_version)
        if up_to_version is not None:
            query = query.where(_E.c.version <= up_to_version)
        if up_to_position is not None:
            query = query.where(_E.c.position <= up_to_position)
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return [_row_to_event(r) for r in fresh.execute(query)]
        return [_row_to_event(r) for r in conn.execute(query)]

    def read_all(self, after: int = 0, limit: int | None = None, *, up_to: int | None = None,
                 conn: Connection | None = None) -> Iterator[StoredEvent]:
        """Stream the global log in position order, in batches, never holding it all in memory."""
        for row in self._rows(after, limit, up_to, conn):
            yield _row_to_event(row)

    def _rows(self, after: int, limit: int | None, up_to: int | None, conn: Connection | None) -> Iterator[Any]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = BATCH if remaining is None else min(BATCH, remaining)
            query = select(*_COLUMNS).where(_E.c.position > after).order_by(_E.c.position).limit(size)
            if up_to is not None:
                query = query.where(_E.c.position <= up_to)
            if conn is None:
                with read_transaction(self.engine) as fresh:
                    rows = fresh.execute(query).all()
            else:
                rows = conn.execute(query).all()
            yield from rows
            if len(rows) < size:
                return
            after = rows[-1].position
            if remaining is not None:
                remaining -= len(rows)

    def position_at(self, recorded_by: str, conn: Connection | None = None) -> int:
        """Return the last position recorded at or before a time (0 if none)."""
        query = select(func.coalesce(func.max(_E.c.position), 0)).where(_E.c.recorded_at <= recorded_by)
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return fresh.execute(query).scalar_one()
        return conn.execute(query).scalar_one()

    # ---- verifying -----------------------------------------------------------------------------

    def verify(self, progress: Callable[[int], None] | None = None) -> VerifyResult:
        """Walk the whole chain: contiguous positions, links, and each event's hash over its canonical form."""
        prev_hash, expected_position, checked = GENESIS_HASH, 1, 0
        for row in self._rows(0, None, None, None):
            if row.position != expected_position:
                return VerifyResult(ok=False, events_checked=checked, first_bad_position=expected_position,
                                    problem=f"position {expected_position} is missing")
            if row.prev_hash != prev_hash:
                return VerifyResult(ok=False, events_checked=checked, first_bad_position=row.position,
                                    problem="prev_hash does not link to the event before")
            body = event_body(position=row.position, stream=row.stream, version=row.version, type=row.type,
                              schema=row.schema, data_json=row.data, meta_json=row.meta,
                              recorded_at=row.recorded_at)
            if chain_hash(prev_hash, sha256_hex(body)) != row.hash:
                return VerifyResult(ok=False, events_checked=checked, first_bad_position=row.position,
                                    problem="the event's content does not match its hash")
            prev_hash, expected_position, checked = row.hash, expected_position + 1, checked + 1
            if progress is not None and checked % BATCH == 0:
                progress(BATCH)
        return VerifyResult(ok=True, events_checked=checked)
