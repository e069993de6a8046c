"""Idempotency-Key on any POST: a retry with the same key and body gets the first answer, and nothing more happens."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, make_response, request
from sqlalchemy import Column, String, Table, Text, insert, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import BadRequest

from events.domain.canonical import format_time, utcnow
from events.domain.errors import IdempotencyMismatch
from events.store.tables import metadata
from service.bootstrap import services

from .problems import refusal
from .security import current_principal

View = TypeVar("View", bound=Callable[..., Any])
MAX_KEY = 200

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


def idempotent(view: View) -> View:
    """Make a POST safe to retry: the same Idempotency-Key and body get the first answer, nothing more.

    The first 2xx answer is kept per principal and key; the key also goes with the command to the store,
    so two retries racing each other append once.
    """

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not 1 <= len(key) <= MAX_KEY:
            message = f"Idempotency-Key must be 1 to {MAX_KEY} characters"
            raise refusal(BadRequest, message, messages={"headers": {"Idempotency-Key": [message]}})
        found = current_principal()
        principal = found.name if found else "-"
        fingerprint = hashlib.sha256(b"\n".join([request.method.encode(), request.full_path.encode(),
                                                 _without_password(request.get_data())])).hexdigest()
        engine = services().engine
        with engine.connect() as connection:
            row = connection.execute(select(http_idempotency).where(
                http_idempotency.c.key == key, http_idempotency.c.principal == principal)).first()
        if row is not None:
            if row.fingerprint != fingerprint:
                raise IdempotencyMismatch("this Idempotency-Key was used with a different request",
                                          field="Idempotency-Key")
            replay = Response(row.body, status=int(row.status))
            for name, value in json.loads(row.headers).items():
                replay.headers[name] = value
            replay.headers["Idempotent-Replayed"] = "true"
            return replay
        scoped = f"{principal}:{key}"  # the log's key column holds 200 characters: a longer one goes in hashed
        g.idempotency_key = (scoped if len(scoped) <= MAX_KEY
                             else "sha256:" + hashlib.sha256(scoped.encode()).hexdigest())
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

    return wrapper  # type: ignore[return-value]


def _without_password(body: bytes) -> bytes:
    """Return a body as the fingerprint sees it: a signature's password left out, so that no stored digest
    could be tried against guessed passwords (a retry with another password is still the same request)."""
    if b'"password"' not in body:
        return body
    try:
        parsed = json.loads(body)
    except ValueError:
        return body
    if not isinstance(parsed, dict) or "password" not in parsed:
        return body
    parsed.pop("password")
    return json.dumps(parsed, sort_keys=True, ensure_ascii=False).encode()
