"""The importer's check of its own work: every word of the source is in the result, in order, and nothing else."""
from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from events.domain.errors import InvalidInput

_WORD = re.compile(r"\w+")
SHOWN_WORDS = 8  # how many of the first words lost a refusal names


@dataclass(frozen=True)
class Mismatch:
    """Where the result parts from the source: the words lost, or the first word added."""

    lost: tuple[str, ...]
    added: str | None


def words(text: str) -> list[str]:
    """Return the words of a text: runs of letters and digits, punctuation and markup left out."""
    return _WORD.findall(text)


def result_words(title: str, sections: list[dict[str, Any]]) -> Iterator[tuple[str, bool]]:
    """Yield the words of a parsed document in reading order, each with whether it is part of a label."""
    yield from ((word, False) for word in words(title))
    for section in _walk(sections):
        yield from ((word, True) for word in words(section.get("label") or ""))
        for part in (section.get("title"), section.get("text")):
            yield from ((word, False) for word in words(part or ""))


def compare(source: list[str], result: Iterable[tuple[str, bool]]) -> Mismatch | None:
    """Match the result's words against the source's in order; labels may be in the source or not."""
    position = 0
    for word, is_label in result:
        if position < len(source) and source[position] == word:
            position += 1
        elif not is_label:
            return Mismatch(lost=tuple(source[position:position + SHOWN_WORDS]), added=word)
    if position < len(source):
        return Mismatch(lost=tuple(source[position:position + SHOWN_WORDS]), added=None)
    return None


def check_no_word_lost(source_text: str, title: str, sections: list[dict[str, Any]], name: str) -> None:
    """Refuse a parse that lost, reordered or invented a word, naming the first words lost."""
    mismatch = compare(words(source_text), result_words(title, sections))
    if mismatch is None:
        return
    lost = " ".join(mismatch.lost) or "(none)"
    added = f"; it has {mismatch.added!r} where the source does not" if mismatch.added else ""
    raise InvalidInput(f"{name}: the import would lose text, from the words: {lost}{added}; nothing was imported",
                       field="file")


def _walk(sections: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for section in sections:
        yield section
        yield from _walk(section.get("children") or [])
