"""A redline that reads like a document: the newer text in order, with what changed marked where it changed."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.content.diffing import diff_documents

Segment = dict[str, str]


@dataclass
class Node:
    """One section as the redline shows it."""

    section: dict[str, Any]
    change: str  # "same", "added", "removed", "amended", "moved"
    segments: list[Segment] | None = None  # the word-level diff of an amended text
    whole: bool = False  # the texts were too long to compare word by word
    old_label: str | None = None
    old_title: str | None = None
    moved_from: dict[str, Any] | None = None  # {"parent": section or None, "after": section or None}
    moved: bool = False
    children: list[Node] = field(default_factory=list)


@dataclass(frozen=True)
class Redline:
    """The redline of two versions: the title's change and the sections in the newer one's order."""

    title_segments: list[Segment] | None
    nodes: list[Node]
    counts: dict[str, int]


def _index(tree: list[dict[str, Any]], parent: str | None = None,
           out: dict[str, tuple[dict[str, Any], str | None, str | None]] | None = None
           ) -> dict[str, tuple[dict[str, Any], str | None, str | None]]:
    found = {} if out is None else out
    after = None
    for section in tree:
        found[section["id"]] = (section, parent, after)
        after = section["id"]
        _index(section.get("children") or [], section["id"], found)
    return found


def redline(old: dict[str, Any], new: dict[str, Any]) -> Redline:
    """Compare two version documents (as `projections.documents.get` gives them) into a readable redline."""
    changes = diff_documents(old["title"], old["sections"], new["title"], new["sections"])
    amended = {a["section_id"]: a for a in changes["amended"]}
    moved = {m["section_id"]: m for m in changes["moved"]}
    added = {a["section_id"] for a in changes["added"]}
    before = _index(old["sections"])

    def place(section_id: str | None) -> dict[str, Any] | None:
        return before[section_id][0] if section_id in before else None

    def node(section: dict[str, Any]) -> Node:
        sid = section["id"]
        amendment = amended.get(sid)
        change = "added" if sid in added else "amended" if amendment else "moved" if sid in moved else "same"
        found = Node(section=section, change=change, moved=sid in moved)
        if amendment:
            found.segments = amendment["text"] if "text" in amendment["changed"] else None
            found.whole = found.segments is not None and amendment["compared"] == "whole"
            if amendment["label"]:
                found.old_label = amendment["label"]["from"]
            if amendment["title"]:
                found.old_title = amendment["title"]["from"]
        if sid in moved:
            origin = moved[sid]["from"]
            found.moved_from = {"parent": place(origin["parent_id"]), "after": place(origin["after_id"])}
        found.children = [node(child) for child in section.get("children") or []]
        return found

    def gone(section: dict[str, Any]) -> Node:
        return Node(section=section, change="removed", children=[gone(c) for c in section.get("children") or []])

    nodes = [node(section) for section in new["sections"]]
    by_id: dict[str, Node] = {}

    def remember(items: list[Node]) -> None:
        for item in items:
            by_id[item.section["id"]] = item
            remember(item.children)

    remember(nodes)
    removed_ids = {r["section_id"] for r in changes["removed"]}
    for removal in changes["removed"]:  # each removed subtree once, where it stood: after its old predecessor
        section, parent_id, after_id = before[removal["section_id"]]
        if parent_id in removed_ids:
            continue
        siblings = by_id[parent_id].children if parent_id in by_id else nodes
        anchor = next((i for i, n in enumerate(siblings) if n.section["id"] == after_id), None)
        position = 0 if after_id is None else (anchor + 1 if anchor is not None else len(siblings))
        siblings.insert(position, gone(section))
    counts = {"added": len(changes["added"]), "removed": len(changes["removed"]), "moved": len(changes["moved"]),
              "amended": len(changes["amended"])}
    title = changes["title"]["segments"] if changes["title"] else None
    return Redline(title_segments=title, nodes=nodes, counts=counts)
