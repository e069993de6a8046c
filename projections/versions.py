"""Published versions: every version's full document, point-in-time reads, and each section's change history."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (Boolean, Column, Connection, Index, Integer, String, Table, Text, delete, insert, select)

from events import types as ev
from events.canonical import canonical_json
from events.document import Document
from events.policy import TITLE_KEY, apply_change, touched_by
from events.schema import Position, metadata
from events.store import StoredEvent
from events.streams import policy_of

# Each policy's language and first title, kept here so this read model needs no other.
version_policies = Table(
    "version_policies", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("language", String(35), nullable=False),
    Column("created_title", Text, nullable=False),
)

# Work table: what each open revision will change, kept here so this read model needs no other.
version_drafts = Table(
    "version_drafts", metadata,
    Column("revision_id", String(64), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("author", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("changes", Text, nullable=False),
    Column("signatures", Text, nullable=False),
    Column("approved_hash", String(80)),
)

policy_versions = Table(
    "policy_versions", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("revision_id", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("language", String(35), nullable=False),
    Column("effective_from", String(27), nullable=False),
    Column("published_at", String(27), nullable=False),
    Column("recorded_at", String(27), nullable=False),
    Column("position", Position, nullable=False),
    Column("content_hash", String(80), nullable=False),
    Column("sections", Text, nullable=False),
    Column("editorial", Boolean, nullable=False),
    Column("backdated", Boolean, nullable=False),
    Column("adopted", Boolean, nullable=False),
    Column("author", String(200), nullable=False),
    Column("publisher", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("approvers", Text, nullable=False),
    Column("touched", Text, nullable=False),
    Index("ix_policy_versions_effective", "policy_id", "effective_from", "version"),
)

section_changes = Table(
    "section_changes", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("section_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("changes", String(100), nullable=False),
    Column("revision_id", String(64), nullable=False),
    Column("author", String(200), nullable=False),
    Column("approvers", Text, nullable=False),
    Column("effective_from", String(27), nullable=False),
    Column("published_at", String(27), nullable=False),
    Column("position", Position, nullable=False),
    Column("text", Text),
)

TABLES = (version_policies, version_drafts, policy_versions, section_changes)
_VERBS = {ev.SectionAdded: "added", ev.SectionAmended: "amended", ev.SectionMoved: "moved",
          ev.SectionRemoved: "removed", ev.PolicyRetitled: "retitled"}


class ProjectionMismatch(RuntimeError):
    """The read model computed a different document than the log recorded: the append must not commit."""


class _Batch:
    """Drafts and newest documents touched by one batch, written back once at its end."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.drafts: dict[str, dict[str, Any] | None] = {}
        self.policies: dict[str, tuple[str, str]] = {}

    def draft(self, revision_id: str) -> dict[str, Any]:
        if revision_id not in self.drafts:
            row = self.connection.execute(
                select(version_drafts).where(version_drafts.c.revision_id == revision_id)).mappings().first()
            self.drafts[revision_id] = None if row is None else {
                **row, "changes": json.loads(row["changes"]), "signatures": json.loads(row["signatures"])}
        draft = self.drafts[revision_id]
        assert draft is not None, f"no draft for revision {revision_id}"
        return draft

    def policy(self, policy_id: str) -> tuple[str, str]:
        """Return a policy's (language, first title)."""
        if policy_id not in self.policies:
            row = self.connection.execute(select(version_policies.c.language, version_policies.c.created_title)
                                          .where(version_policies.c.policy_id == policy_id)).one()
            self.policies[policy_id] = (row.language, row.created_title)
        return self.policies[policy_id]

    def flush(self) -> None:
        for revision_id, draft in self.drafts.items():
            self.connection.execute(delete(version_drafts).where(version_drafts.c.revision_id == revision_id))
            if draft is not None:
                self.connection.execute(insert(version_drafts).values(
                    **{**draft, "changes": json.dumps(draft["changes"], ensure_ascii=False),
                       "signatures": json.dumps(draft["signatures"], ensure_ascii=False)}))


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False) -> None:
    """Keep drafts' change sets, and turn each publication into a version with its full document."""
    batch = _Batch(connection)
    for stored in events:
        event = stored.event
        if isinstance(event, ev.PolicyCreated):
            batch.policies[event.policy_id] = (event.language, event.title)
            connection.execute(insert(version_policies).values(
                policy_id=event.policy_id, language=event.language, created_title=event.title))
        elif isinstance(event, ev.RevisionOpened):
            batch.drafts[event.revision_id] = {
                "revision_id": event.revision_id, "policy_id": policy_of(stored.stream), "author": event.author,
                "summary": event.summary, "changes": [], "signatures": [], "approved_hash": None}
        elif type(event) in _VERBS:
            batch.draft(event.revision_id)["changes"].append({"type": stored.type, "data": event.to_data()})
        elif isinstance(event, ev.RevisionApproved):
            batch.draft(event.revision_id)["signatures"].append(
                {"approver": event.approver, "role": event.role, "meaning": event.meaning,
                 "content_hash": event.content_hash, "at": stored.meta["occurred_at"]})
        elif isinstance(event, ev.RevisionApprovalCompleted):
            batch.draft(event.revision_id)["approved_hash"] = event.content_hash
        elif isinstance(event, ev.RevisionPublished):
            _publish(batch, stored, event)
        elif isinstance(event, (ev.RevisionRejected, ev.RevisionWithdrawn)):
            batch.draft(event.revision_id)
            batch.drafts[event.revision_id] = None
    batch.flush()


def _publish(batch: _Batch, stored: StoredEvent, event: ev.RevisionPublished) -> None:
    policy_id = policy_of(stored.stream)
    draft = batch.draft(event.revision_id)
    latest = batch.connection.execute(
        select(policy_versions.c.title, policy_versions.c.sections).where(policy_versions.c.policy_id == policy_id)
        .order_by(policy_versions.c.version.desc()).limit(1)).first()
    language, created_title = batch.policy(policy_id)
    document = (Document.from_tree(latest.title, json.loads(latest.sections)) if latest
                else Document.empty(created_title))
    verbs: dict[str, list[str]] = {}
    touched: set[str] = set()
    for change in draft["changes"]:
        change_event = ev.from_current(change["type"], change["data"])
        for section_id in touched_by(document, change_event):
            verbs.setdefault(section_id, []).append(_VERBS[type(change_event)])
            touched.add(section_id)
        document = apply_change(document, change_event)
    content_hash = document.content_hash(policy_id, language)
    if content_hash != event.content_hash:
        raise ProjectionMismatch(f"version {event.version} of {policy_id}: log says {event.content_hash}, "
                                 f"replay gives {content_hash}")
    approvers = [s for s in draft["signatures"] if s["content_hash"] == draft["approved_hash"]]
    common = {"policy_id": policy_id, "version": event.version, "revision_id": event.revision_id,
              "effective_from": event.effective_from, "position": stored.position}
    batch.connection.execute(insert(policy_versions).values(
        **common, title=document.title, language=language, published_at=stored.meta["occurred_at"],
        recorded_at=stored.recorded_at, content_hash=content_hash,
        sections=canonical_json(document.tree()), editorial=event.editorial, backdated=event.backdated,
        adopted=event.adopted, author=draft["author"], publisher=stored.meta["actor"], summary=draft["summary"],
        approvers=json.dumps(approvers, ensure_ascii=False), touched=json.dumps(sorted(touched))))
    rows = [
        {**common, "section_id": section_id, "changes": ",".join(dict.fromkeys(kinds)),
         "author": draft["author"], "approvers": json.dumps(approvers, ensure_ascii=False),
         "published_at": stored.meta["occurred_at"],
         "text": document.sections[section_id].text if section_id in document else None}
        for section_id, kinds in verbs.items() if section_id != TITLE_KEY
    ]
    if rows:
        batch.connection.execute(insert(section_changes), rows)
    batch.drafts[event.revision_id] = None


# ---- reads -------------------------------------------------------------------------------------

def _version(row: Any) -> dict[str, Any]:
    found = dict(row)
    for key in ("sections", "approvers", "touched"):
        if key in found:
            found[key] = json.loads(found[key])
    return found


def in_force(connection: Connection, policy_id: str, at: str, as_of: str | None = None) -> dict[str, Any] | None:
    """Return the version in force at `at`, counting only publications recorded by `as_of`.

    One descent of ix_policy_versions_effective: the newest effective date at or before `at` wins, the
    later version among equal dates. A version's effective date never precedes its predecessor's, so
    rows recorded after `as_of` can only sit at the top of that descent and are stepped over.
    """
    v = policy_versions
    query = (select(v).where(v.c.policy_id == policy_id, v.c.effective_from <= at)
             .order_by(v.c.effective_from.desc(), v.c.version.desc()).limit(1))
    if as_of is not None:
        query = query.where(v.c.recorded_at <= as_of)
    row = connection.execute(query).mappings().first()
    return _version(row) if row else None


def scheduled(connection: Connection, policy_id: str, at: str, as_of: str | None = None) -> dict[str, Any] | None:
    """Return the next published version to take effect after `at` (its number and effective date)."""
    v = policy_versions
    query = (select(v.c.version, v.c.effective_from).where(v.c.policy_id == policy_id, v.c.effective_from > at)
             .order_by(v.c.effective_from, v.c.version).limit(1))
    if as_of is not None:
        query = query.where(v.c.recorded_at <= as_of)
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def get(connection: Connection, policy_id: str, number: int, as_of: str | None = None) -> dict[str, Any] | None:
    """Return version `number` with its document, if its publication was recorded by `as_of`."""
    v = policy_versions
    query = select(v).where(v.c.policy_id == policy_id, v.c.version == number)
    if as_of is not None:
        query = query.where(v.c.recorded_at <= as_of)
    row = connection.execute(query).mappings().first()
    return _version(row) if row else None


def page(connection: Connection, policy_id: str, after: int | None, limit: int,
         as_of: str | None = None) -> list[dict[str, Any]]:
    """Return up to `limit` versions (without their documents) in order, after a version number."""
    v = policy_versions
    columns = [c for c in v.c if c.name not in ("sections", "touched")]
    query = select(*columns).where(v.c.policy_id == policy_id).order_by(v.c.version).limit(limit)
    if as_of is not None:
        query = query.where(v.c.recorded_at <= as_of)
    if after is not None:
        query = query.where(v.c.version > after)
    return [_version(r) for r in connection.execute(query).mappings()]


def section_history(connection: Connection, policy_id: str, section_id: str, after: int | None,
                    limit: int) -> list[dict[str, Any]]:
    """Return up to `limit` versions that changed one section, oldest first, after a version number."""
    s = section_changes
    query = (select(s).where(s.c.policy_id == policy_id, s.c.section_id == section_id)
             .order_by(s.c.version).limit(limit))
    if after is not None:
        query = query.where(s.c.version > after)
    rows = []
    for row in connection.execute(query).mappings():
        found = _version(row)
        found["changes"] = found["changes"].split(",")
        rows.append(found)
    return rows


def touched_after(connection: Connection, policy_id: str, base: int) -> set[str]:
    """Return the section ids (and the title key) that versions after `base` changed."""
    query = select(policy_versions.c.touched).where(policy_versions.c.policy_id == policy_id,
                                                    policy_versions.c.version > base)
    return {sid for touched in connection.execute(query).scalars() for sid in json.loads(touched)}


def document(connection: Connection, policy_id: str, number: int) -> tuple[Document, str] | None:
    """Return version `number`'s document (version 0: the empty one under the first title) and the language."""
    if number == 0:
        row = connection.execute(select(version_policies.c.created_title, version_policies.c.language)
                                 .where(version_policies.c.policy_id == policy_id)).first()
        return (Document.empty(row.created_title), row.language) if row else None
    row = connection.execute(select(policy_versions.c.title, policy_versions.c.sections, policy_versions.c.language)
                             .where(policy_versions.c.policy_id == policy_id,
                                    policy_versions.c.version == number)).first()
    return (Document.from_tree(row.title, json.loads(row.sections)), row.language) if row else None


def acknowledgement_due(connection: Connection, policy_id: str, acknowledged: int | None) -> dict[str, Any] | None:
    """Return the newest substantive (not editorial) version after the one acknowledged, if any."""
    v = policy_versions
    query = (select(v.c.version, v.c.effective_from, v.c.content_hash)
             .where(v.c.policy_id == policy_id, v.c.editorial.is_(False), v.c.version > (acknowledged or 0))
             .order_by(v.c.version.desc()).limit(1))
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None
