"""HTTP conventions shared by every blueprint: paging cursors, ETags, If-Match and Idempotency-Key."""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
from functools import wraps
from typing import Any, Callable

from flask import Response, g, jsonify, make_response, request
from sqlalchemy import Column, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest, PreconditionFailed

from events.application import Context
from events.domain.canonical import format_time, utcnow
from events.domain.errors import IdempotencyMismatch
from events.store.tables import metadata

from service.bootstrap import services
from .security import actor

DEFAULT_LIMIT, MAX_LIMIT = 50, 500

http_idempotency = Table(
    "http_idempotency", metadata,
    Column("key", String(200), primary_key=True),
    Column("principal", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status", String(3), nullable=False),
    Column("body", Text, nullable=False),
    Column("headers", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
)
_REPLAYED_HEADERS = ("Location", "ETag", "Content-Type")


# ---- paging ------------------------------------------------------------------------------------

def encode_cursor(value: Any) -> str:
    """Wrap the last key of a page into an opaque cursor."""
    return base64.urlsafe_b64encode(json.dumps(value, ensure_ascii=False).encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    """Unwrap a cursor made by encode_cursor; a forged or garbled one is a 400 naming `cursor`."""
    if cursor is None:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        error = BadRequest("cursor is not one this service issued")
        error.data = {"message": "cursor is not one this service issued",
                      "messages": {"query": {"cursor": ["not a valid cursor"]}}}
        raise error from None


def page(items: list[Any], limit: int, key: Callable[[Any], Any]) -> dict[str, Any]:
    """Build a page body from up to limit+1 fetched items: `items` and `next_cursor`."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more and items else None}


# ---- caching -----------------------------------------------------------------------------------

def make_etag(stream_version: int, *discriminators: Any) -> str:
    """Return a strong ETag: the policy stream's version, then what tells representations apart."""
    tail = hashlib.sha256(json.dumps(discriminators, default=str).encode("utf-8")).hexdigest()[:16]
    return f'"{stream_version}.{tail}"'


def _etags(header: str | None) -> list[str]:
    if not header:
        return []
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def cached(body: Any, etag: str, cache_control: str, status: int = 200) -> Response:
    """Answer JSON with an ETag and Cache-Control, or 304 when If-None-Match already has it."""
    matches = _etags(request.headers.get("If-None-Match"))
    if etag in matches or "*" in matches:
        response = make_response("", 304)
    else:
        response = jsonify(body) if not isinstance(body, Response) else body
        response.status_code = status
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = cache_control
    return response


def expected_version() -> int | None:
    """Return the stream version an If-Match header demands (None without one); a malformed one is a 412."""
    tags = _etags(request.headers.get("If-Match"))
    if not tags:
        return None
    try:
        return int(tags[0].strip('"').split(".", 1)[0])
    except ValueError:
        raise PreconditionFailed("If-Match does not hold an ETag this service issued") from None


# ---- writes ------------------------------------------------------------------------------------

def context(*roles: str, reason: str | None = None) -> Context:
    """Build the command context: actor and role from the token, If-Match, idempotency key, request id."""
    return Context(actor=actor(*roles), reason=reason, correlation_id=g.get("request_id"),
                   idempotency_key=g.get("idempotency_key"), expected_version=expected_version())


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Make a POST safe to retry: the same Idempotency-Key and body get the first answer, nothing more."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= 200:
            error = BadRequest("Idempotency-Key must be 1 to 200 characters")
            error.data = {"message": error.description, "messages": {"headers": {"Idempotency-Key": [error.description]}}}
            raise error
        from .security import current_principal
        principal = (current_principal().name if current_principal() else "-")
        fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.full_path.encode(),
                                                 request.get_data()])).hexdigest()
        engine = services().engine
        with engine.connect() as connection:
            row = connection.execute(select(http_idempotency).where(
                http_idempotency.c.key == key, http_idempotency.c.principal == principal)).first()
        if row is not None:
            if row.fingerprint != fingerprint:
                raise IdempotencyMismatch("this Idempotency-Key was used with a different request",
                                          field="Idempotency-Key")
            response = Response(row.body, status=int(row.status))
            for name, value in json.loads(row.headers).items():
                response.headers[name] = value
            response.headers["Idempotent-Replayed"] = "true"
            return response
        scoped = f"{principal}:{key}"  # the log's key column holds 200 characters: a longer one goes in hashed
        g.idempotency_key = scoped if len(scoped) <= 200 else "sha256:" + hashlib.sha256(scoped.encode()).hexdigest()
        response = make_response(view(*args, **kwargs))
        if 200 <= response.status_code < 300:
            headers = {h: response.headers[h] for h in _REPLAYED_HEADERS if h in response.headers}
            try:
                with engine.begin() as connection:
                    connection.execute(insert(http_idempotency).values(
                        key=key, principal=principal, fingerprint=fingerprint, status=str(response.status_code),
                        body=response.get_data(as_text=True), headers=json.dumps(headers),
                        created_at=format_time(utcnow())))
            except IntegrityError:
                pass  # a concurrent retry stored the same answer first; the store's key kept one set of events
        return response

    return wrapper
