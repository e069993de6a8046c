"""The responsibility audit trail as files: CSV for spreadsheets, JSON lines for programs, streamed in batches."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine

from events.store.engine import read_transaction
from projections import audit as trail

COLUMNS = ("position", "occurred_at", "recorded_at", "actor", "role", "action", "revision_id", "section_id",
           "version", "detail", "reason", "correlation_id")
EXPORT_BATCH = 1000
# A cell opening with one of these is read as a formula by spreadsheets; a leading apostrophe keeps it text.
FORMULA_OPENERS = ("=", "+", "-", "@", "\t", "\r")


def rows(engine: Engine, pid: str, after: int | None, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield a policy's trail rows in log order from a position on, matching the filters."""
    # Batch by batch, each in its own short transaction: an export of any size never sits in memory.
    while True:
        with read_transaction(engine) as connection:
            batch = trail.trail_page(connection, pid, after=after, limit=EXPORT_BATCH, **filters)
        yield from batch
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1]["position"]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_OPENERS):
        return "'" + value
    return value


def as_csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Yield the rows as CSV text."""
    # A BOM, so spreadsheets read UTF-8 (and Kyrgyz) as such; csv's default dialect quotes as RFC 4180 says.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def drained() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield "\ufeff" + drained()
    for count, row in enumerate(rows, 1):
        writer.writerow([_cell(row[c]) for c in COLUMNS])
        if count % 200 == 0:
            yield drained()
    yield drained()


def as_jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """Yield the rows as JSON lines."""
    for row in rows:
        yield json.dumps({c: row[c] for c in COLUMNS}, ensure_ascii=False) + "\n"
