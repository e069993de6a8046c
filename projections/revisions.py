"""Revisions as management sees them: status, change set, reviews, signatures and every state change."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    false,
    insert,
    select,
    update,
)

from events.domain import types as ev
from events.domain.canonical import canonical_json
from events.domain.rules import Status, status_after
from events.domain.streams import policy_of
from events.store import StoredEvent
from events.store.prepared import Prepared
from events.store.tables import Position, metadata

revisions = Table(
    "revisions", metadata,
    Column("revision_id", String(64), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("author", String(200), nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("summary", Text, nullable=False),
    Column("reviewers", Text, nullable=False),
    Column("opened_at", String(27), nullable=False),
    Column("updated_at", String(27), nullable=False),
    Column("published_version", Integer),
    Column("stream_version", Integer, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("recalled_position", Position),  # reviews and signatures before it are void
    Column("retire", Boolean, nullable=False, server_default=false()),  # a retirement, not a change of text
    Index("ix_revisions_policy", "policy_id", "revision_id"),
)

revision_changes = Table(
    "revision_changes", metadata,
    Column("position", Position, primary_key=True),
    Column("revision_id", String(64), nullable=False),
    Column("type", String(100), nullable=False),
    Column("data", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", String(27), nullable=False),
    Index("ix_revision_changes_revision", "revision_id", "position"),
)

revision_reviews = Table(
    "revision_reviews", metadata,
    Column("position", Position, primary_key=True),
    Column("revision_id", String(64), nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("verdict", String(20), nullable=False),
    Column("comment", Text, nullable=False),
    Column("content_hash", String(80), nullable=False),
    Column("at", String(27), nullable=False),
    Index("ix_revision_reviews_revision", "revision_id", "position"),
)

revision_approvals = Table(
    "revision_approvals", metadata,
    Column("position", Position, primary_key=True),
    Column("revision_id", String(64), nullable=False),
    Column("approver", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("meaning", String(100), nullable=False),
    Column("comment", Text, nullable=False),
    Column("reason", Text),
    Column("content_hash", String(80), nullable=False),
    Column("at", String(27), nullable=False),
    Column("step", Integer, nullable=False, server_default="0"),
    Column("full_name", Text),
    Column("on_behalf_of", String(200)),
    Index("ix_revision_approvals_revision", "revision_id", "position"),
)

revision_transitions = Table(
    "revision_transitions", metadata,
    Column("position", Position, primary_key=True),
    Column("revision_id", String(64), nullable=False),
    Column("policy_id", String(200), nullable=False),
    Column("from_status", String(20)),
    Column("to_status", String(20), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("at", String(27), nullable=False),
    Column("reason", Text),
    Index("ix_revision_transitions_policy", "policy_id", "position"),
)

TABLES = (revisions, revision_changes, revision_reviews, revision_approvals, revision_transitions)
_CHANGES = ("SectionAdded", "SectionAmended", "SectionMoved", "SectionRemoved", "PolicyRetitled",
            "ApprovalRouteChanged")
# Events that may move a revision to another status: the transition row names the status it left, so
# these need the revision's row; every other event only moves its stream position and time.
_MOVES = ("RevisionOpened", "RevisionSubmitted", "RevisionReviewed", "RevisionApprovalCompleted",
          "RevisionPublished", "RevisionRejected", "RevisionWithdrawn", "RevisionRecalled", "ReviewersChanged",
          "RetirementProposed", "PolicyRetired")
_NAMES = tuple(column.name for column in revisions.c)
_INSERT = Prepared(insert(revisions))
_ROW = Prepared(select(revisions).where(revisions.c.revision_id == bindparam("revision_id")))
_UPDATE = Prepared(update(revisions).where(revisions.c.revision_id == bindparam("key"))
                   .values({name: bindparam(f"new_{name}") for name in _NAMES if name != "revision_id"}))
_TOUCH = Prepared(update(revisions).where(revisions.c.revision_id == bindparam("key")).values(
    updated_at=bindparam("new_updated_at"), stream_version=bindparam("new_stream_version"),
    last_position=bindparam("new_last_position")))
_INSERT_CHANGES, _INSERT_REVIEWS, _INSERT_APPROVALS, _INSERT_TRANSITIONS = (
    Prepared(insert(t)) for t in (revision_changes, revision_reviews, revision_approvals, revision_transitions))


def _payload_json(stored: StoredEvent) -> str:
    """Return a change's payload at its type's current schema, as JSON (the log's own text when it is)."""
    if stored.schema == ev.REGISTRY[stored.type].schema:
        return stored.data_json
    return canonical_json(stored.event.to_data())


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False,
                memo: dict[str, Any] | None = None) -> None:
    """Fold a batch of events into the revision tables."""
    rows: dict[str, dict[str, Any]] = {}  # whole rows of revisions whose status an event of the batch moves
    fresh: set[str] = set()
    touched: dict[str, dict[str, Any]] = {}  # position and time of the others
    changes, reviews, approvals, transitions = [], [], [], []
    for stored in events:
        if stored.type in _CHANGES or stored.type in _MOVES or stored.type == "RevisionApproved":
            event = stored.event
        else:
            continue  # policy-level events: not a revision's
        revision_id = event.revision_id  # type: ignore[attr-defined]
        meta = stored.meta
        moved = {"updated_at": meta["occurred_at"], "stream_version": stored.version,
                 "last_position": stored.position}
        common = {"position": stored.position, "revision_id": revision_id, "at": meta["occurred_at"]}
        if stored.type in _CHANGES:
            changes.append({**common, "type": stored.type, "data": _payload_json(stored), "actor": meta["actor"]})
        elif isinstance(event, ev.RevisionReviewed):
            reviews.append({**common, "reviewer": event.reviewer, "role": meta["role"], "verdict": event.verdict,
                            "comment": event.comment, "content_hash": event.content_hash})
        elif isinstance(event, ev.RevisionApproved):
            approvals.append({**common, "approver": event.approver, "role": event.role, "meaning": event.meaning,
                              "comment": event.comment, "reason": meta.get("reason"),
                              "content_hash": event.content_hash, "step": event.step,
                              "full_name": event.full_name, "on_behalf_of": event.on_behalf_of})
        moved_to = status_after(event) if stored.type in _MOVES else None
        if moved_to is None and not isinstance(event, ev.ReviewersChanged | ev.RetirementProposed):
            if revision_id in rows:
                rows[revision_id].update(moved)
            else:
                touched[revision_id] = moved
            continue
        row = rows.get(revision_id)
        if isinstance(event, ev.RevisionOpened):
            fresh.add(revision_id)
            row = rows[revision_id] = {
                "revision_id": revision_id, "policy_id": policy_of(stored.stream), "status": None,
                "author": event.author, "base_version": event.base_version, "summary": event.summary,
                "reviewers": "[]", "opened_at": meta["occurred_at"], "published_version": None,
                "recalled_position": None, "retire": False}
        elif row is None:
            stored_row = _ROW.first(connection, {"revision_id": revision_id})
            row = rows[revision_id] = dict(zip(_NAMES, stored_row, strict=True))
        touched.pop(revision_id, None)
        row.update(moved)
        if isinstance(event, ev.RevisionSubmitted | ev.ReviewersChanged):
            row["reviewers"] = json.dumps(event.reviewers, ensure_ascii=False)
        elif isinstance(event, ev.RevisionPublished):
            row["published_version"] = event.version
        elif isinstance(event, ev.RevisionRecalled):
            row["recalled_position"] = stored.position
        elif isinstance(event, ev.RetirementProposed):
            row["retire"] = True
        status = moved_to.value if moved_to is not None else row["status"]
        if status != row["status"]:
            transitions.append({**common, "policy_id": row["policy_id"], "from_status": row["status"],
                                "to_status": status, "actor": meta["actor"], "role": meta["role"],
                                "reason": meta.get("reason")})
            row["status"] = status
    for statement, batch in ((_INSERT_CHANGES, changes), (_INSERT_REVIEWS, reviews),
                             (_INSERT_APPROVALS, approvals), (_INSERT_TRANSITIONS, transitions)):
        statement.execute_many(connection, batch)
    _INSERT.execute_many(connection, [row for rid, row in rows.items() if rid in fresh])
    _UPDATE.execute_many(connection, [{"key": rid, **{f"new_{k}": v for k, v in row.items() if k != "revision_id"}}
                                      for rid, row in rows.items() if rid not in fresh])
    _TOUCH.execute_many(connection, [{"key": rid, **{f"new_{k}": v for k, v in values.items()}}
                                     for rid, values in touched.items()])


# ---- reads -------------------------------------------------------------------------------------

_OPS = {"SectionAdded": ("add", ("section_id", "parent_id", "after_id", "kind", "label", "title", "text")),
        "SectionAmended": ("amend", ("section_id", "text", "title", "label")),
        "SectionMoved": ("move", ("section_id", "parent_id", "after_id")),
        "SectionRemoved": ("remove", ("section_id",)),
        "PolicyRetitled": ("retitle", ("title",)),
        "ApprovalRouteChanged": ("route", ("approval_rule",))}


def _row(row: Any) -> dict[str, Any]:
    found = dict(row)
    found["reviewers"] = json.loads(found["reviewers"])
    found["final"] = Status(found["status"]).final
    found["retire"] = bool(found["retire"])
    return found


def get(connection: Connection, revision_id: str) -> dict[str, Any] | None:
    """Return one revision's row (status, author, base, summary, reviewers)."""
    row = connection.execute(select(revisions).where(revisions.c.revision_id == revision_id)).mappings().first()
    return _row(row) if row else None


def page(connection: Connection, policy_id: str, status: str | None, after: int | None,
         limit: int) -> list[dict[str, Any]]:
    """Return up to `limit` revisions of a policy in the order they were opened, after an opening position."""
    # A revision's first transition (from nothing to draft) is its opening; its position orders revisions.
    t = revision_transitions
    query = (select(revisions, t.c.position.label("opened_position"))
             .join(t, (t.c.revision_id == revisions.c.revision_id) & t.c.from_status.is_(None))
             .where(t.c.policy_id == policy_id).order_by(t.c.position).limit(limit))
    if status is not None:
        query = query.where(revisions.c.status == status)
    if after is not None:
        query = query.where(t.c.position > after)
    return [_row(r) for r in connection.execute(query).mappings()]


def open_revisions(connection: Connection) -> list[dict[str, Any]]:
    """Return every revision not yet final (draft, in review, approved), across policies, oldest change first."""
    query = (select(revisions).where(revisions.c.status.in_(("draft", "in_review", "approved")))
             .order_by(revisions.c.updated_at))
    return [_row(r) for r in connection.execute(query).mappings()]


def history(connection: Connection, policy_id: str, after: int | None, limit: int) -> list[dict[str, Any]]:
    """Return up to `limit` revisions in opening order, each with every change of state it went through."""
    items = page(connection, policy_id, None, after, limit)
    t = revision_transitions
    moves: dict[str, list[dict[str, Any]]] = {}
    if items:
        query = (select(t).where(t.c.policy_id == policy_id, t.c.revision_id.in_([i["revision_id"] for i in items]))
                 .order_by(t.c.position))
        for move in connection.execute(query).mappings():
            moves.setdefault(move["revision_id"], []).append(dict(move))
    return [{**item, "transitions": moves.get(item["revision_id"], [])} for item in items]


def _by_revision(connection: Connection, table: Table, revision_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {rid: [] for rid in revision_ids}
    if revision_ids:
        query = select(table).where(table.c.revision_id.in_(revision_ids)).order_by(table.c.position)
        for row in connection.execute(query).mappings():
            grouped[row["revision_id"]].append(dict(row))
    return grouped


def reviews(connection: Connection, revision_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Return each revision's reviews in log order, each with the content hash it saw."""
    return _by_revision(connection, revision_reviews, revision_ids)


def approvals(connection: Connection, revision_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Return each revision's signatures in log order, each with the content hash it saw."""
    return _by_revision(connection, revision_approvals, revision_ids)


def changes(connection: Connection, revision_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Return each revision's change ops in log order: op, its fields, who made it and when, and the payload."""
    found = {}
    for rid, rows in _by_revision(connection, revision_changes, revision_ids).items():
        ops = []
        for change in rows:
            data = json.loads(change["data"])
            op, keys = _OPS[change["type"]]
            ops.append({"op": op, **{k: data[k] for k in keys}, "actor": change["actor"], "at": change["at"],
                        "position": change["position"], "type": change["type"], "data": data})
        found[rid] = ops
    return found
