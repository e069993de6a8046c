"""Paging: opaque cursors holding the last key of a page, and page bodies of `items` and `next_cursor`."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

DEFAULT_LIMIT, MAX_LIMIT = 50, 500


class BadCursor(ValueError):
    """A cursor this service did not issue, or one garbled on the way."""


def encode_cursor(value: Any) -> str:
    """Wrap the last key of a page into an opaque cursor."""
    return base64.urlsafe_b64encode(json.dumps(value, ensure_ascii=False).encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> Any:
    """Unwrap a cursor made by encode_cursor, refusing anything else."""
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise BadCursor("not a cursor this service issued") from None


def page(items: list[Any], limit: int, key: Callable[[Any], Any]) -> dict[str, Any]:
    """Build a page body from up to limit+1 fetched items: `items` and `next_cursor`."""
    more = len(items) > limit
    items = items[:limit]
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more and items else None}
