"""The event store on SQLAlchemy Core: optimistic appends, idempotency keys, gap-safe reads and the hash chain."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Any

from sqlalchemy import Connection, Engine, LargeBinary, bindparam, func, insert, select, text, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from events.domain.canonical import (
    GENESIS_HASH,
    canonical_json,
    chain_hash,
    event_body,
    event_body_bytes,
    format_time,
    sha256_hex,
    utcnow,
)
from events.domain.errors import ConcurrencyError, IdempotencyMismatch, InvalidInput
from events.domain.types import Event, Meta, from_record

from . import tables as schema
from .engine import ThreadConnection, Writer, pipelined, read_transaction
from .prepared import Prepared
from .signals import appended, committed

BATCH = 2000
VERIFY_BATCH = 10_000


@dataclass(slots=True)
class StoredEvent:
    """An event as the log holds it: position, stream, version, payload, metadata and chain hashes.

    Built positionally, without frozen-dataclass machinery, and its payload decoded on first use, since a
    replay or a rebuild makes one per row; treat it as read-only.
    """

    position: int
    stream: str
    version: int
    type: str
    schema: int
    data_json: str  # the payload as the log stores it, in canonical JSON
    meta: dict[str, Any]
    recorded_at: str
    prev_hash: str
    hash: str
    _data: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _event: Event | None = field(default=None, repr=False, compare=False)

    @property
    def data(self) -> dict[str, Any]:
        """Return the payload as the log stores it (at the schema it was written with)."""
        if self._data is None:
            self._data = json.loads(self.data_json)
        return self._data

    @property
    def event(self) -> Event:
        """Return the typed event, upcast to the current schema (made once, on first use)."""
        if self._event is None:
            self._event = from_record(self.type, self.schema, self.data)
        return self._event

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


_E = schema.events
_KEYS = schema.idempotency_keys
_COLUMNS = (_E.c.position, _E.c.stream, _E.c.version, _E.c.type, _E.c.schema, _E.c.data, _E.c.meta,
            _E.c.recorded_at, _E.c.prev_hash, _E.c.hash)
# Above any position (a 64-bit column) or stream version (32-bit): bounds for a query that was given none.
_NO_POSITION, _NO_VERSION = 2**62, 2**31 - 1

_newest = select(_E.c.position, _E.c.hash, _E.c.recorded_at).order_by(_E.c.position.desc()).limit(1)
_stream_version = select(func.coalesce(func.max(_E.c.version), 0).label("version")).where(
    _E.c.stream == bindparam("stream"))
_version_sq, _newest_sq = _stream_version.subquery("s"), _newest.subquery("h")
# What an append must know, in one round trip: the stream's version and the head of the chain.
_APPEND_STATE = Prepared(
    select(_version_sq.c.version, _newest_sq.c.position, _newest_sq.c.hash, _newest_sq.c.recorded_at)
    .select_from(_version_sq.outerjoin(_newest_sq, true())))
_HEAD = Prepared(_newest)
_STREAM_VERSION = Prepared(_stream_version)
_INSERT = Prepared(insert(_E))
_FIND_KEY = Prepared(select(_KEYS.c.fingerprint, _KEYS.c.stream, _KEYS.c.from_version, _KEYS.c.to_version,
                            _KEYS.c.first_position, _KEYS.c.last_position, _KEYS.c.result)
                     .where(_KEYS.c.key == bindparam("key")))
_INSERT_KEY = Prepared(insert(_KEYS))
_STREAM = Prepared(select(*_COLUMNS).where(
    _E.c.stream == bindparam("stream"), _E.c.version > bindparam("after"), _E.c.version <= bindparam("up_to"),
    _E.c.position <= bindparam("up_to_position")).order_by(_E.c.version))
_PAGE = Prepared(select(*_COLUMNS).where(_E.c.position > bindparam("after"), _E.c.position <= bindparam("up_to"))
                 .order_by(_E.c.position).limit(bindparam("limit")))
_LOG = Prepared(select(*_COLUMNS).order_by(_E.c.position))


class utf8(FunctionElement[bytes]):  # noqa: N801  (reads as a SQL function)
    """A text column as its UTF-8 bytes, without the driver decoding it into a string."""

    type = LargeBinary()
    inherit_cache = True


@compiles(utf8, "sqlite")
def _utf8_sqlite(element: utf8, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS BLOB)"  # SQLite keeps text as UTF-8


@compiles(utf8, "postgresql")
def _utf8_postgresql(element: utf8, compiler: Any, **kw: Any) -> str:
    return f"convert_to({compiler.process(element.clauses, **kw)}, 'UTF8')"


# What verify reads: the payloads as the bytes the chain hashed.
_LOG_BYTES = Prepared(select(_E.c.position, _E.c.stream, _E.c.version, _E.c.type, _E.c.schema, utf8(_E.c.data),
                             utf8(_E.c.meta), _E.c.recorded_at, _E.c.prev_hash, _E.c.hash).order_by(_E.c.position))
_DATA_VERSION = Prepared(text("PRAGMA data_version"))
_RECORDED_AT = Prepared(select(_E.c.recorded_at).where(_E.c.position == bindparam("position")))


def _decoded(row: Any) -> StoredEvent:
    return StoredEvent(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]), row[7], row[8], row[9])


def stream_events(conn: Connection, stream: str, *, after_version: int = 0, up_to_version: int | None = None,
                  up_to_position: int | None = None) -> list[StoredEvent]:
    """Return one stream's events in order, after a version and up to a version or a global position."""
    bounds = {"stream": stream, "after": after_version,
              "up_to": _NO_VERSION if up_to_version is None else up_to_version,
              "up_to_position": _NO_POSITION if up_to_position is None else up_to_position}
    return [_decoded(row) for row in _STREAM.rows(conn, bounds)]


class EventStore:
    """Append to and read from the one log every policy shares."""

    def __init__(self, engine: Engine, clock: Callable[[], datetime] = utcnow) -> None:
        self.engine = engine
        self.clock = clock
        self._writer = Writer(engine)
        # Single-statement reads on the hottest paths, each its own transaction: a connection each thread keeps.
        self._reader = ThreadConnection(
            engine, **({"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else {}))

    # ---- writing -------------------------------------------------------------------------------

    def append(self, stream: str, expected_version: int, events: Sequence[Event], meta: Meta, *,
               idempotency_key: str | None = None, fingerprint: str | None = None,
               result: dict[str, Any] | None = None) -> AppendResult:
        """Append events if the stream is at `expected_version`; read models update in the same transaction."""
        if not events:
            raise InvalidInput("nothing to append", field="events")
        payloads = [e.to_data() for e in events]
        records = [(e.type_name, e.schema, canonical_json(data)) for e, data in zip(events, payloads, strict=True)]
        if fingerprint is None and idempotency_key is not None:
            fingerprint = sha256_hex(canonical_json([stream, expected_version, [list(r) for r in records]]))
        with self._writer.transaction() as conn:
            if idempotency_key is not None:
                assert fingerprint is not None
                earlier = self.find_idempotent(idempotency_key, fingerprint, conn)
                if earlier is not None:
                    return earlier
            actual, position, prev_hash, last_time = _APPEND_STATE.first(conn, {"stream": stream})
            if actual != expected_version:
                raise ConcurrencyError(f"stream {stream} is at version {actual}, not {expected_version}",
                                       expected=expected_version, actual=actual)
            head = (position, prev_hash, last_time) if position is not None else (0, GENESIS_HASH, "")
            with pipelined(conn):  # the inserts and every read model's writes: one round trip on PostgreSQL
                stored = self._insert(conn, stream, expected_version, events, records, payloads, meta, head)
                outcome = AppendResult(stream=stream, from_version=expected_version + 1,
                                       to_version=expected_version + len(stored), first_position=stored[0].position,
                                       last_position=stored[-1].position, result=result or {})
                if idempotency_key is not None:
                    _INSERT_KEY.execute(conn, {
                        "key": idempotency_key, "stream": stream, "fingerprint": fingerprint,
                        "first_position": outcome.first_position, "last_position": outcome.last_position,
                        "from_version": outcome.from_version, "to_version": outcome.to_version,
                        "result": canonical_json(outcome.result), "recorded_at": stored[-1].recorded_at})
                appended.send(self, connection=conn, events=stored, replaying=False)
        committed.send(self, events=stored)
        return outcome

    def _insert(self, conn: Connection, stream: str, expected_version: int, events: Sequence[Event],
                records: list[tuple[str, int, str]], payloads: list[dict[str, Any]], meta: Meta,
                head: tuple[int, str, str]) -> list[StoredEvent]:
        position, prev_hash, last_time = head
        # Record time never runs backwards, so "recorded by T" always cuts the log at one position.
        recorded_at = max(format_time(self.clock()), last_time)
        meta_data = meta.to_data()
        meta_json = canonical_json(meta_data)
        rows, stored = [], []
        rows_in = zip(events, records, payloads, strict=True)
        for offset, (event, (type_name, schema_version, data_json), data) in enumerate(rows_in):
            position += 1
            version = expected_version + offset + 1
            body = event_body(position=position, stream=stream, version=version, type=type_name,
                              schema=schema_version, data_json=data_json, meta_json=meta_json,
                              recorded_at=recorded_at)
            digest = chain_hash(prev_hash, sha256_hex(body))
            rows.append({"position": position, "stream": stream, "version": version, "type": type_name,
                         "schema": schema_version, "data": data_json, "meta": meta_json,
                         "recorded_at": recorded_at, "prev_hash": prev_hash, "hash": digest})
            stored.append(StoredEvent(position, stream, version, type_name, schema_version, data_json, meta_data,
                                      recorded_at, prev_hash, digest, data, event))
            prev_hash = digest
        if len(rows) == 1:
            _INSERT.execute(conn, rows[0])
        else:
            _INSERT.execute_many(conn, rows)
        return stored

    def find_idempotent(self, key: str, fingerprint: str, conn: Connection | None = None) -> AppendResult | None:
        """Return the first append under this key, refusing a key reused for something else."""
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return self.find_idempotent(key, fingerprint, fresh)
        row = _FIND_KEY.first(conn, {"key": key})
        if row is None:
            return None
        found, stream, from_version, to_version, first_position, last_position, result = row
        if found != fingerprint:
            raise IdempotencyMismatch("this Idempotency-Key was used for a different request",
                                      field="Idempotency-Key")
        return AppendResult(stream=stream, from_version=from_version, to_version=to_version,
                            first_position=first_position, last_position=last_position,
                            result=json.loads(result), replayed=True)

    # ---- reading -------------------------------------------------------------------------------

    def stream_version(self, stream: str, conn: Connection | None = None) -> int:
        """Return the version of a stream's newest event (0 for an empty stream).

        Without a connection, asked on the connection this thread keeps for such reads, on the driver's cursor:
        what "has this policy changed?" costs on every read of the policy in force.
        """
        if conn is None:
            return self._reader.run(lambda held: _STREAM_VERSION.scalar(held, {"stream": stream}))[1]  # type: ignore[no-any-return]
        return _STREAM_VERSION.scalar(conn, {"stream": stream})  # type: ignore[no-any-return]

    def change_token(self) -> Any:
        """Return a token that changes whenever anything is committed to the database by any process or host.

        On SQLite, the database's own counter of commits made by other connections (`PRAGMA data_version`), read
        on the connection this thread keeps (with that connection, since the counter is per connection); on
        PostgreSQL, the head of the log. Equal tokens mean nothing was written in between.
        """
        if self.engine.dialect.name == "sqlite":
            held, version = self._reader.run(lambda connection: _DATA_VERSION.scalar(connection))
            return (id(held), version)
        return self._reader.run(lambda connection: _HEAD.first(connection))[1]

    def head(self, conn: Connection | None = None) -> tuple[int, str, str]:
        """Return the newest position, its hash and its record time (0, genesis, '' for an empty log)."""
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return self.head(fresh)
        row = _HEAD.first(conn)
        return (row[0], row[1], row[2]) if row else (0, GENESIS_HASH, "")

    def read_stream(self, stream: str, up_to_version: int | None = None, *, up_to_position: int | None = None,
                    after_version: int = 0, conn: Connection | None = None) -> list[StoredEvent]:
        """Return one stream's events in order: after a version, up to a version or a global position."""
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return self.read_stream(stream, up_to_version, up_to_position=up_to_position,
                                        after_version=after_version, conn=fresh)
        return stream_events(conn, stream, after_version=after_version, up_to_version=up_to_version,
                             up_to_position=up_to_position)

    def read_all(self, after: int = 0, limit: int | None = None, *, up_to: int | None = None,
                 conn: Connection | None = None) -> Iterator[StoredEvent]:
        """Stream the global log in position order, in batches, never holding it all in memory."""
        for rows in self._pages(after, limit, up_to, conn):
            for row in rows:
                yield _decoded(row)

    def read_batches(self, size: int, *, conn: Connection) -> Iterator[list[StoredEvent]]:
        """Stream the whole log in position order as lists of up to `size` events (for replays), on one
        snapshot: the caller's transaction."""
        batch: list[StoredEvent] = []
        for row in _LOG.stream(conn, batch=size):
            batch.append(_decoded(row))
            if len(batch) == size:
                yield batch
                batch = []
        if batch:
            yield batch

    def _pages(self, after: int, limit: int | None, up_to: int | None, conn: Connection | None,
               batch: int | None = None) -> Iterator[list[Any]]:
        remaining, batch = limit, batch or BATCH
        while remaining is None or remaining > 0:
            size = batch if remaining is None else min(batch, remaining)
            bounds = {"after": after, "up_to": _NO_POSITION if up_to is None else up_to, "limit": size}
            if conn is None:
                with read_transaction(self.engine) as fresh:
                    rows = _PAGE.rows(fresh, bounds)
            else:
                rows = _PAGE.rows(conn, bounds)
            if rows:
                yield rows
            if len(rows) < size:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def position_at(self, recorded_by: str, conn: Connection | None = None) -> int:
        """Return the last position recorded at or before a time (0 if none)."""
        if conn is None:
            with read_transaction(self.engine) as fresh:
                return self.position_at(recorded_by, fresh)
        # Record time never decreases along positions (appends take the later of the clock and the head's),
        # so a binary search over positions finds the cut: about 20 primary-key reads for a million events.
        low, high = 0, self.head(conn)[0]
        while low < high:
            middle = (low + high + 1) // 2
            if _RECORDED_AT.scalar(conn, {"position": middle}) <= recorded_by:
                low = middle
            else:
                high = middle - 1
        return low

    # ---- verifying -----------------------------------------------------------------------------

    def verify(self, progress: Callable[[int], None] | None = None) -> VerifyResult:
        """Walk the whole chain: contiguous positions, links, and each event's hash over its canonical form."""
        prev_hash, expected = GENESIS_HASH, 1
        with read_transaction(self.engine) as conn:  # one snapshot: the chain as it stood when the walk began
            for position, stream, version, type_name, schema_version, data, meta, recorded_at, link, digest \
                    in _LOG_BYTES.stream(conn, batch=VERIFY_BATCH):
                if position != expected:
                    return _broken(expected, f"position {expected} is missing")
                if link != prev_hash:
                    return _broken(position, "prev_hash does not link to the event before")
                body = event_body_bytes(position, stream, version, type_name, schema_version, data, meta, recorded_at)
                if chain_hash(prev_hash, sha256(body).hexdigest()) != digest:
                    return _broken(position, "the event's content does not match its hash")
                prev_hash, expected = digest, expected + 1
                if progress is not None and expected % VERIFY_BATCH == 1:
                    progress(VERIFY_BATCH)
        if progress is not None and (expected - 1) % VERIFY_BATCH:
            progress((expected - 1) % VERIFY_BATCH)
        return VerifyResult(ok=True, events_checked=expected - 1)


def _broken(position: int, problem: str) -> VerifyResult:
    return VerifyResult(ok=False, events_checked=position - 1, first_bad_position=position, problem=problem)
