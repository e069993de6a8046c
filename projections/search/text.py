"""Search text as people type it: words in any script, folding for keyboards without Kyrgyz letters, snippets.

Pure: no database. The same rules split what is indexed and what is asked, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

# Letters of Kyrgyz and Kazakh a keyboard without them is typed with: the Russian letter beside each.
_KEYBOARD = str.maketrans({"ү": "у", "ө": "о", "ң": "н", "ә": "а", "ғ": "г", "қ": "к", "ұ": "у", "һ": "х",
                           "і": "и"})
MAX_QUERY = 200  # characters a query may have
MAX_TERMS = 16  # words and phrases a query may have
SNIPPET_WORDS = 32  # words of a section's text a snippet shows around the first match


class QueryError(ValueError):
    """A query that cannot be searched for, saying why (and in one word, `code`, for pages to say it in theirs)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_KYRGYZ = re.compile("[үөңәғқұһі]")
_MARKS = re.compile("[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed"
                    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def fold(text: str) -> str:
    """Return text as a keyboard without Kyrgyz letters or diacritics would type it, in lower case."""
    folded = text.casefold()
    if _KYRGYZ.search(folded):
        folded = folded.translate(_KEYBOARD)
    if unicodedata.is_normalized("NFKD", folded):  # most words: nothing to take apart, nothing to drop
        return folded
    return _MARKS.sub("", unicodedata.normalize("NFKD", folded))


# A word: letters, digits and the combining marks written on them (Cyrillic, Hebrew and Arabic among them).
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf-\u05c7\u0610-\u061a"
                   r"\u064b-\u065f\u0670\u06d6-\u06ed\u0900-\u0903\u093a-\u094f])+")


def words(text: str) -> list[str]:
    """Split text into words: runs of letters, digits and marks, in any script (everything else separates)."""
    return _WORD.findall(text)


@dataclass(frozen=True)
class Term:
    """A word (matched as a prefix: a stem finds its inflected forms) or a phrase in quotes (matched in order)."""

    words: tuple[str, ...]
    phrase: bool

    @property
    def exact(self) -> bool:
        """Whether the term has letters a folded search would lose (ү, ө, ң, ё, ü…): then only they match."""
        return any(fold(word) != word.casefold() for word in self.words)

    @property
    def folded(self) -> tuple[str, ...]:
        return tuple(fold(word) for word in self.words)


@dataclass(frozen=True)
class Query:
    """What a person asked for: every term must match."""

    terms: tuple[Term, ...]


def parse(text: str) -> Query:
    """Parse a query: words, and phrases in double quotes; anything else a person typed is a separator."""
    text = unicodedata.normalize("NFC", text.replace("«", '"').replace("»", '"').replace("“", '"')
                                 .replace("”", '"').replace("„", '"'))
    if not text.strip():
        raise QueryError("empty", "the query is empty")
    if len(text) > MAX_QUERY:
        raise QueryError("too_long", f"the query is longer than {MAX_QUERY} characters")
    if text.count('"') % 2:
        raise QueryError("unbalanced", "the query has an unbalanced quotation mark")
    terms: list[Term] = []
    for index, part in enumerate(text.split('"')):
        found = words(part)
        if index % 2 and len(found) > 1:
            terms.append(Term(tuple(found), phrase=True))
        else:
            terms.extend(Term((word,), phrase=False) for word in found)
    if not terms:
        raise QueryError("no_words", "the query has no words to search for")
    if len(terms) > MAX_TERMS:
        raise QueryError("too_many", f"the query has more than {MAX_TERMS} words and phrases")
    return Query(tuple(dict.fromkeys(terms)))


def _matches(have: str, want: str) -> bool:
    """Whether a word of the text (folded or case-folded as the term's word) is one the term's word finds:
    its prefix, or the same stem."""
    if have.startswith(want):
        return True
    if have[:4] != want[:4]:
        return False
    # A stemmer finds `policy` for `policies` and `политика` for `политики`: the same word but its ending.
    common = 4
    for a, b in zip(have[4:], want[4:], strict=False):
        if a != b:
            break
        common += 1
    return common >= len(want) - 3 and common >= len(have) - 3


def _forms(text: str, spans: list[tuple[int, int]], form: Callable[[str], str]) -> tuple[str, list[int]] | None:
    """Return the text in a form (folded, case-folded) and where each word starts in it, when the form keeps
    every character's place, as it does in nearly every text (None otherwise)."""
    whole = form(text)
    return (whole, [start for start, _ in spans]) if len(whole) == len(text) else None


def _candidates(text: str, spans: list[tuple[int, int]], form: Callable[[str], str], heads: set[str]) -> list[int]:
    """Return the words whose form begins as one of the heads (the first letters of a term's first word)."""
    found = _forms(text, spans, form)
    if found is None:
        return [n for n, (start, end) in enumerate(spans) if any(form(text[start:end]).startswith(h) for h in heads)]
    whole, starts = found
    pattern = re.compile(r"(?<![^\W_])(?:" + "|".join(re.escape(h) for h in sorted(heads)) + ")")
    return sorted({bisect_left(starts, match.start()) for match in pattern.finditer(whole)
                   if bisect_left(starts, match.start()) < len(starts)
                   and starts[bisect_left(starts, match.start())] == match.start()})


def snippet(text: str, query: Query, size: int = SNIPPET_WORDS) -> str:
    """Return HTML: the part of the text around its first match, every matched word in `<mark>`, the rest escaped."""
    spans = [match.span() for match in _WORD.finditer(text)]
    marked: set[int] = set()
    for exact in (False, True):
        terms = [term for term in query.terms if term.exact == exact]
        if not terms:
            continue
        form: Callable[[str], str] = str.casefold if exact else fold
        wanted = [[w.casefold() for w in term.words] if exact else list(term.folded) for term in terms]
        forms: dict[int, str] = {}

        def word(n: int, form: Callable[[str], str] = form, forms: dict[int, str] = forms) -> str:
            if n not in forms:
                forms[n] = form(text[spans[n][0]:spans[n][1]])
            return forms[n]

        for n in _candidates(text, spans, form, {words[0][:4] for words in wanted}):
            for term_words in wanted:
                span = len(term_words)
                if n + span <= len(spans) and all(_matches(word(n + k), term_words[k]) for k in range(span)):
                    marked.update(range(n, n + span))
    first = min(marked, default=0)
    start_word = max(0, min(first - size // 4, len(spans) - size))
    end_word = min(len(spans), start_word + size)
    pieces = ["…"] if start_word > 0 else []
    cursor = spans[start_word][0] if start_word > 0 else 0
    stop = spans[end_word - 1][1] if end_word < len(spans) else len(text)
    for n in sorted(m for m in marked if start_word <= m < end_word):
        start, end = spans[n]
        pieces.append(escape(text[cursor:start], quote=False))
        pieces.append(f"<mark>{escape(text[start:end], quote=False)}</mark>")
        cursor = end
    pieces.append(escape(text[cursor:stop], quote=False))
    if end_word < len(spans):
        pieces.append("…")
    return "".join(pieces).strip()
