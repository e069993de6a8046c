"""The documents read model's writer: each publication as a version, each revision's preview as it changes."""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from events.domain import types as ev
from events.domain.document import TITLE_KEY, Document
from events.domain.streams import policy_of, stream_for
from events.store import StoredEvent, stream_events
from events.store.prepared import Prepared

from .outline import ProjectionMismatch, load_document, load_preview, outline, preview_row, version_document
from .tables import (
    policy_versions,
    preview_sections,
    preview_touched,
    revision_previews,
    section_changes,
    section_states,
    version_drafts,
    version_policies,
)

_VERBS: dict[type[ev.Event], str] = {ev.SectionAdded: "added", ev.SectionAmended: "amended",
                                     ev.SectionMoved: "moved", ev.SectionRemoved: "removed",
                                     ev.PolicyRetitled: "retitled"}
_CHANGES = frozenset(cls.type_name for cls in _VERBS)
# What a publication replays of its revision.
_REVISION_EVENTS = frozenset({"RevisionOpened", "RevisionApproved", "RevisionApprovalCompleted", "RevisionRecalled",
                              *_CHANGES})
_CLOSING = frozenset({"RevisionRejected", "RevisionWithdrawn"})
MEMO_DOCUMENTS = 512  # newest documents a replay keeps between batches, one per policy, least recent out first
# Previews a process keeps between appends (each checked against the stored position): as many as the
# ledger keeps folds of policies, within a budget of characters so that long drafts do not crowd memory.
MEMO_PREVIEWS = 256
MEMO_PREVIEW_CHARACTERS = 16_000_000

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
_INSERT_PREVIEW = Prepared(insert(revision_previews))
_UPDATE_PREVIEW = Prepared(update(revision_previews).where(revision_previews.c.revision_id == bindparam("key"))
                           .values(title=bindparam("new_title"), last_position=bindparam("new_last_position")))


def _upsert_overlay(dialect_insert: Any) -> Prepared:
    # A section's overlay row written over in place: one page changed, its key's index untouched.
    statement = dialect_insert(preview_sections)
    key = ("revision_id", "section_id")
    return Prepared(statement.on_conflict_do_update(
        index_elements=list(key),
        set_={column.name: statement.excluded[column.name] for column in preview_sections.c if column.name not in key}))


_WRITE_OVERLAY = {"sqlite": _upsert_overlay(sqlite.insert), "postgresql": _upsert_overlay(postgresql.insert)}
_INSERT_TOUCHED = Prepared(insert(preview_touched))
_TOUCHED = Prepared(select(preview_touched.c.section_id).where(preview_touched.c.revision_id == bindparam("key")))



@dataclass
class _Kept:
    """A preview as a batch left it: its policy, the document, what its changes touched, where it stands."""

    policy_id: str
    document: Document
    touched: set[str]
    position: int  # of the last change to the preview: the stored row's last_position
    stream_version: int = 0  # the policy's stream version the batch left (0 when unknown)


@dataclass
class _Preview:
    """A revision's preview while a batch changes it, with what the batch must write of it."""

    kept: _Kept
    base_version: int | None = None  # set when the batch opened the revision: its row is still to insert
    new_touched: set[str] = field(default_factory=set)
    affected: set[str] = field(default_factory=set)  # sections to write: touched, or with another sibling before


# Previews this process changed last, by revision: as the committed batch that changed them left them.
# Kept between appends so a change to a long draft costs what it changes. Trusted without a read when the
# policy's stream has had no event since (the append's next version follows the one kept): nothing else
# can have changed the preview. Otherwise trusted only while the stored row stands at the same position
# (another process may have changed it, or a different revision of the policy moved the stream on).
# Keyed by database as well: a process may write to more than one (tests, copies of one database).
class _Memo:
    """Previews by (database, revision), least recently changed first, within a count and a character budget."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: OrderedDict[tuple[str, str], tuple[_Kept, int]] = OrderedDict()  # with its size when kept
        self.characters = 0

    def take(self, key: tuple[str, str]) -> _Kept | None:
        with self.lock:
            found = self.kept.pop(key, None)
            if found is None:
                return None
            self.characters -= found[1]
            return found[0]

    def keep(self, key: tuple[str, str], kept: _Kept) -> None:
        size = kept.document.characters
        with self.lock:
            old = self.kept.pop(key, None)
            self.characters += size - (old[1] if old else 0)
            self.kept[key] = (kept, size)
            while len(self.kept) > MEMO_PREVIEWS or (self.characters > MEMO_PREVIEW_CHARACTERS and len(self.kept) > 1):
                self.characters -= self.kept.popitem(last=False)[1][1]


_PREVIEWS = _Memo()
# Each thread's previews written by its append in progress: kept in the memo once that append committed.
_WRITING = threading.local()


def _pending() -> list[tuple[tuple[str, str], _Kept]]:
    found: list[tuple[tuple[str, str], _Kept]] | None = getattr(_WRITING, "previews", None)
    if found is None:
        found = _WRITING.previews = []
    return found


def on_committed(sender: Any, *, events: list[StoredEvent]) -> None:
    """Keep in memory the previews the append that just committed wrote."""
    pending = _pending()
    for key, kept in pending:
        _PREVIEWS.keep(key, kept)
    pending.clear()


class _Batch:
    """What one batch of events needs: each revision's events in it, the newest documents, changed previews."""

    def __init__(self, connection: Connection, memo: dict[str, Any], replaying: bool) -> None:
        self.connection = connection
        self.database = str(connection.engine.url)
        self.replaying = replaying
        # policy id: (newest version, its document, the version of each of its sections' state)
        self.documents: OrderedDict[str, tuple[int, Document, dict[str, int]]] = memo.setdefault(
            "versions.documents", OrderedDict())
        self.policies: dict[str, tuple[str, str]] = memo.setdefault("versions.policies", {})
        # Each open revision's events in order: those of this batch, or in a replay all since its opening
        # (kept from batch to batch until the revision is published or closed).
        self.seen: dict[str, list[StoredEvent]] = memo.setdefault("versions.revisions", {})
        # In a replay, open revisions' previews carried from one batch to the next.
        self.carried: dict[str, _Kept] = memo.setdefault("versions.previews", {})
        self.first_version: dict[str, int] = {}  # each stream's first version in this batch
        self.last_version: dict[str, int] = {}  # and its last
        self.opened: dict[str, dict[str, Any]] = {}
        self.closed: set[str] = set()
        self.previews: dict[str, _Preview] = {}
        self.published_documents: dict[tuple[str, int], Document] = {}
        # Rows the batch's publications write, inserted together at its end (nothing reads them before).
        self.versions: list[dict[str, Any]] = []
        self.section_changes: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []

    def policy(self, policy_id: str) -> tuple[str, str]:
        """Return a policy's (language, first title)."""
        if policy_id not in self.policies:
            row = _POLICY.first(self.connection, {"policy_id": policy_id})
            self.policies[policy_id] = (row[0], row[1])
        return self.policies[policy_id]

    def newest(self, policy_id: str) -> tuple[int, Document, dict[str, int]]:
        """Return the newest published version's number, document and section state versions (0 and the
        empty document before the first); change only a copy of the document."""
        found = self.documents.get(policy_id)
        if found is None:
            row = _NEWEST.first(self.connection, {"policy_id": policy_id})
            found = ((row[0], *load_document(self.connection, policy_id, row[1], row[2])) if row
                     else (0, Document.empty(self.policy(policy_id)[1]), {}))
        return found

    def version(self, policy_id: str, number: int) -> Document:
        """Return version `number`'s document (change only a copy), whether or not this batch has stored it yet."""
        if (policy_id, number) in self.published_documents:
            return self.published_documents[(policy_id, number)]
        newest = self.documents.get(policy_id)
        if newest is not None and newest[0] == number:
            return newest[1]
        found = version_document(self.connection, policy_id, number)
        if found is None:
            raise ProjectionMismatch(f"no version {number} of {policy_id} to base a revision on")
        return found[0]

    def published(self, policy_id: str, version: int, document: Document, since: dict[str, int]) -> None:
        self.published_documents[(policy_id, version)] = document
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

    # ---- previews ----------------------------------------------------------------------------

    def open_preview(self, stored: StoredEvent, event: ev.RevisionOpened) -> None:
        policy_id = policy_of(stored.stream)
        if policy_id not in self.policies and _POLICY.first(self.connection, {"policy_id": policy_id}) is None:
            return  # a stream no PolicyCreated began (the store's own tests append such): nothing to preview
        document = self.version(policy_id, event.base_version).copy()
        self.previews[event.revision_id] = _Preview(_Kept(policy_id, document, set(), stored.position),
                                                    base_version=event.base_version)

    def preview(self, stream: str, revision_id: str) -> _Preview | None:
        """Return a revision's preview as this batch changes it: from the batch, the memo, or the tables."""
        found = self.previews.get(revision_id)
        if found is not None:
            return found
        kept = self.carried.pop(revision_id, None) if self.replaying else _PREVIEWS.take((self.database, revision_id))
        row = None
        if kept is not None and not self.replaying and kept.stream_version + 1 != self.first_version[stream]:
            row = preview_row(self.connection, revision_id)
            if row is None or kept.position != row[3]:
                kept = None  # another process changed it since
        if kept is None:
            row = row or preview_row(self.connection, revision_id)
            if row is None:
                return None
            loaded = load_preview(self.connection, revision_id, row)
            assert loaded is not None
            touched = {r[0] for r in _TOUCHED.rows(self.connection, {"key": revision_id})}
            kept = _Kept(row[0], loaded[0], touched, row[3])
        found = self.previews[revision_id] = _Preview(kept)
        return found

    def change_preview(self, stored: StoredEvent, change: ev.Event) -> None:
        """Apply one change to its revision's preview, noting the sections to write again."""
        preview = self.preview(stored.stream, change.revision_id)  # type: ignore[attr-defined]
        if preview is None:
            return  # a revision of a stream no PolicyCreated began, as above
        document = preview.kept.document
        section_id = getattr(change, "section_id", None)
        # An amendment changes its section alone; an addition, a move or a removal also changes the place
        # of the section after it, before and after the change.
        placing = section_id is not None and not isinstance(change, ev.SectionAmended)
        if section_id is not None:
            preview.affected |= {section_id, *(_next_sibling(document, section_id) if placing else ())}
        touched = document.touched_by(change)
        if isinstance(change, ev.SectionRemoved):
            preview.affected |= touched
        document.apply(change)
        if placing and section_id is not None and section_id in document:
            preview.affected |= set(_next_sibling(document, section_id))
        preview.new_touched |= touched - preview.kept.touched
        preview.kept.touched |= touched
        preview.kept.position = stored.position

    def flush(self) -> None:
        for revision_id in self.closed:
            self.seen.pop(revision_id, None)
        _INSERT_DRAFT.execute_many(self.connection, [row for rid, row in self.opened.items() if rid not in self.closed])
        _DELETE_DRAFT.execute_many(self.connection, [{"key": rid} for rid in self.closed if rid not in self.opened])
        for statement, rows in ((_INSERT_VERSION, self.versions), (_INSERT_SECTION_CHANGES, self.section_changes),
                                (_INSERT_STATES, self.states)):
            statement.execute_many(self.connection, rows)
        self._flush_previews()

    def _flush_previews(self) -> None:
        fresh: list[dict[str, Any]] = []
        moved: list[dict[str, Any]] = []
        overlay: list[dict[str, Any]] = []
        touched: list[dict[str, Any]] = []
        for revision_id, preview in self.previews.items():
            kept = preview.kept
            document = kept.document
            kept.stream_version = self.last_version.get(stream_for(kept.policy_id), 0)
            values = {"title": document.title, "last_position": kept.position}
            if preview.base_version is not None:
                fresh.append({"revision_id": revision_id, "policy_id": kept.policy_id,
                              "base_version": preview.base_version, **values})
            else:
                moved.append({"key": revision_id, **{f"new_{k}": v for k, v in values.items()}})
            overlay.extend(_overlay_row(revision_id, document, section_id) for section_id in sorted(preview.affected))
            touched.extend({"revision_id": revision_id, "section_id": sid} for sid in sorted(preview.new_touched))
            if revision_id in self.closed:
                continue  # final: nothing will change it again, so nothing need keep it
            if self.replaying:
                self.carried[revision_id] = kept
            else:
                _pending().append(((self.database, revision_id), kept))
        for revision_id in self.closed:
            self.carried.pop(revision_id, None)
        _INSERT_PREVIEW.execute_many(self.connection, fresh)
        _UPDATE_PREVIEW.execute_many(self.connection, moved)
        _WRITE_OVERLAY[self.connection.dialect.name].execute_many(self.connection, overlay)
        _INSERT_TOUCHED.execute_many(self.connection, touched)


def _overlay_row(revision_id: str, document: Document, section_id: str) -> dict[str, Any]:
    """Return the overlay row of one section as the preview holds it now (or as removed)."""
    section = document.sections.get(section_id)
    if section is None:
        return {"revision_id": revision_id, "section_id": section_id, "removed": True, "parent_id": None,
                "after_id": None, "kind": None, "label": None, "title": None, "text": None}
    parent = document.parents[section_id]
    siblings = document.children[parent]
    index = siblings.index(section_id)
    return {"revision_id": revision_id, "section_id": section_id, "removed": False, "parent_id": parent,
            "after_id": siblings[index - 1] if index else None, "kind": section.kind, "label": section.label,
            "title": section.title, "text": section.text}


def _next_sibling(document: Document, section_id: str) -> list[str]:
    """Return the section after this one among its siblings, if any (its sibling before changes with a move)."""
    if section_id not in document.parents:
        return []
    siblings = document.children[document.parents[section_id]]
    index = siblings.index(section_id)
    return siblings[index + 1:index + 2]


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False,
                memo: dict[str, Any] | None = None) -> None:
    """Keep each revision's preview as it changes, and turn each publication into a version with its document."""
    batch = _Batch(connection, {} if memo is None else memo, replaying)
    if not replaying:
        _pending().clear()  # what an append that did not commit left
    for stored in events:
        kind = stored.type
        batch.first_version.setdefault(stored.stream, stored.version)
        batch.last_version[stored.stream] = stored.version
        if kind in _REVISION_EVENTS:
            event = stored.event
            batch.seen.setdefault(event.revision_id, []).append(stored)  # type: ignore[attr-defined]
            if isinstance(event, ev.RevisionOpened):
                batch.opened[event.revision_id] = {"revision_id": event.revision_id,
                                                   "policy_id": policy_of(stored.stream),
                                                   "opened_version": stored.version}
                batch.open_preview(stored, event)
            elif kind in _CHANGES:
                batch.change_preview(stored, event)
        elif kind == "RevisionPublished":
            _publish(batch, stored, stored.event)  # type: ignore[arg-type]
        elif kind in _CLOSING:
            batch.closed.add(stored.event.revision_id)  # type: ignore[attr-defined]
        elif kind == "PolicyCreated":
            created = stored.event
            assert isinstance(created, ev.PolicyCreated)
            batch.policies[created.policy_id] = (created.language, created.title)
            _INSERT_POLICY.execute(connection, {"policy_id": created.policy_id, "language": created.language,
                                                "created_title": created.title})
    batch.flush()


def _publish(batch: _Batch, stored: StoredEvent, event: ev.RevisionPublished) -> None:
    policy_id = policy_of(stored.stream)
    history = batch.history(stored.stream, event.revision_id)
    opened = history[0].event
    assert isinstance(opened, ev.RevisionOpened), f"revision {event.revision_id} has no opening in the log"
    language, _ = batch.policy(policy_id)
    previous, newest, since = batch.newest(policy_id)
    if previous != event.version - 1:
        raise ProjectionMismatch(f"version {event.version} of {policy_id} follows version {previous}")
    before, document = newest.sections, newest.copy()
    verbs: dict[str, list[str]] = {}
    touched: set[str] = set()
    signatures, approved_hash = [], None
    for past in history:
        change = past.event
        if isinstance(change, ev.RevisionApproved):
            signatures.append({"approver": change.approver, "role": change.role, "meaning": change.meaning,
                               "content_hash": change.content_hash, "at": past.meta["occurred_at"],
                               "full_name": change.full_name, "on_behalf_of": change.on_behalf_of,
                               "step": change.step})
        elif isinstance(change, ev.RevisionRecalled):
            signatures = []  # a recall voids every signature given before it
        elif isinstance(change, ev.RevisionApprovalCompleted):
            approved_hash = change.content_hash
        elif type(change) in _VERBS:
            for section_id in document.touched_by(change):
                verbs.setdefault(section_id, []).append(_VERBS[type(change)])
                touched.add(section_id)
            document.apply(change)
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
        "base_version": event.base_version, "signed_content_hash": event.signed_content_hash,
        "rebased": event.rebased,
        "summary": opened.summary, "touched": json.dumps(sorted(touched))})
    batch.section_changes.extend(
        {**common, "section_id": section_id, "changes": ",".join(dict.fromkeys(kinds)),
         "text": document.sections[section_id].text if section_id in document else None}
        for section_id, kinds in verbs.items() if section_id != TITLE_KEY)
    batch.published(policy_id, event.version, document, since)
    batch.closed.add(event.revision_id)
