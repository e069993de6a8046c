"""What auditors read from the log: a policy's raw events, its state replayed to a position, the evidence bundle."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select

from events.domain.canonical import canonical_json, event_body, format_time, sha256_hex
from events.domain.errors import InvalidInput, NotFound
from events.domain.policy import Policy, PublishedVersion
from events.domain.streams import stream_for
from events.store import BATCH, EventStore
from events.store import tables as schema
from events.store.engine import read_transaction
from projections.documents import policy_versions

from .checkpoints import SigningKey, sign_head

FORMAT = "policy-ledger-evidence-bundle/1"
VERIFIER_PATH = "verify_bundle.py"
# The bundle carries the verifier as the source tree holds it; the service runs from its source tree.
VERIFIER_FILE = Path(__file__).with_name(VERIFIER_PATH)
_E = schema.events


@dataclass(frozen=True)
class Bundle:
    """A bundle ready to stream: what it covers and the JSON text in chunks."""

    policy_id: str
    checkpoint: dict[str, Any]
    chunks: Iterator[str]

    @property
    def filename(self) -> str:
        """Return the file name offered for download."""
        return f"{self.policy_id}-evidence-{self.checkpoint['position']}.json"


def verifier_source() -> str:
    """Return the standalone verifier's source, as the bundle embeds it."""
    try:
        return VERIFIER_FILE.read_text(encoding="utf-8")
    except OSError as error:
        raise RuntimeError(f"the verifier script is not at {VERIFIER_FILE}: {error.strerror}") from None


def _event_json(row: Any) -> dict[str, Any]:
    return {"position": row.position, "stream": row.stream, "version": row.version, "type": row.type,
            "schema": row.schema, "data": json.loads(row.data), "meta": json.loads(row.meta),
            "recorded_at": row.recorded_at, "prev_hash": row.prev_hash, "hash": row.hash}


def stream_page(engine: Engine, policy_id: str, after_version: int, limit: int) -> list[dict[str, Any]]:
    """Return up to `limit` of a policy's events as the log returns them, after a stream version."""
    with read_transaction(engine) as connection:
        rows = connection.execute(select(_E).where(_E.c.stream == stream_for(policy_id), _E.c.version > after_version)
                                  .order_by(_E.c.version).limit(limit)).all()
    return [_event_json(row) for row in rows]


def require_policy(store: EventStore, policy_id: str) -> None:
    """Refuse a policy the log has never heard of."""
    if store.stream_version(stream_for(policy_id)) == 0:
        raise NotFound(f"no policy {policy_id!r}", field="policy_id")


def _rendered(policy: Policy, version: PublishedVersion) -> dict[str, Any]:
    document = version.document.render(policy.id, policy.language)
    # Hashed afresh from the replayed document, so it can be set against the live read's hash.
    return {"version": version.number, "effective_from": version.effective_from,
            "content_hash": version.document.content_hash(policy.id, policy.language), "document": document}


def replay(store: EventStore, policy_id: str, position: int | None) -> dict[str, Any]:
    """Fold a policy from the log up to a global position: the version in force then, the newest, every revision."""
    require_policy(store, policy_id)
    head = store.head()[0]
    if position is None:
        position = head
    elif position > head:
        raise InvalidInput(f"position {position} is beyond the log's head ({head})", field="position")
    history = store.read_stream(stream_for(policy_id), up_to_position=position)
    policy = Policy.fold((e.version, e.event, e.meta["occurred_at"]) for e in history)
    with read_transaction(store.engine) as connection:
        recorded_at = connection.execute(select(_E.c.recorded_at).where(_E.c.position == position)).scalar_one()
    in_force = [v for v in policy.versions if v.effective_from <= recorded_at]
    return {
        "policy_id": policy_id, "position": position, "recorded_at": recorded_at, "exists": policy.exists,
        "stream_version": policy.version, "title": policy.title if policy.exists else None,
        "language": policy.language if policy.exists else None,
        "in_force": _rendered(policy, in_force[-1]) if in_force else None,
        "latest": _rendered(policy, policy.versions[-1]) if policy.versions else None,
        "versions": [{"version": v.number, "revision_id": v.revision_id, "effective_from": v.effective_from,
                      "published_at": v.published_at, "editorial": v.editorial,
                      "content_hash": v.document.content_hash(policy.id, policy.language)}
                     for v in policy.versions],
        "revisions": [{"revision_id": r.id, "status": r.status, "author": r.author, "base_version": r.base_version,
                       "summary": r.summary, "content_hash": r.content_hash} for r in policy.revisions.values()],
    }


def first_position(engine: Engine, policy_id: str) -> int | None:
    """Return the position of a policy's first event (None for an unknown policy)."""
    with read_transaction(engine) as connection:
        return connection.execute(select(func.min(_E.c.position)).where(_E.c.stream == stream_for(policy_id))
                                  ).scalar_one()


def build(store: EventStore, key: SigningKey, policy_id: str, *,
          clock: Callable[[], datetime] | None = None) -> Bundle:
    """Sign a fresh checkpoint and return the bundle of one policy up to it, ready to stream."""
    first = first_position(store.engine, policy_id)
    if first is None:
        raise NotFound(f"no policy {policy_id!r}", field="policy_id")
    source = verifier_source()
    checkpoint = sign_head(store, key, clock=clock)
    assert checkpoint is not None  # the log holds at least this policy's first event
    generated_at = format_time((clock or store.clock)())
    with read_transaction(store.engine) as connection:
        versions = [dict(row) for row in connection.execute(
            select(policy_versions.c.version, policy_versions.c.effective_from, policy_versions.c.published_at,
                   policy_versions.c.position, policy_versions.c.revision_id, policy_versions.c.content_hash)
            .where(policy_versions.c.policy_id == policy_id, policy_versions.c.position <= checkpoint["position"])
            .order_by(policy_versions.c.version)).mappings()]
    chunks = _chunks(store.engine, key, policy_id, first, checkpoint, versions, source, generated_at)
    return Bundle(policy_id=policy_id, checkpoint=checkpoint, chunks=chunks)


def _policy_events(engine: Engine, stream: str, up_to: int) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        with read_transaction(engine) as connection:
            rows = connection.execute(select(_E).where(_E.c.stream == stream, _E.c.version > after,
                                                       _E.c.position <= up_to)
                                      .order_by(_E.c.version).limit(BATCH)).all()
        for row in rows:
            yield _event_json(row)
        if len(rows) < BATCH:
            return
        after = rows[-1].version


def _links(engine: Engine, stream: str, first: int, up_to: int) -> Iterator[dict[str, Any]]:
    after = first - 1
    while True:
        with read_transaction(engine) as connection:
            rows = connection.execute(select(_E).where(_E.c.position > after, _E.c.position <= up_to,
                                                       _E.c.stream != stream)
                                      .order_by(_E.c.position).limit(BATCH)).all()
        for row in rows:
            # The digest of the stored canonical body: enough to check the link, nothing of the content.
            body = event_body(position=row.position, stream=row.stream, version=row.version, type=row.type,
                              schema=row.schema, data_json=row.data, meta_json=row.meta,
                              recorded_at=row.recorded_at)
            yield {"position": row.position, "prev_hash": row.prev_hash, "hash": row.hash,
                   "body_digest": sha256_hex(body)}
        if len(rows) < BATCH:
            return
        after = rows[-1].position


class _Part:
    """A JSON array written item by item, hashed as it goes (its text is its canonical form)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.count = 0

    def write(self, items: Iterable[dict[str, Any]]) -> Iterator[str]:
        self.digest.update(b"[")
        yield "["
        buffer: list[str] = []
        for item in items:
            buffer.append(("," if self.count else "") + canonical_json(item))
            self.count += 1
            if len(buffer) == 200:
                yield from self._flush(buffer)
        yield from self._flush(buffer)
        self.digest.update(b"]")
        yield "]"

    def _flush(self, buffer: list[str]) -> Iterator[str]:
        if buffer:
            text = "".join(buffer)
            self.digest.update(text.encode("utf-8"))
            buffer.clear()
            yield text


def _chunks(engine: Engine, key: SigningKey, policy_id: str, first: int, checkpoint: dict[str, Any],
            versions: list[dict[str, Any]], source: str, generated_at: str) -> Iterator[str]:
    stream = stream_for(policy_id)
    up_to = checkpoint["position"]
    yield '{"format":' + json.dumps(FORMAT) + ',"events":'
    events, links = _Part(), _Part()
    yield from events.write(_policy_events(engine, stream, up_to))
    yield ',"links":'
    yield from links.write(_links(engine, stream, first, up_to))
    small = {
        "checkpoint": {k: v for k, v in checkpoint.items() if k != "id"},
        "public_key": key.public_pem,
        "versions": versions,
        "verifier": {"path": VERIFIER_PATH, "source": source},
    }
    for name, value in small.items():
        yield f',"{name}":' + canonical_json(value)
    manifest = {
        "format": FORMAT, "policy_id": policy_id, "stream": stream, "generated_at": generated_at,
        "first_position": first, "checkpoint_position": up_to, "key_id": key.key_id,
        "counts": {"events": events.count, "links": links.count, "versions": len(versions)},
        "sha256": {"events": events.digest.hexdigest(), "links": links.digest.hexdigest(),
                   **{name: sha256_hex(canonical_json(value)) for name, value in small.items()}},
    }
    text = canonical_json(manifest)
    yield ',"manifest":' + text + ',"manifest_signature":' + json.dumps(key.sign(text)) + "}\n"
