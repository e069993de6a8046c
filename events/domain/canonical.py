"""Canonical JSON, timestamps and hashes: the exact bytes that the chain and content hashes cover."""
from __future__ import annotations

import functools
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


# One encoder each, made once: json.dumps with options builds a new encoder on every call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
_STRING = json.JSONEncoder(ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """Serialise with sorted keys, no insignificant white space and unescaped Unicode."""
    return _CANONICAL.encode(value)


def sha256_hex(text: str) -> str:
    """Return the hex SHA-256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def format_time(moment: datetime) -> str:
    """Render an aware datetime as fixed-width UTC with microseconds (sorts as it compares)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: a time needs an offset")
    moment = moment.astimezone(UTC)
    if moment.year < 1000:  # isoformat pads the year to four digits, strftime does not: keep strftime's text
        return moment.strftime(TIME_FORMAT)
    # The same text as TIME_FORMAT gives, at a third of strftime's cost (every append and read formats one).
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time with an offset into an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without an offset: {text!r}")
    return moment.astimezone(UTC)


def utcnow() -> datetime:
    """Return the current aware UTC time."""
    return datetime.now(UTC)


def event_body(*, position: int, stream: str, version: int, type: str, schema: int,
               data_json: str, meta_json: str, recorded_at: str) -> str:
    """Build an event's canonical form from its stored (already canonical) JSON columns."""
    # Keys in sorted order; data and meta are stored canonical, so they are spliced in as is. One f-string
    # makes the text in one allocation (verify builds one per event of the log).
    return (f'{{"data":{data_json},"meta":{meta_json},"position":{position},'
            f'"recorded_at":{_STRING.encode(recorded_at)},"schema":{schema},"stream":{_quoted(stream)},'
            f'"type":{_quoted(type)},"version":{version}}}')


@functools.lru_cache(maxsize=4096)
def _quoted(name: str) -> str:
    # Stream and type names repeat across the log: each is encoded once.
    return _STRING.encode(name)


def event_body_bytes(position: int, stream: str, version: int, type: str, schema: int,
                     data_json: bytes, meta_json: bytes, recorded_at: str) -> bytes:
    """Return `event_body(...)` in UTF-8, built from data and meta as the database's UTF-8 bytes.

    What `verify` hashes for every event of the log: the payloads are never decoded into text and encoded
    back, which is most of the cost of building a body from text.
    """
    return (b'{"data":%b,"meta":%b,"position":%d,"recorded_at":%b,"schema":%d,"stream":%b,"type":%b,"version":%d}'
            % (data_json, meta_json, position, _STRING.encode(recorded_at).encode("utf-8"), schema,
               _quoted_utf8(stream), _quoted_utf8(type), version))


@functools.lru_cache(maxsize=4096)
def _quoted_utf8(name: str) -> bytes:
    return _quoted(name).encode("utf-8")


def chain_hash(prev_hash: str, body_digest: str) -> str:
    """Link an event into the chain: sha256 of the previous hash and the body's digest, as hex text."""
    return hashlib.sha256((prev_hash + body_digest).encode("ascii")).hexdigest()


def content_hash(document: dict[str, Any]) -> str:
    """Hash a policy document's content (id, language, title, section tree) as `sha256:<hex>`."""
    content = {
        "id": document["id"],
        "language": document["language"],
        "title": document["title"],
        "sections": document["sections"],
    }
    return "sha256:" + sha256_hex(canonical_json(content))
