"""Downloads: a file name in any script, and the media types of streamed exports."""
from __future__ import annotations

from urllib.parse import quote

JSONL = "application/x-ndjson"


def attachment(filename: str) -> str:
    """Return a Content-Disposition header offering a download under a file name (any script)."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f'attachment; filename="{fallback}"; filename*=UTF-8\'\'{quote(filename)}'
