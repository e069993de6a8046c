"""Compare two versions of a policy: sections added, removed, moved and amended, with word-level text diffs."""
from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
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


# The word diff's work is bounded by design, not by a timeout. Texts longer than this (either side) are
# compared whole: one deletion and one insertion, and `compared_whole` says so.
WHOLE_ABOVE = 250_000
# A document diff compares at most this many characters (both sides) word by word; amended sections past it
# are compared whole, so one diff's work is bounded however many sections changed.
WORDS_PER_DIFF = 2_000_000
# Sentences are compared first and only those that differ word by word. Within them, ranges whose token
# counts multiply to at most this are compared exactly (difflib); larger ones are first
# split on anchors, tokens found exactly once on each side (patience diff), at most `_ANCHOR_DEPTH` deep.
# A range with no anchor left, or deeper, is one change. Work: O(n log n) per level, plus n·√_EXACT.
_EXACT = 4096
_ANCHOR_DEPTH = 8


def compared_whole(old: str, new: str) -> bool:
    """Tell whether two texts are too long to compare word by word, so their diff replaces one with the other."""
    return max(len(old), len(new)) > WHOLE_ABOVE


def diff_words(old: str, new: str) -> list[Segment]:
    """Return the word-level diff of two texts as segments {op: equal|insert|delete, text}.

    Joining the `equal` and `delete` segments gives `old`; joining `equal` and `insert` gives `new`.
    Its cost grows with the texts' length and the size of what changed, never with their product.
    """
    if old == new:
        return [{"op": "equal", "text": old}] if old else []
    if compared_whole(old, new):
        return _segments([("change", old, new)])
    # Sentences first: only the sentences that differ are compared word by word, so the work on a long text
    # follows what changed in it.
    runs: list[tuple[str, str, str]] = []
    for kind, old_part, new_part in _runs(_sentences(old), _sentences(new)):
        if kind == "equal" or not old_part or not new_part:
            runs.append((kind, old_part, new_part))
        else:
            runs.extend(_runs(tokens(old_part), tokens(new_part)))
    return _segments(_absorb_blank_equals(runs))


# A sentence and the space after it (or a line): what the first pass compares.
_SENTENCES = re.compile(r"[^.!?;\n]*(?:[.!?;\n]+\s*|$)")


def _sentences(text: str) -> list[str]:
    """Split a text into sentences, each with the space after it, losing nothing."""
    return [part for part in _SENTENCES.findall(text) if part]


def _runs(a: list[str], b: list[str]) -> list[tuple[str, str, str]]:
    """Return the runs (kind, old text, new text) of equal and changed pieces between two lists of pieces."""
    ids: dict[str, int] = {}
    ia = [ids.setdefault(t, len(ids)) for t in a]
    ib = [ids.setdefault(t, len(ids)) for t in b]
    blocks: list[tuple[int, int, int]] = []
    _match(ia, 0, len(ia), ib, 0, len(ib), 0, blocks)
    runs: list[tuple[str, str, str]] = []  # (kind, old text, new text)
    i = j = 0
    for bi, bj, size in [*_merged(blocks), (len(a), len(b), 0)]:
        if i < bi or j < bj:
            runs.append(("change", "".join(a[i:bi]), "".join(b[j:bj])))
        if size:
            text = "".join(a[bi:bi + size])
            runs.append(("equal", text, text))
        i, j = bi + size, bj + size
    return runs


def _merged(blocks: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Join blocks that follow each other on both sides into one."""
    merged: list[tuple[int, int, int]] = []
    for block in blocks:
        if merged and merged[-1][0] + merged[-1][2] == block[0] and merged[-1][1] + merged[-1][2] == block[1]:
            merged[-1] = (merged[-1][0], merged[-1][1], merged[-1][2] + block[2])
        elif block[2]:
            merged.append(block)
    return merged


def _common(a: list[int], alo: int, ahi: int, b: list[int], blo: int, bhi: int, *, at_end: bool = False) -> int:
    """Return how many tokens are equal from alo and blo on (`at_end`: before ahi and bhi), comparing slices in
    C: the longest equal run found by halving steps, since a run's being equal holds for every shorter one."""
    size = min(ahi - alo, bhi - blo)
    found = 0
    step = 1 << size.bit_length()
    while step:
        if found + step <= size:
            if at_end:
                equal = a[ahi - found - step:ahi - found] == b[bhi - found - step:bhi - found]
            else:
                equal = a[alo + found:alo + found + step] == b[blo + found:blo + found + step]
            if equal:
                found += step
        step >>= 1
    return found


def _match(a: list[int], alo: int, ahi: int, b: list[int], blo: int, bhi: int, depth: int,
           blocks: list[tuple[int, int, int]]) -> None:
    """Append to `blocks`, in order, the runs (i, j, size) of tokens matched between a[alo:ahi] and b[blo:bhi]."""
    head = _common(a, alo, ahi, b, blo, bhi)
    if head:
        blocks.append((alo, blo, head))
        alo, blo = alo + head, blo + head
    tail = _common(a, alo, ahi, b, blo, bhi, at_end=True)
    ahi, bhi = ahi - tail, bhi - tail
    if alo < ahi and blo < bhi:
        if ahi - alo == 1 or bhi - blo == 1:  # one token against a run: found in it or not
            if ahi - alo == 1 and a[alo] in b[blo:bhi]:
                blocks.append((alo, b.index(a[alo], blo, bhi), 1))
            elif bhi - blo == 1 and b[blo] in a[alo:ahi]:
                blocks.append((a.index(b[blo], alo, ahi), blo, 1))
        elif (ahi - alo) * (bhi - blo) <= _EXACT:
            blocks.extend((alo + block.a, blo + block.b, block.size) for block in
                          SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False).get_matching_blocks())
        elif depth < _ANCHOR_DEPTH:
            i, j = alo, blo
            for ai, bj in _anchors(a, alo, ahi, b, blo, bhi):
                if i < ai and j < bj:  # a gap with tokens on one side only is all change
                    _match(a, i, ai, b, j, bj, depth + 1, blocks)
                blocks.append((ai, bj, 1))
                i, j = ai + 1, bj + 1
            if (i, j) != (alo, blo):  # without an anchor the range is one change
                _match(a, i, ahi, b, j, bhi, depth + 1, blocks)
    if tail:
        blocks.append((ahi, bhi, tail))


def _anchors(a: list[int], alo: int, ahi: int, b: list[int], blo: int, bhi: int) -> list[tuple[int, int]]:
    """Return the longest in-order run of tokens that occur equally often in both ranges, fewest first.

    Tokens found once on each side anchor first (patience diff); when there are none (a text that repeats
    itself), the rarest tokens found as often on each side pair their occurrences in order.
    """
    count_a, count_b = Counter(a[alo:ahi]), Counter(b[blo:bhi])
    rarest = min((n for t, n in count_a.items() if count_b.get(t) == n), default=0)
    if not rarest:
        return []
    chosen = {t for t, n in count_a.items() if n == rarest and count_b.get(t) == rarest}
    at_a: dict[int, list[int]] = {t: [] for t in chosen}
    for i in range(alo, ahi):
        if a[i] in chosen:
            at_a[a[i]].append(i)
    at_b: dict[int, list[int]] = {t: [] for t in chosen}
    for j in range(blo, bhi):
        if b[j] in chosen:
            at_b[b[j]].append(j)
    common = sorted(pair for t in chosen for pair in zip(at_a[t], at_b[t], strict=True))
    # Patience sorting: the longest increasing run of j, in O(k log k).
    tops: list[int] = []  # tops[n]: the j ending the best run of length n + 1
    ends: list[int] = []  # ends[n]: that run's last index into `common`
    before = [-1] * len(common)
    for index, (_, j) in enumerate(common):
        n = bisect_left(tops, j)
        before[index] = ends[n - 1] if n else -1
        if n == len(tops):
            tops.append(j)
            ends.append(index)
        else:
            tops[n], ends[n] = j, index
    run: list[tuple[int, int]] = []
    index = ends[-1] if ends else -1
    while index >= 0:
        run.append(common[index])
        index = before[index]
    return run[::-1]


def _absorb_blank_equals(runs: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    # A lone space kept "equal" between two changed words splits one edit into many; fold it into the change.
    # Parts are gathered in lists and joined once, so a long run of alternating changes stays linear.
    merged: list[tuple[str, list[str], list[str]]] = []
    for index, (kind, old, new) in enumerate(runs):
        between_changes = 0 < index < len(runs) - 1 and runs[index - 1][0] == runs[index + 1][0] == "change"
        if kind == "equal" and between_changes and not old.strip():
            kind = "change"
        if merged and merged[-1][0] == kind:  # two changes, or two equal runs (sentences, then words)
            merged[-1][1].append(old)
            merged[-1][2].append(new)
        else:
            merged.append((kind, [old], [new]))
    return [(kind, "".join(old), "".join(new)) for kind, old, new in merged]


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
    compared = 0
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
            old_text, new_text = before["text"] or "", after["text"] or ""
            size = len(old_text) + len(new_text) if old_text != new_text else 0
            whole = compared_whole(old_text, new_text) or compared + size > WORDS_PER_DIFF
            compared += 0 if whole else size
            amended.append({
                "section_id": sid, "changed": changed,
                "text": _segments([("change", old_text, new_text)]) if whole else diff_words(old_text, new_text),
                "compared": "whole" if whole else "words",
                "title": _title_change(before["title"], after["title"]),
                "label": _change(before["label"], after["label"]),
            })
    return {"title": _title_change(old_title, new_title), "added": added, "removed": removed,
            "moved": moved, "amended": amended}


def _title_change(old: str | None, new: str | None) -> dict[str, Any] | None:
    if old == new:
        return None
    return {"from": old, "to": new, "segments": diff_words(old or "", new or "")}
