"""The search read model's writer: at each publication, the sections whose text the version changed.

Each published version's document is its predecessor's with its revision's changes applied, as the
documents read model builds it; this model keeps its own (it reads no other's tables). A replay carries each
policy's newest document and open revisions from batch to batch; otherwise (a live append, or a policy the
replay's memo let go) a publication folds its policy's stream from the log, which the append's own
transaction already holds.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, bindparam, insert, update

from events.domain import types as ev
from events.domain.document import CHANGE_EVENTS, Document, Section
from events.domain.streams import policy_of
from events.store import StoredEvent, stream_events
from events.store.prepared import Prepared

from .tables import ROW_ID_SPAN, search_policies, search_sections, search_versions
from .text import fold

MEMO_POLICIES = 512  # policies a replay keeps between batches, least recent out first
_CHANGES = frozenset(cls.type_name for cls in CHANGE_EVENTS)
_FOLDED = frozenset({"PolicyCreated", "RevisionOpened", "RevisionPublished", "RevisionRejected",
                     "RevisionWithdrawn", *_CHANGES})

_INSERT_POLICY = Prepared(insert(search_policies))
_INSERT_VERSION = Prepared(insert(search_versions))
_INSERT_SECTION = Prepared(insert(search_sections))
_NEWEST = Prepared(update(search_policies).where(search_policies.c.policy_id == bindparam("key"))
                   .values(newest_version=bindparam("new_version"), newest_effective_from=bindparam("new_effective")))
_CLOSE = Prepared(update(search_sections)
                  .where(and_(search_sections.c.policy_id == bindparam("key_policy"),
                              search_sections.c.section_id == bindparam("key_section"),
                              search_sections.c.last_version.is_(None)))
                  .values(last_version=bindparam("new_last_version")))


@dataclass
class _Policy:
    """A policy as far as search needs it: its language, newest version and document, open revisions' changes."""

    language: str
    version: int
    document: Document
    revisions: dict[str, list[ev.Event]] = field(default_factory=dict)

    def apply(self, stored: StoredEvent) -> tuple[Document, Document] | None:
        """Fold one event; for a publication return the previous and the new document."""
        event = stored.event
        if isinstance(event, ev.RevisionOpened):
            self.revisions[event.revision_id] = []
        elif stored.type in _CHANGES:
            self.revisions.setdefault(event.revision_id, []).append(event)  # type: ignore[attr-defined]
        elif isinstance(event, ev.RevisionPublished):
            before, document = self.document, self.document.copy()
            for change in self.revisions.pop(event.revision_id, []):
                document.apply(change)
            self.version, self.document = event.version, document
            return before, document
        elif isinstance(event, ev.RevisionRejected | ev.RevisionWithdrawn):
            self.revisions.pop(event.revision_id, None)
        return None


def _from_log(connection: Connection, stored: StoredEvent) -> _Policy | None:
    """Fold a policy's stream from the log up to (not including) this event."""
    state: _Policy | None = None
    for past in stream_events(connection, stored.stream, up_to_version=stored.version - 1):
        if isinstance(past.event, ev.PolicyCreated):
            state = _Policy(past.event.language, 0, Document.empty(past.event.title))
        elif state is not None and past.type in _FOLDED:
            state.apply(past)
    return state


@dataclass
class _Writes:
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)  # created in this batch
    newest: dict[str, tuple[int, str]] = field(default_factory=dict)  # each other policy's newest version
    versions: list[dict[str, Any]] = field(default_factory=list)
    closed: list[dict[str, Any]] = field(default_factory=list)
    sections: list[dict[str, Any]] = field(default_factory=list)
    # Rows this batch inserts that are still open: a later publication in the batch closes them in place.
    pending: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def _state(section: Section) -> tuple[str | None, str | None, str]:
    return section.label, section.title, section.text


def _published(writes: _Writes, policy: _Policy, stored: StoredEvent, before: Document, after: Document) -> None:
    event = stored.event
    assert isinstance(event, ev.RevisionPublished)
    policy_id = policy_of(stored.stream)
    writes.versions.append({"policy_id": policy_id, "version": event.version, "title": after.title,
                            "effective_from": event.effective_from})
    if policy_id in writes.policies:
        writes.policies[policy_id].update(newest_version=event.version, newest_effective_from=event.effective_from)
    else:
        writes.newest[policy_id] = (event.version, event.effective_from)
    for section_id, section in before.sections.items():
        kept = after.sections.get(section_id)
        if kept is None or _state(kept) != _state(section):
            pending = writes.pending.pop((policy_id, section_id), None)
            if pending is not None:
                pending["last_version"] = event.version - 1
            else:
                writes.closed.append({"key_policy": policy_id, "key_section": section_id,
                                      "new_last_version": event.version - 1})
    for place, (section, _) in enumerate(after.walk()):
        previous = before.sections.get(section.id)
        if previous is not None and _state(previous) == _state(section):
            continue
        body = f"{section.title}\n{section.text}" if section.title else section.text
        row = {"row_id": stored.position * ROW_ID_SPAN + place, "policy_id": policy_id, "section_id": section.id,
               "first_version": event.version, "last_version": None, "language": policy.language,
               "label": section.label, "body": body, "folded": fold(body)}
        writes.sections.append(row)
        writes.pending[(policy_id, section.id)] = row


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False,
                memo: dict[str, Any] | None = None) -> None:
    """Index the sections each publication in the batch gave a new text, and close the states it replaced."""
    kept: OrderedDict[str, _Policy] = ({} if memo is None else memo).setdefault("search.policies", OrderedDict())
    writes = _Writes()
    for stored in events:
        if stored.type not in _FOLDED:
            continue
        policy_id = policy_of(stored.stream)
        event = stored.event
        if isinstance(event, ev.PolicyCreated):
            kept[policy_id] = _Policy(event.language, 0, Document.empty(event.title))
            writes.policies[policy_id] = {"policy_id": policy_id, "language": event.language,
                                          "newest_version": None, "newest_effective_from": None}
            continue
        policy = kept.get(policy_id)
        if policy is None:
            if stored.type != "RevisionPublished":
                continue  # folded from the log when a publication needs it
            policy = _from_log(connection, stored)
            if policy is None:
                continue  # a stream no PolicyCreated began (the store's own tests append such): nothing to index
            kept[policy_id] = policy
        kept.move_to_end(policy_id)
        published = policy.apply(stored)
        if published is not None:
            _published(writes, policy, stored, *published)
    while len(kept) > MEMO_POLICIES:
        kept.popitem(last=False)
    _INSERT_POLICY.execute_many(connection, list(writes.policies.values()))
    _NEWEST.execute_many(connection, [{"key": pid, "new_version": version, "new_effective": effective}
                                      for pid, (version, effective) in writes.newest.items()])
    _INSERT_VERSION.execute_many(connection, writes.versions)
    _CLOSE.execute_many(connection, writes.closed)
    _INSERT_SECTION.execute_many(connection, writes.sections)
