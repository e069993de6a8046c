"""Documents as this read model keeps them: a version's outline over section states, a preview's overlay on its base."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, bindparam, select, text

from events.domain.document import Document, Section
from events.store.prepared import Prepared

from .tables import policy_versions, preview_sections, revision_previews, version_policies


class ProjectionMismatch(RuntimeError):
    """The read model computed a different document than the log recorded: the append must not commit."""


# The state of each section an outline names, one primary-key lookup per section. The (section, version)
# pairs travel as one parameter, however many there are (a JSON array on SQLite, two arrays on PostgreSQL),
# so no statement's parameter count grows with a document. On SQLite, CROSS JOIN keeps the pairs the outer
# loop (the planner cannot tell how many json_each gives, and would otherwise scan the policy's states).
# Run on the driver's cursor: publications read the newest version inside an append's pipeline.
_STATES = {
    "sqlite": Prepared(text(
        "SELECT s.version, s.section_id, s.kind, s.label, s.title, s.text FROM json_each(:pairs) AS w CROSS "
        "JOIN section_states AS s ON s.policy_id = :policy_id AND s.section_id = json_extract(w.value, '$[0]') "
        "AND s.version = json_extract(w.value, '$[1]')")),
    "postgresql": Prepared(text(
        "SELECT s.version, s.section_id, s.kind, s.label, s.title, s.text "
        "FROM unnest(CAST(:section_ids AS text[]), CAST(:versions AS integer[])) AS w(section_id, version) "
        "JOIN section_states AS s ON s.policy_id = :policy_id AND s.section_id = w.section_id "
        "AND s.version = w.version")),
}


def _states(connection: Connection, policy_id: str, since: dict[str, int]) -> list[Any]:
    if connection.dialect.name == "postgresql":
        return _STATES["postgresql"].rows(connection, {"policy_id": policy_id, "section_ids": list(since),
                                                       "versions": list(since.values())})
    pairs = json.dumps([[section_id, version] for section_id, version in since.items()], ensure_ascii=False)
    return _STATES["sqlite"].rows(connection, {"policy_id": policy_id, "pairs": pairs})


def outline(document: Document, since: dict[str, int], parent_id: str | None = None) -> list[Any]:
    """Return a document's tree as [section id, version of its state, children] lists."""
    children = document.children
    return [[child, since[child], outline(document, since, child) if children.get(child) else []]
            for child in children.get(parent_id, ())]


def read_outline(connection: Connection, policy_id: str,
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
    tree, since = read_outline(connection, policy_id, outline_json)
    return Document.from_tree(title, tree), since


_VERSION = Prepared(select(policy_versions.c.title, policy_versions.c.outline, policy_versions.c.language)
                    .where(policy_versions.c.policy_id == bindparam("policy_id"),
                           policy_versions.c.version == bindparam("version")))
_POLICY = Prepared(select(version_policies.c.created_title, version_policies.c.language)
                   .where(version_policies.c.policy_id == bindparam("policy_id")))


def version_document(connection: Connection, policy_id: str, number: int) -> tuple[Document, str] | None:
    """Return version `number`'s document (version 0: the empty one under the first title) and the language."""
    if number == 0:
        row = _POLICY.first(connection, {"policy_id": policy_id})
        return (Document.empty(row[0]), row[1]) if row else None
    row = _VERSION.first(connection, {"policy_id": policy_id, "version": number})
    return (load_document(connection, policy_id, row[0], row[1])[0], row[2]) if row else None


# ---- previews ------------------------------------------------------------------------------------

_OVERLAY = Prepared(select(preview_sections.c.section_id, preview_sections.c.removed, preview_sections.c.parent_id,
                           preview_sections.c.after_id, preview_sections.c.kind, preview_sections.c.label,
                           preview_sections.c.title, preview_sections.c.text)
                    .where(preview_sections.c.revision_id == bindparam("revision_id")))
_PREVIEW = Prepared(select(revision_previews.c.policy_id, revision_previews.c.base_version,
                           revision_previews.c.title, revision_previews.c.last_position)
                    .where(revision_previews.c.revision_id == bindparam("revision_id")))


def preview_row(connection: Connection, revision_id: str) -> Any:
    """Return a preview's row: policy, base version, title, last position (None if unknown)."""
    return _PREVIEW.first(connection, {"revision_id": revision_id})


def overlay(base: Document, title: str, rows: list[Any]) -> Document:
    """Return the base document with a preview's overlay rows laid over it."""
    placed: dict[str, tuple[str | None, str | None]] = {}
    for parent_id, siblings in base.children.items():
        for index, section_id in enumerate(siblings):
            placed[section_id] = (parent_id, siblings[index - 1] if index else None)
    sections = dict(base.sections)
    for section_id, removed, parent_id, after_id, kind, label, section_title, section_text in rows:
        if removed:
            sections.pop(section_id, None)
            placed.pop(section_id, None)
        else:
            sections[section_id] = Section(id=section_id, kind=kind, label=label, title=section_title,
                                           text=section_text)
            placed[section_id] = (parent_id, after_id)
    following: dict[tuple[str | None, str | None], str] = {}
    for section_id, (parent_id, after_id) in placed.items():
        following[(parent_id, after_id)] = section_id
    children: dict[str | None, list[str]] = {None: []}
    parents: dict[str, str | None] = {}

    def chain(parent_id: str | None) -> None:
        ordered: list[str] = []
        current = following.get((parent_id, None))
        while current is not None:
            ordered.append(current)
            parents[current] = parent_id
            current = following.get((parent_id, current))
        if ordered or parent_id is None:
            children[parent_id] = ordered
        for section_id in ordered:
            chain(section_id)

    chain(None)
    if len(parents) != len(sections):
        raise ProjectionMismatch(f"a preview's sections do not form one tree ({len(parents)} of {len(sections)})")
    return Document(title, sections, children, parents)


def load_preview(connection: Connection, revision_id: str, row: Any = None) -> tuple[Document, str] | None:
    """Return a revision's preview document and its policy's language (None for an unknown revision)."""
    row = row if row is not None else preview_row(connection, revision_id)
    if row is None:
        return None
    policy_id, base_version, title = row[0], row[1], row[2]
    base = version_document(connection, policy_id, base_version)
    if base is None:
        raise ProjectionMismatch(f"revision {revision_id}: no version {base_version} of {policy_id}")
    return overlay(base[0], title, _OVERLAY.rows(connection, {"revision_id": revision_id})), base[1]
