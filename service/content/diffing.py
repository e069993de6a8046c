"""Compare two versions of a policy: sections added, removed, moved and amended, with word-level text diffs."""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any

Segment = dict[str, str]
# Runs of letters and digits (Unicode-aware, so Kyrgyz ү, ө, ң are word characters), runs of white
# space, and runs of punctuation: every character lands in exactly one token, so tokens join back.
_TOKENS = re.compile(r"\w+|\s+|[^\w\s]+")


def tokens(text: str) -> list[str]:
    """Split a text into words, white space and punctuation, losing nothing."""
    return _TOKENS.findall(text)


def diff_words(old: str, new: str) -> list[Segment]:
    """Return the word-level diff of two texts as segments {op: equal|insert|delete, text}.

    Joining the `equal` and `delete` segments gives `old`; joining `equal` and `insert` gives `new`.
    """
    a, b = tokens(old), tokens(new)
    runs: list[tuple[str, str, str]] = []  # (kind, old text, new text)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        runs.append(("equal" if tag == "equal" else "change", "".join(a[i1:i2]), "".join(b[j1:j2])))
    return _segments(_absorb_blank_equals(runs))


def _absorb_blank_equals(runs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    # A lone space kept "equal" between two changed words splits one edit into many; fold it into the change.
    merged: list[tuple[str, str, str]] = []
    for index, (kind, old, new) in enumerate(runs):
        between_changes = 0 < index < len(runs) - 1 and runs[index - 1][0] == runs[index + 1][0] == "change"
        if kind == "equal" and between_changes and not old.strip():
            kind = "change"
        if merged and merged[-1][0] == kind == "change":
            _, prev_old, prev_new = merged.pop()
            old, new = prev_old + old, prev_new + new
        merged.append((kind, old, new))
    return merged


def _segments(runs: list[tuple[str, str, str]]) -> list[Segment]:
    segments: list[Segment] = []
    for kind, old, new in runs:
        if kind == "equal":
            segments.append({"op": "equal", "text": old})
            continue
        if old:
            segments.append({"op": "delete", "text": old})
        if new:
            segments.append({"op": "insert", "text": new})
    return segments


def side(segments: list[Segment], which: str) -> str:
    """Rebuild one side of a diff: `old` (equal + delete) or `new` (equal + insert)."""
    skip = "insert" if which == "old" else "delete"
    return "".join(s["text"] for s in segments if s["op"] != skip)


@dataclass(frozen=True)
class _Placed:
    """A section with where it sits: its parent and the sibling before it."""

    section: dict[str, Any]
    parent_id: str | None
    after_id: str | None


def _flatten(tree: list[dict[str, Any]]) -> dict[str, _Placed]:
    placed: dict[str, _Placed] = {}

    def walk(items: list[dict[str, Any]], parent_id: str | None) -> None:
        after = None
        for item in items:
            placed[item["id"]] = _Placed(item, parent_id, after)  # filled in document order
            after = item["id"]
            walk(item.get("children") or [], item["id"])

    walk(tree, None)
    return placed


def _children(placed: dict[str, _Placed]) -> dict[str | None, list[str]]:
    children: dict[str | None, list[str]] = {}
    for section_id, where in placed.items():  # in document order, as _flatten filled it
        children.setdefault(where.parent_id, []).append(section_id)
    return children


def _reordered(old: dict[str, _Placed], new: dict[str, _Placed]) -> set[str]:
    """Return the sections that kept their parent but changed order among the siblings both versions share."""
    moved: set[str] = set()
    old_children, new_children = _children(old), _children(new)
    for parent_id, new_ids in new_children.items():
        stayed = {s for s in new_ids if s in old and old[s].parent_id == parent_id}
        before = [s for s in old_children.get(parent_id, []) if s in stayed]
        after = [s for s in new_ids if s in stayed]
        kept: set[str] = set()
        for block in SequenceMatcher(None, before, after, autojunk=False).get_matching_blocks():
            kept.update(before[block.a:block.a + block.size])
        moved |= stayed - kept  # the longest run kept in order stays; whatever jumped around it moved
    return moved


def _fields(section: dict[str, Any]) -> dict[str, Any]:
    return {k: section.get(k) for k in ("kind", "label", "title", "text")}


def _change(old: str | None, new: str | None) -> dict[str, Any] | None:
    return None if old == new else {"from": old, "to": new}


def diff_documents(old_title: str, old_tree: list[dict[str, Any]],
                   new_title: str, new_tree: list[dict[str, Any]]) -> dict[str, Any]:
    """Compare two section trees by section id: added, removed, moved, amended, and the title."""
    old, new = _flatten(old_tree), _flatten(new_tree)
    added = [{"section_id": sid, "parent_id": w.parent_id, "after_id": w.after_id, **_fields(w.section)}
             for sid, w in new.items() if sid not in old]
    removed = [{"section_id": sid, "parent_id": w.parent_id, **_fields(w.section)}
               for sid, w in old.items() if sid not in new]
    reordered = _reordered(old, new)
    moved, amended = [], []
    for sid, now in new.items():
        was = old.get(sid)
        if was is None:
            continue
        if was.parent_id != now.parent_id or sid in reordered:
            moved.append({"section_id": sid,
                          "from": {"parent_id": was.parent_id, "after_id": was.after_id},
                          "to": {"parent_id": now.parent_id, "after_id": now.after_id}})
        before, after = _fields(was.section), _fields(now.section)
        changed = [k for k in ("text", "title", "label") if before[k] != after[k]]
        if changed:
            amended.append({
                "section_id": sid, "changed": changed,
                "text": diff_words(before["text"] or "", after["text"] or ""),
                "title": _title_change(before["title"], after["title"]),
                "label": _change(before["label"], after["label"]),
            })
    return {"title": _title_change(old_title, new_title), "added": added, "removed": removed,
            "moved": moved, "amended": amended}


def _title_change(old: str | None, new: str | None) -> dict[str, Any] | None:
    if old == new:
        return None
    return {"from": old, "to": new, "segments": diff_words(old or "", new or "")}
