"""ETags and conditional reads: `"<policy stream version>.<digest>"`, 304 when the client has it, If-Match on writes."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Flask, Response, g, request
from werkzeug.exceptions import PreconditionFailed

IMMUTABLE = "max-age=31536000, immutable"
REVALIDATE = "no-cache"
STAFF = "private, no-cache"
FROM_BODY = "body"  # the digest of the answer itself stands for its version (lists across policies)


def make_etag(stream_version: int, *discriminators: Any) -> str:
    """Return a strong ETag: the policy stream's version, then what tells representations apart."""
    tail = hashlib.sha256(json.dumps(discriminators, default=str).encode("utf-8")).hexdigest()[:16]
    return f'"{stream_version}.{tail}"'


def conditional(etag: str, cache_control: str) -> None:
    """Mark this read's answer with an ETag and a Cache-Control; a client that has it gets 304, no body.

    `etag` may be FROM_BODY: the digest of the answer's own bytes.
    """
    g.policy_ledger_etag = (etag, cache_control)


def not_modified(etag: str) -> bool:
    """Tell whether the client already holds the answer this ETag names (so it need not be rendered)."""
    held = tags(request.headers.get("If-None-Match"))
    return etag in held or "*" in held


def _conditional_answer(response: Response) -> Response:
    marked = g.pop("policy_ledger_etag", None)
    if marked is None or response.status_code != 200:
        return response
    etag, cache_control = marked
    if etag == FROM_BODY:
        etag = make_etag(0, hashlib.sha256(response.get_data()).hexdigest())
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = cache_control
    if not_modified(etag):
        response.status_code = 304
        response.set_data(b"")
        del response.headers["Content-Type"]
    return response


def tags(header: str | None) -> list[str]:
    """Return the entity tags a conditional header lists, weak ones as their strong form."""
    if not header:
        return []
    return [tag.strip().removeprefix("W/") for tag in header.split(",") if tag.strip()]


def expected_version() -> int | None:
    """Return the stream version an If-Match header demands (None without one); a malformed one is a 412."""
    found = tags(request.headers.get("If-Match"))
    if not found:
        return None
    try:
        version = int(found[0].strip('"').split(".", 1)[0])
    except ValueError:
        version = -1
    if not 0 <= version < 2**31:
        raise PreconditionFailed("If-Match does not hold an ETag this service issued")
    return version


def init_app(app: Flask) -> None:
    """Answer conditional reads after each view has shaped its answer."""
    app.after_request(_conditional_answer)
