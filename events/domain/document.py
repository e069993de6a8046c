"""A policy document: an ordered tree of sections with stable ids, and the section changes that edit it."""
from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from . import types as ev
from .canonical import canonical_json
from .errors import InvalidInput, NotFound

KINDS = ("heading", "paragraph", "item")
TITLE_KEY = "title"  # the pseudo-section a retitle touches, for conflict detection
SectionChange = ev.SectionAdded | ev.SectionAmended | ev.SectionMoved | ev.SectionRemoved | ev.PolicyRetitled
CHANGE_EVENTS: tuple[type[ev.Event], ...] = (ev.SectionAdded, ev.SectionAmended, ev.SectionMoved, ev.SectionRemoved,
                                             ev.PolicyRetitled)


@dataclass(frozen=True, slots=True)
class Section:
    """One heading, paragraph or item; its id survives edits and moves."""

    id: str
    kind: str
    label: str | None
    title: str | None
    text: str
    _encoded: bytes | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def canonical_bytes(self) -> bytes:
        """Return the section's own members in canonical JSON, without braces, in UTF-8 (made once, on first use).

        A document's canonical form, hashed on every review, signature and publication, reuses them and
        serialises again only the sections a change replaced.
        """
        if self._encoded is None:
            own = canonical_json({"id": self.id, "kind": self.kind, "label": self.label, "text": self.text,
                                  "title": self.title})
            object.__setattr__(self, "_encoded", own[1:-1].encode("utf-8"))
        return self._encoded  # type: ignore[return-value]


class Document:
    """A title and a section tree: `children[None]` are the top-level sections in order.

    Changed in place by `apply`, so a change costs what it changes, not the size of the document; whoever
    keeps a document that others read (a published version) hands out `copy()`s to change.
    """

    __slots__ = ("_encoded", "characters", "children", "parents", "sections", "title")

    def __init__(self, title: str, sections: dict[str, Section] | None = None,
                 children: dict[str | None, list[str]] | None = None,
                 parents: dict[str, str | None] | None = None) -> None:
        self.title = title
        self.sections: dict[str, Section] = sections if sections is not None else {}
        self.children: dict[str | None, list[str]] = children if children is not None else {None: []}
        self.parents: dict[str, str | None] = parents if parents is not None else {}
        # Characters of every section's text, title and label, kept as sections change, for the limits.
        self.characters = sum(map(_characters, self.sections.values()))
        # Each section's entry in canonical JSON (its members and its subtree), kept until it or a section below
        # it changes: hashing a long document again after one change encodes that section and its ancestors, and
        # joins the bytes of their siblings.
        self._encoded: dict[str, bytes] = {}

    @classmethod
    def empty(cls, title: str) -> Document:
        """Return a document with a title and no sections."""
        return cls(title)

    def copy(self) -> Document:
        """Return a document equal to this one that can change without changing it."""
        document = Document(self.title, dict(self.sections), {k: list(v) for k, v in self.children.items()},
                            dict(self.parents))
        document._encoded = dict(self._encoded)
        return document

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Document):
            return NotImplemented
        return (self.title == other.title and self.sections == other.sections and self.parents == other.parents
                and self.tree() == other.tree())

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __contains__(self, section_id: object) -> bool:
        return section_id in self.sections

    def require(self, section_id: str, field: str = "section_id") -> Section:
        """Return a section or refuse naming the unknown id."""
        try:
            return self.sections[section_id]
        except KeyError:
            raise NotFound(f"no section {section_id!r} in this document", field=field) from None

    def descendants(self, section_id: str) -> Iterator[str]:
        """Yield the ids below a section, depth first."""
        for child in self.children.get(section_id, ()):
            yield child
            yield from self.descendants(child)

    # ---- changes -------------------------------------------------------------------------------

    def apply(self, change: ev.Event) -> None:
        """Apply one section or title change event in place, refusing one that does not fit (nothing changes then)."""
        if isinstance(change, ev.SectionAdded):
            section = Section(id=change.section_id, kind=change.kind, label=change.label, title=change.title,
                              text=change.text)
            self._add(section, change.parent_id, change.after_id)
        elif isinstance(change, ev.SectionAmended):
            self._amend(change.section_id, text=change.text, title=change.title, label=change.label)
        elif isinstance(change, ev.SectionMoved):
            self._move(change.section_id, change.parent_id, change.after_id)
        elif isinstance(change, ev.SectionRemoved):
            self._remove(change.section_id)
        elif isinstance(change, ev.PolicyRetitled):
            if not change.title.strip():
                raise InvalidInput("a title cannot be empty", field="title")
            self.title = change.title
        else:
            raise TypeError(f"{type(change).__name__} is not a section change")

    def touched_by(self, change: ev.Event) -> set[str]:
        """Return the ids a change event touches, given this document as it stands before the change."""
        if isinstance(change, ev.PolicyRetitled):
            return {TITLE_KEY}
        if isinstance(change, ev.SectionRemoved):
            return {change.section_id, *self.descendants(change.section_id)}
        return {change.section_id}  # type: ignore[attr-defined]

    def _check_anchor(self, parent_id: str | None, after_id: str | None, moving: str | None = None) -> None:
        if parent_id is not None:
            self.require(parent_id, "parent_id")
            if moving is not None and (parent_id == moving or parent_id in set(self.descendants(moving))):
                raise InvalidInput("a section cannot move into itself or its own subtree", field="parent_id")
        if after_id is not None:
            if after_id == moving:
                raise InvalidInput("a section cannot be placed after itself", field="after_id")
            self.require(after_id, "after_id")
            if self.parents.get(after_id) != parent_id:
                raise InvalidInput(f"section {after_id!r} is not a child of the given parent", field="after_id")

    def _changed_under(self, parent_id: str | None) -> None:
        # The parent's children changed, so its entry did, and every ancestor's.
        while parent_id is not None:
            self._encoded.pop(parent_id, None)
            parent_id = self.parents[parent_id]

    def _insert(self, parent_id: str | None, after_id: str | None, section_id: str) -> None:
        self._changed_under(parent_id)
        siblings = self.children.setdefault(parent_id, [])
        siblings.insert(0 if after_id is None else siblings.index(after_id) + 1, section_id)
        self.parents[section_id] = parent_id

    def _add(self, section: Section, parent_id: str | None, after_id: str | None) -> None:
        if section.id in self.sections:
            raise InvalidInput(f"section id {section.id!r} is already in use", field="section_id")
        validate_section_fields(section.kind, section.label, section.title, section.text)
        self._check_anchor(parent_id, after_id)
        self.sections[section.id] = section
        self.characters += _characters(section)
        self._insert(parent_id, after_id, section.id)

    def _amend(self, section_id: str, *, text: str, title: str | None, label: str | None) -> None:
        old = self.require(section_id)
        validate_section_fields(old.kind, label, title, text)
        new = self.sections[section_id] = Section(id=old.id, kind=old.kind, label=label, title=title, text=text)
        self.characters += _characters(new) - _characters(old)
        self._encoded.pop(section_id, None)
        self._changed_under(self.parents[section_id])

    def _move(self, section_id: str, parent_id: str | None, after_id: str | None) -> None:
        self.require(section_id)
        self._check_anchor(parent_id, after_id, moving=section_id)
        old_parent = self.parents[section_id]
        self._changed_under(old_parent)
        self.children[old_parent].remove(section_id)
        if not self.children[old_parent] and old_parent is not None:
            del self.children[old_parent]
        self._insert(parent_id, after_id, section_id)

    def _remove(self, section_id: str) -> None:
        self.require(section_id)
        gone = [section_id, *self.descendants(section_id)]
        parent = self.parents[section_id]
        self._changed_under(parent)
        self.children[parent].remove(section_id)
        if not self.children[parent] and parent is not None:
            del self.children[parent]
        for sid in gone:
            self._encoded.pop(sid, None)
            self.characters -= _characters(self.sections.pop(sid))
            del self.parents[sid]
            self.children.pop(sid, None)

    # ---- reading -------------------------------------------------------------------------------

    def tree(self, parent_id: str | None = None) -> list[dict[str, Any]]:
        """Return the sections as nested dicts in document order."""
        return [
            {
                "id": s.id, "kind": s.kind, "label": s.label, "title": s.title, "text": s.text,
                "children": self.tree(s.id),
            }
            for s in (self.sections[c] for c in self.children.get(parent_id, ()))
        ]

    def walk(self, parent_id: str | None = None) -> Iterator[tuple[Section, str | None]]:
        """Yield every section with its parent id, in document order."""
        for child in self.children.get(parent_id, ()):
            yield self.sections[child], parent_id
            yield from self.walk(child)

    def render(self, policy_id: str, language: str) -> dict[str, Any]:
        """Return the JSON shape clients read: id, language, title and sections."""
        return {"id": policy_id, "language": language, "title": self.title, "sections": self.tree()}

    def sections_json(self, parent_id: str | None = None) -> str:
        """Return `canonical_json(self.tree(parent_id))`, built from each section's cached members."""
        pieces: list[bytes] = []
        self._encode(parent_id, pieces)
        return b"".join(pieces).decode("utf-8")

    def _encode(self, parent_id: str | None, out: list[bytes]) -> None:
        # The tree in canonical JSON and UTF-8, from each unchanged section's cached entry: a long document is
        # not encoded again for every hash of it.
        out.append(self._array(parent_id))

    def _array(self, parent_id: str | None) -> bytes:
        encoded = self._encoded
        return b"[" + b",".join([encoded.get(child) or self._entry(child)
                                 for child in self.children.get(parent_id, ())]) + b"]"

    def _entry(self, section_id: str) -> bytes:
        below = self._array(section_id) if self.children.get(section_id) else b"[]"
        entry = self._encoded[section_id] = (b'{"children":' + below + b"," + self.sections[section_id].canonical_bytes
                                             + b"}")
        return entry

    def _ends(self, policy_id: str, language: str) -> tuple[str, str]:
        # Keys in sorted order: id, language, sections, title.
        return ('{"id":' + json.dumps(policy_id, ensure_ascii=False) + ',"language":'
                + json.dumps(language, ensure_ascii=False) + ',"sections":',
                ',"title":' + json.dumps(self.title, ensure_ascii=False) + "}")

    def _canonical_bytes(self, policy_id: str, language: str) -> bytes:
        head, tail = self._ends(policy_id, language)
        pieces = [head.encode("utf-8")]
        self._encode(None, pieces)
        pieces.append(tail.encode("utf-8"))
        return b"".join(pieces)

    def canonical(self, policy_id: str, language: str) -> str:
        """Return `canonical_json(self.render(policy_id, language))`: the text a content hash covers."""
        return self._canonical_bytes(policy_id, language).decode("utf-8")

    def content_hash(self, policy_id: str, language: str) -> str:
        """Hash the content as rendered for this policy (`events.domain.canonical.content_hash` of `render`)."""
        # Fed piece by piece, top-level entries as they are cached: the document's bytes are never joined whole.
        head, tail = self._ends(policy_id, language)
        digest = hashlib.sha256(head.encode("utf-8"))
        digest.update(b"[")
        encoded = self._encoded
        for index, child in enumerate(self.children.get(None, ())):
            if index:
                digest.update(b",")
            digest.update(encoded.get(child) or self._entry(child))
        digest.update(b"]")
        digest.update(tail.encode("utf-8"))
        return "sha256:" + digest.hexdigest()

    @classmethod
    def from_tree(cls, title: str, sections: list[dict[str, Any]]) -> Document:
        """Build a document from nested dicts that carry ids (the inverse of `tree`), checking every section."""
        by_id: dict[str, Section] = {}
        children: dict[str | None, list[str]] = {}
        parents: dict[str, str | None] = {}

        def place(items: list[dict[str, Any]], parent_id: str | None) -> None:
            placed = []
            for item in items:
                section = Section(id=item["id"], kind=item["kind"], label=item.get("label"),
                                  title=item.get("title"), text=item.get("text", ""))
                if section.id in by_id:
                    raise InvalidInput(f"section id {section.id!r} is already in use", field="section_id")
                validate_section_fields(section.kind, section.label, section.title, section.text)
                by_id[section.id], parents[section.id] = section, parent_id
                placed.append(section.id)
                place(item.get("children") or [], section.id)
            if placed or parent_id is None:
                children[parent_id] = placed

        place(sections, None)
        return cls(title, by_id, children, parents)


def _characters(section: Section) -> int:
    return len(section.text) + len(section.title or "") + len(section.label or "")


def validate_section_fields(kind: str, label: str | None, title: str | None, text: str) -> None:
    """Refuse a kind outside the list, non-string fields, or a section with neither title nor text."""
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    if not isinstance(text, str):
        raise InvalidInput("text must be a string", field="text")
    for name, value in (("label", label), ("title", title)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"{name} must be a string or null", field=name)
    if not text.strip() and not (title or "").strip():
        raise InvalidInput("a section needs a text or a title", field="text")
