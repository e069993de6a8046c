"""The catalogue of policies: title, version, review due date, and the stream position behind each ETag."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, Text, bindparam, insert, select, update

from events.domain import types as ev
from events.domain.canonical import format_time, parse_time
from events.domain.streams import policy_of
from events.store import StoredEvent
from events.store.prepared import Prepared
from events.store.tables import Position, metadata

policies = Table(
    "policies", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("title", Text, nullable=False),
    Column("language", String(35), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("review_interval_days", Integer, nullable=False),
    Column("approval_rule", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("latest_effective_from", String(27)),
    Column("last_review_at", String(27)),
    Column("next_review_due", String(27)),
    Column("stream_version", Integer, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("retired_from", String(27)),  # from then the policy is in force nowhere
    Column("retired_reason", Text),
    Column("retired_recorded_at", String(27)),  # when the retirement was written in the log (reads `as_of`)
)

TABLES = (policies,)
_NAMES = tuple(column.name for column in policies.c)
_INSERT = Prepared(insert(policies))
_ROW = Prepared(select(policies).where(policies.c.policy_id == bindparam("policy_id")))
_UPDATE = Prepared(update(policies).where(policies.c.policy_id == bindparam("key"))
                   .values({name: bindparam(f"new_{name}") for name in _NAMES if name != "policy_id"}))
# Most events change only where the policy's stream has got to: one small UPDATE, nothing read first.
_MOVE = Prepared(update(policies).where(policies.c.policy_id == bindparam("key"))
                 .values(stream_version=bindparam("new_stream_version"), last_position=bindparam("new_last_position")))
_FOLDED = ("PolicyCreated", "RevisionPublished", "PeriodicReviewRecorded", "PolicyRetired")


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False,
                memo: dict[str, Any] | None = None) -> None:
    """Fold a batch of events into the catalogue, one write per policy touched."""
    rows: dict[str, dict[str, Any]] = {}  # whole rows, for policies an event of the batch needs more of
    fresh: set[str] = set()
    moved: dict[str, tuple[int, int]] = {}  # stream version and position, for the other policies
    for stored in events:
        pid = policy_of(stored.stream)
        if stored.type not in _FOLDED:
            if pid in rows:
                rows[pid].update(stream_version=stored.version, last_position=stored.position)
            else:
                moved[pid] = (stored.version, stored.position)
            continue
        event = stored.event
        row = rows.get(pid)
        if isinstance(event, ev.PolicyCreated):
            fresh.add(pid)
            row = rows[pid] = {
                "policy_id": pid, "title": event.title, "language": event.language, "owner": event.owner,
                "review_interval_days": event.review_interval_days,
                "approval_rule": json.dumps(event.approval_rule, sort_keys=True),
                "created_at": stored.meta["occurred_at"],
                "latest_version": 0, "latest_effective_from": None, "last_review_at": None, "next_review_due": None,
                "retired_from": None, "retired_reason": None, "retired_recorded_at": None}
        elif row is None:
            row = rows[pid] = dict(zip(_NAMES, _ROW.first(connection, {"policy_id": pid}), strict=True))
        if isinstance(event, ev.RevisionPublished):
            # A version falls due for review a review interval after it takes effect, not after it was published.
            due = parse_time(event.effective_from) + timedelta(days=row["review_interval_days"])
            row.update(title=event.title, latest_version=event.version, latest_effective_from=event.effective_from,
                       next_review_due=format_time(due))
            if event.approval_rule is not None:
                # keys sorted: the same text live and when rebuilt from the log's canonical payload
                row["approval_rule"] = json.dumps(event.approval_rule, sort_keys=True)
        elif isinstance(event, ev.PeriodicReviewRecorded):
            row.update(last_review_at=stored.meta["occurred_at"], next_review_due=event.next_review_due)
        elif isinstance(event, ev.PolicyRetired):
            row.update(retired_from=event.effective_from, retired_reason=event.reason, next_review_due=None,
                       retired_recorded_at=stored.recorded_at)
        row.update(stream_version=stored.version, last_position=stored.position)
        moved.pop(pid, None)
    _INSERT.execute_many(connection, [row for pid, row in rows.items() if pid in fresh])
    _UPDATE.execute_many(connection, [{"key": pid, **{f"new_{k}": v for k, v in row.items() if k != "policy_id"}}
                                      for pid, row in rows.items() if pid not in fresh])
    _MOVE.execute_many(connection, [{"key": pid, "new_stream_version": version, "new_last_position": position}
                                    for pid, (version, position) in moved.items()])


def get(connection: Connection, policy_id: str) -> dict[str, Any] | None:
    """Return one policy's catalogue row."""
    row = connection.execute(select(policies).where(policies.c.policy_id == policy_id)).mappings().first()
    return dict(row) if row else None


def page(connection: Connection, after: str | None, limit: int) -> list[dict[str, Any]]:
    """Return up to `limit` policies ordered by id, after a given id."""
    query = select(policies).order_by(policies.c.policy_id).limit(limit)
    if after is not None:
        query = query.where(policies.c.policy_id > after)
    return [dict(r) for r in connection.execute(query).mappings()]
