"""Published versions: every version's document, point-in-time reads, and each section's change history.

A version keeps its document as an outline: the section tree by id, each section naming the version that
gave it its present kind, label, title and text. Those states are kept once, in `section_states`, when a
version sets them; a publication writes the outline and the states its revision changed, not the whole text
again. Reading a version back is its row and one indexed query for the states its outline names.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any

from sqlalchemy import (Boolean, Column, Connection, Index, Integer, String, Table, Text, bindparam, column, delete,
                        insert, select, values)

from events.domain import types as ev
from events.store.prepared import Prepared
from events.domain.document import Document
from events.domain.policy import TITLE_KEY, apply_change, touched_by
from events.store.tables import Position, metadata
from events.store import StoredEvent, stream_events
from events.domain.streams import policy_of

# Each policy's language and first title, kept here so this read model needs no other.
version_policies = Table(
    "version_policies", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("language", String(35), nullable=False),
    Column("created_title", Text, nullable=False),
)

# Where each open revision began in its policy's stream. At its publication this read model replays the
# revision's own events (its changes, signatures and completed approval) from the log, so it keeps nothing
# else about a draft.
version_drafts = Table(
    "version_drafts", metadata,
    Column("revision_id", String(64), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("opened_version", Integer, nullable=False),
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
    Column("outline", Text, nullable=False),  # JSON: [[section id, version of its state, [children]], ...]
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

# Each section's kind, label, title and text as one version set them, kept until a later version changes them.
section_states = Table(
    "section_states", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("section_id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("label", Text),
    Column("title", Text),
    Column("text", Text, nullable=False),
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

TABLES = (version_policies, version_drafts, policy_versions, section_states, section_changes)
_VERBS = {ev.SectionAdded: "added", ev.SectionAmended: "amended", ev.SectionMoved: "moved",
          ev.SectionRemoved: "removed", ev.PolicyRetitled: "retitled"}
# What a publication replays of its revision.
_REVISION_EVENTS = frozenset({"RevisionOpened", "RevisionApproved", "RevisionApprovalCompleted",
                              *(cls.type_name for cls in _VERBS)})
_CLOSING = frozenset({"RevisionRejected", "RevisionWithdrawn"})
MEMO_DOCUMENTS = 512  # newest documents a replay keeps between batches, one per policy, least recent out first

_INSERT_POLICY = Prepared(insert(version_policies))
_POLICY = Prepared(select(version_policies.c.language, version_policies.c.created_title)
                   .where(version_policies.c.policy_id == bindparam("policy_id")))
_INSERT_DRAFT = Prepared(insert(version_drafts))
_DELETE_DRAFT = Prepared(delete(version_drafts).where(version_drafts.c.revision_id == bindparam("key")))
_OPENED = Prepared(select(version_drafts.c.opened_version).where(version_drafts.c.revision_id == bindparam("key")))
_INSERT_VERSION = Prepared(insert(policy_versions))
_INSERT_SECTION_CHANGES = Prepared(insert(section_changes))
_INSERT_STATES = Prepared(insert(section_states))
_NEWEST = Prepared(select(policy_versions.c.version, policy_versions.c.title, policy_versions.c.outline)
                   .where(policy_versions.c.policy_id == bindparam("policy_id"))
                   .order_by(policy_versions.c.version.desc()).limit(1))
_S = section_states
_STATES: dict[int, Prepared] = {}


def _states(connection: Connection, policy_id: str, since: dict[str, int]) -> list[Any]:
    """Return the state of each section an outline names: one primary-key lookup per section.

    The (section, version) pairs travel as a VALUES list joined to section_states, so a read costs the
    same lookups however long the policy's history; one statement per power of two of sections, padded
    with pairs that match nothing, so each is compiled once and runs on the driver's cursor (inside an
    append's pipeline too).
    """
    size = 1 << (len(since) - 1).bit_length()
    statement = _STATES.get(size)
    if statement is None:
        wanted = values(column("section_id", String(64)), column("version", Integer), name="wanted").data(
            [(bindparam(f"s{i}", type_=String(64)), bindparam(f"v{i}", type_=Integer)) for i in range(size)]
        ).cte("wanted")
        statement = _STATES[size] = Prepared(
            select(_S.c.version, _S.c.section_id, _S.c.kind, _S.c.label, _S.c.title, _S.c.text)
            .select_from(wanted.join(_S, (_S.c.policy_id == bindparam("policy_id"))
                                     & (_S.c.version == wanted.c.version) & (_S.c.section_id == wanted.c.section_id))))
    params: dict[str, Any] = {"policy_id": policy_id}
    for index, (section_id, version) in enumerate(since.items()):
        params[f"s{index}"], params[f"v{index}"] = section_id, version
    for index in range(len(since), size):
        params[f"s{index}"], params[f"v{index}"] = "", 0
    return statement.rows(connection, params)


def outline(document: Document, since: dict[str, int], parent_id: str | None = None) -> list[Any]:
    """Return a document's tree as [section id, version of its state, children] lists."""
    children = document.children
    return [[child, since[child], outline(document, since, child) if children.get(child) else []]
            for child in children.get(parent_id, ())]


def _read_outline(connection: Connection, policy_id: str,
                  outline_json: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Return the section tree a version's outline describes (as `Document.tree` gives it), and the version
    of each section's state."""
    nodes = json.loads(outline_json)
    since: dict[str, int] = {}

    def walk(items: list[Any]) -> None:
        for section_id, version, below in items:
            since[section_id] = version
            walk(below)

    walk(nodes)
    found = {row[1]: row[2:] for row in (_states(connection, policy_id, since) if since else ())}
    if len(found) != len(since):
        missing = ", ".join(sorted(since.keys() - found.keys()))
        raise ProjectionMismatch(f"{policy_id}: no stored state for sections {missing}")

    def tree(items: list[Any]) -> list[dict[str, Any]]:
        return [{"id": section_id, "kind": state[0], "label": state[1], "title": state[2], "text": state[3],
                 "children": tree(below) if below else []}
                for section_id, _, below in items for state in (found[section_id],)]
    return tree(nodes), since


def load_document(connection: Connection, policy_id: str, title: str,
                  outline_json: str) -> tuple[Document, dict[str, int]]:
    """Return the document a version's outline describes, and the version of each section's state."""
    tree, since = _read_outline(connection, policy_id, outline_json)
    return Document.from_tree(title, tree), since


class ProjectionMismatch(RuntimeError):
    """The read model computed a different document than the log recorded: the append must not commit."""


class _Batch:
    """What one batch of events needs: each revision's events in it, and the newest documents."""

    def __init__(self, connection: Connection, memo: dict[str, Any]) -> None:
        self.connection = connection
        # policy id: (newest version, its document, the version of each of its sections' state)
        self.documents: OrderedDict[str, tuple[int, Document, dict[str, int]]] = memo.setdefault(
            "versions.documents", OrderedDict())
        self.policies: dict[str, tuple[str, str]] = memo.setdefault("versions.policies", {})
        # Each open revision's events in order: those of this batch, or in a replay all since its opening
        # (kept from batch to batch until the revision is published or closed).
        self.seen: dict[str, list[StoredEvent]] = memo.setdefault("versions.revisions", {})
        self.first_version: dict[str, int] = {}  # each stream's first version in this batch
        self.opened: dict[str, dict[str, Any]] = {}
        self.closed: set[str] = set()
        # Rows the batch's publications write, inserted together at its end (nothing reads them before).
        self.versions: list[dict[str, Any]] = []
        self.section_changes: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []

    def policy(self, policy_id: str) -> tuple[str, str]:
        """Return a policy's (language, first title)."""
        if policy_id not in self.policies:
            self.policies[policy_id] = tuple(_POLICY.first(self.connection, {"policy_id": policy_id}))
        return self.policies[policy_id]

    def newest(self, policy_id: str) -> tuple[int, Document, dict[str, int]]:
        """Return the newest published version's number, document and section state versions (0 and the
        empty document before the first)."""
        found = self.documents.get(policy_id)
        if found is None:
            row = _NEWEST.first(self.connection, {"policy_id": policy_id})
            found = ((row[0], *load_document(self.connection, policy_id, row[1], row[2])) if row
                     else (0, Document.empty(self.policy(policy_id)[1]), {}))
        return found

    def published(self, policy_id: str, version: int, document: Document, since: dict[str, int]) -> None:
        self.documents[policy_id] = (version, document, since)
        self.documents.move_to_end(policy_id)
        while len(self.documents) > MEMO_DOCUMENTS:
            self.documents.popitem(last=False)

    def history(self, stream: str, revision_id: str) -> list[StoredEvent]:
        """Return a revision's events so far: those in this batch, after those the log holds from before it."""
        seen = self.seen.get(revision_id, [])
        if seen and seen[0].type == "RevisionOpened":
            return seen
        opened = _OPENED.scalar(self.connection, {"key": revision_id})
        earlier = stream_events(self.connection, stream, after_version=opened - 1,
                                up_to_version=self.first_version[stream] - 1)
        return [e for e in earlier
                if e.type in _REVISION_EVENTS and e.event.revision_id == revision_id] + seen  # type: ignore[attr-defined]

    def flush(self) -> None:
        for revision_id in self.closed:
            self.seen.pop(revision_id, None)
        _INSERT_DRAFT.execute_many(self.connection, [row for rid, row in self.opened.items() if rid not in self.closed])
        _DELETE_DRAFT.execute_many(self.connection, [{"key": rid} for rid in self.closed if rid not in self.opened])
        for statement, rows in ((_INSERT_VERSION, self.versions), (_INSERT_SECTION_CHANGES, self.section_changes),
                                (_INSERT_STATES, self.states)):
            statement.execute_many(self.connection, rows)


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False,
                memo: dict[str, Any] | None = None) -> None:
    """Note where drafts begin, and turn each publication into a version with its full document."""
    batch = _Batch(connection, {} if memo is None else memo)
    for stored in events:
        kind = stored.type
        batch.first_version.setdefault(stored.stream, stored.version)
        if kind in _REVISION_EVENTS:
            event = stored.event
            batch.seen.setdefault(event.revision_id, []).append(stored)  # type: ignore[attr-defined]
            if isinstance(event, ev.RevisionOpened):
                batch.opened[event.revision_id] = {"revision_id": event.revision_id,
                                                   "policy_id": policy_of(stored.stream),
                                                   "opened_version": stored.version}
        elif kind == "RevisionPublished":
            _publish(batch, stored, stored.event)  # type: ignore[arg-type]
        elif kind in _CLOSING:
            batch.closed.add(stored.event.revision_id)  # type: ignore[attr-defined]
        elif kind == "PolicyCreated":
            event = stored.event
            batch.policies[event.policy_id] = (event.language, event.title)  # type: ignore[attr-defined]
            _INSERT_POLICY.execute(connection, {"policy_id": event.policy_id, "language": event.language,
                                                "created_title": event.title})  # type: ignore[attr-defined]
    batch.flush()


def _publish(batch: _Batch, stored: StoredEvent, event: ev.RevisionPublished) -> None:
    policy_id = policy_of(stored.stream)
    history = batch.history(stored.stream, event.revision_id)
    opened = history[0].event
    assert isinstance(opened, ev.RevisionOpened), f"revision {event.revision_id} has no opening in the log"
    language, _ = batch.policy(policy_id)
    previous, document, since = batch.newest(policy_id)
    before = document.sections
    if previous != event.version - 1:
        raise ProjectionMismatch(f"version {event.version} of {policy_id} follows version {previous}")
    verbs: dict[str, list[str]] = {}
    touched: set[str] = set()
    signatures, approved_hash = [], None
    for past in history:
        change = past.event
        if isinstance(change, ev.RevisionApproved):
            signatures.append({"approver": change.approver, "role": change.role, "meaning": change.meaning,
                               "content_hash": change.content_hash, "at": past.meta["occurred_at"]})
        elif isinstance(change, ev.RevisionApprovalCompleted):
            approved_hash = change.content_hash
        elif type(change) in _VERBS:
            for section_id in touched_by(document, change):
                verbs.setdefault(section_id, []).append(_VERBS[type(change)])
                touched.add(section_id)
            document = apply_change(document, change)
    content_hash = document.content_hash(policy_id, language)
    if content_hash != event.content_hash:
        raise ProjectionMismatch(f"version {event.version} of {policy_id}: log says {event.content_hash}, "
                                 f"replay gives {content_hash}")
    # A section keeps the version of its state unless this revision gave it a new one; only the sections
    # it touched can have one.
    since = dict(since)
    for sid in sorted(touched):
        section = document.sections.get(sid)
        if section is None:
            since.pop(sid, None)
        elif before.get(sid) != section:
            since[sid] = event.version
            batch.states.append({"policy_id": policy_id, "version": event.version, "section_id": sid,
                                 "kind": section.kind, "label": section.label, "title": section.title,
                                 "text": section.text})
    approvers = json.dumps([s for s in signatures if s["content_hash"] == approved_hash], ensure_ascii=False)
    common = {"policy_id": policy_id, "version": event.version, "revision_id": event.revision_id,
              "effective_from": event.effective_from, "position": stored.position,
              "published_at": stored.meta["occurred_at"], "author": opened.author, "approvers": approvers}
    batch.versions.append({
        **common, "title": document.title, "language": language, "recorded_at": stored.recorded_at,
        "content_hash": content_hash, "outline": json.dumps(outline(document, since), ensure_ascii=False,
                                                            separators=(",", ":")),
        "editorial": event.editorial,
        "backdated": event.backdated, "adopted": event.adopted, "publisher": stored.meta["actor"],
        "summary": opened.summary, "touched": json.dumps(sorted(touched))})
    batch.section_changes.extend(
        {**common, "section_id": section_id, "changes": ",".join(dict.fromkeys(kinds)),
         "text": document.sections[section_id].text if section_id in document else None}
        for section_id, kinds in verbs.items() if section_id != TITLE_KEY)
    batch.published(policy_id, event.version, document, since)
    batch.closed.add(event.revision_id)


# ---- reads -------------------------------------------------------------------------------------

def _version(row: Any, connection: Connection | None = None) -> dict[str, Any]:
    """Return a version's row as readers see it: JSON columns decoded, the outline as the section tree."""
    found = dict(row)
    for key in ("approvers", "touched"):
        if key in found:
            found[key] = json.loads(found[key])
    if "outline" in found:
        found["sections"] = _read_outline(connection, found["policy_id"], found.pop("outline"))[0]
    return found


_VERSION_COLUMNS = tuple(column.name for column in policy_versions.c)
_FLAGS = tuple(column.name for column in policy_versions.c if isinstance(column.type, Boolean))
_in_force = (select(policy_versions)
             .where(policy_versions.c.policy_id == bindparam("policy_id"),
                    policy_versions.c.effective_from <= bindparam("at"))
             .order_by(policy_versions.c.effective_from.desc(), policy_versions.c.version.desc()).limit(1))
# The point-in-time read, compiled once: with and without a record-time bound.
IN_FORCE = Prepared(_in_force)
IN_FORCE_AS_OF = Prepared(_in_force.where(policy_versions.c.recorded_at <= bindparam("as_of")))


def in_force(connection: Connection, policy_id: str, at: str, as_of: str | None = None) -> dict[str, Any] | None:
    """Return the version in force at `at`, counting only publications recorded by `as_of`.

    One descent of ix_policy_versions_effective: the newest effective date at or before `at` wins, the
    later version among equal dates. A version's effective date never precedes its predecessor's, so
    rows recorded after `as_of` can only sit at the top of that descent and are stepped over.
    """
    if as_of is None:
        row = IN_FORCE.first(connection, {"policy_id": policy_id, "at": at})
    else:
        row = IN_FORCE_AS_OF.first(connection, {"policy_id": policy_id, "at": at, "as_of": as_of})
    if row is None:
        return None
    found = dict(zip(_VERSION_COLUMNS, row))
    for flag in _FLAGS:  # the driver's own values: SQLite's 0 and 1
        found[flag] = bool(found[flag])
    return _version(found, connection)


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
    return _version(row, connection) if row else None


def page(connection: Connection, policy_id: str, after: int | None, limit: int,
         as_of: str | None = None) -> list[dict[str, Any]]:
    """Return up to `limit` versions (without their documents) in order, after a version number."""
    v = policy_versions
    columns = [c for c in v.c if c.name not in ("outline", "touched")]
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
    row = connection.execute(select(policy_versions.c.title, policy_versions.c.outline, policy_versions.c.language)
                             .where(policy_versions.c.policy_id == policy_id,
                                    policy_versions.c.version == number)).first()
    return (load_document(connection, policy_id, row.title, row.outline)[0], row.language) if row else None


def acknowledgement_due(connection: Connection, policy_id: str, acknowledged: int | None) -> dict[str, Any] | None:
    """Return the newest substantive (not editorial) version after the one acknowledged, if any."""
    v = policy_versions
    query = (select(v.c.version, v.c.effective_from, v.c.content_hash)
             .where(v.c.policy_id == policy_id, v.c.editorial.is_(False), v.c.version > (acknowledged or 0))
             .order_by(v.c.version.desc()).limit(1))
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None
