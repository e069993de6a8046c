"""Search text as people type it: words in any script, folding for keyboards without Kyrgyz letters, snippets.

Pure: no database. The same rules split what is indexed and what is asked, on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import unicodedata
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


def fold(text: str) -> str:
    """Return text as a keyboard without Kyrgyz letters or diacritics would type it, in lower case."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_KEYBOARD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LNM"


def words(text: str) -> list[str]:
    """Split text into words: runs of letters, digits and marks, in any script (everything else separates)."""
    found: list[str] = []
    current: list[str] = []
    for char in text:
        if _word_char(char):
            current.append(char)
        elif current:
            found.append("".join(current))
            current = []
    if current:
        found.append("".join(current))
    return found


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


def _matches(word: str, term_word: str, exact: bool) -> bool:
    """Whether a word of the text is one a term's word finds: its prefix, or the same stem."""
    have, want = (word.casefold(), term_word.casefold()) if exact else (fold(word), fold(term_word))
    if have.startswith(want):
        return True
    # A stemmer finds `policy` for `policies` and `политика` for `политики`: the same word but its ending.
    common = 0
    for a, b in zip(have, want, strict=False):
        if a != b:
            break
        common += 1
    return common >= 4 and common >= len(want) - 3 and common >= len(have) - 3


def snippet(text: str, query: Query, size: int = SNIPPET_WORDS) -> str:
    """Return HTML: the part of the text around its first match, every matched word in `<mark>`, the rest escaped."""
    tokens: list[tuple[str, bool]] = []  # (piece, is a word)
    current: list[str] = []
    other: list[str] = []
    for char in text:
        if _word_char(char):
            if other:
                tokens.append(("".join(other), False))
                other = []
            current.append(char)
        else:
            if current:
                tokens.append(("".join(current), True))
                current = []
            other.append(char)
    if current:
        tokens.append(("".join(current), True))
    if other:
        tokens.append(("".join(other), False))
    word_at = [i for i, (_, is_word) in enumerate(tokens) if is_word]
    marked = _marked(tokens, word_at, query)
    first = next((n for n, i in enumerate(word_at) if i in marked), 0)
    start_word = max(0, first - size // 4)
    end_word = min(len(word_at), start_word + size)
    start_word = max(0, end_word - size)
    start = word_at[start_word] if start_word > 0 else 0
    end = word_at[end_word - 1] + 1 if end_word < len(word_at) else len(tokens)
    pieces = ["…"] if start_word > 0 else []
    for i in range(start, end):
        piece = escape(tokens[i][0], quote=False)
        pieces.append(f"<mark>{piece}</mark>" if i in marked else piece)
    if end_word < len(word_at):
        pieces.append("…")
    return "".join(pieces).strip()


def _marked(tokens: list[tuple[str, bool]], word_at: list[int], query: Query) -> set[int]:
    """Return the token indexes of the words the query matched: each word of a term, every phrase in full."""
    marked: set[int] = set()
    for term in query.terms:
        exact = term.exact
        span = len(term.words)
        for n in range(len(word_at) - span + 1):
            if all(_matches(tokens[word_at[n + k]][0], term.words[k], exact) for k in range(span)):
                marked.update(word_at[n:n + span])
    return marked
