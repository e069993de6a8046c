"""Parse a policy from PDF-extracted text or Markdown into sections, and render sections back as text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

Section = dict[str, Any]
Document = dict[str, Any]
BlockKind = Literal["heading", "item", "paragraph"]
SourceFormat = Literal["text", "markdown", "docx", "pdf"]

BULLET = "•"

# A block whose text ends like this (perhaps inside closing quotes or brackets) has finished its
# sentence, so the next line of PDF text starts a new block rather than continuing it.
_CLOSED = re.compile(r"[.;:!?][»\"”’')\]]*$")
_HYPHEN_BREAK = re.compile(r"\w[-\u2010]$")
_SYMBOL_BULLET = re.compile(r"[•\uf0b7] ?(?P<text>.*)$")
_DASH_BULLET = re.compile(r"[-*+–] (?P<text>.*)$")
_ROMAN = r"(?=[IVXLCDM])M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})\."
_DECIMAL = r"\d{1,3}(?:\.\d{1,3})*[.)]|\d{1,3}(?:\.\d{1,3})+"
# A lowercase letter with a dot (a., б.) is a label only in Latin and Cyrillic, where lists use it.
_LETTER = r"[^\W\d_]\)|[a-zа-яёүөңәғқұһі]\."
_NUMBERED = re.compile(rf"(?P<label>{_ROMAN}|{_DECIMAL}|{_LETTER})(?: (?P<text>.*))?$")
_NUMBER_PATH = re.compile(r"\d{1,3}(?:\.\d{1,3})*\.?")
_MD_HEADING = re.compile(r"(?P<hashes>#{1,6}) (?P<text>.+?)(?: #+)?$")
_MD_BREAK = re.compile(r"(?:[-*_] ?){3,}$")
_OPENERS = "«\"“„'([*_"
_SENTENCE_END = re.compile(r"[.;!?,][»\"”’')\]]*$")
_HEADING_STOP = re.compile(r"[.;:!?,\-–—][»\"”’')\]]*$")
_ROMAN_LABEL = re.compile(_ROMAN)
_FIRST_LETTERS = frozenset("aаAА")
MAX_TITLE_LINE = 200  # characters: a longer first line is a paragraph, not a title
WRAPPED_LINE = 60  # characters: a first line this long may be a paragraph wrapped onto the next
MAX_HEADING = 100  # characters and words of a line that stands alone as a heading
MAX_HEADING_WORDS = 12


@dataclass(frozen=True)
class ImportSummary:
    """What the parser found, for a person to check an import at a glance.

    `unclassified` lists the line numbers (1-based) of paragraphs that do not open like a sentence
    (a lowercase word or a stray symbol): most likely a marker or a continuation it could not place.
    """

    format: SourceFormat
    headings: int
    paragraphs: int
    items: int
    max_depth: int
    unclassified: tuple[int, ...]


@dataclass(frozen=True)
class ParsedPolicy:
    """A policy's title and section tree as parsed from text, with a summary of the import."""

    title: str
    sections: list[Section]
    summary: ImportSummary

    def document(self) -> Document:
        """Return the title and sections as a document dict."""
        return {"title": self.title, "sections": self.sections}


@dataclass(frozen=True)
class ReadFile:
    """A Word or PDF file read: its parse, and the text it was parsed from in reading order, for the check that
    no word is lost."""

    parsed: ParsedPolicy
    text: str


@dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    content: str


@dataclass(frozen=True)
class _Marker:
    label: str
    text: str
    weak: bool


@dataclass
class Block:
    """Consecutive lines forming one section, before the section is placed in the tree."""

    kind: BlockKind
    line: _Line
    text: str
    label: str | None = None
    level: int = 0
    weak: bool = False
    standalone: bool = False  # a line alone between blank lines that reads as a heading
    numbered: int = 0  # a numbered heading of plain text: its depth (1. is 1, 1.1. is 2)

    def extend(self, piece: str) -> None:
        self.text = _join(self.text, piece)


def parse_policy_text(text: str) -> ParsedPolicy:
    """Parse plain text extracted from a PDF, or Markdown, into a title and a section tree."""
    # Blank input gives an empty title and no sections rather than an error, so that no input can
    # make an import fail; the summary (all zeros) shows there was nothing to import.
    lines = _lines(text)
    markdown = any(_MD_HEADING.match(line.content) for line in lines)
    first = next((index for index, line in enumerate(lines) if line.content), len(lines))
    title = _title(lines, first, markdown) if first < len(lines) else None
    rest = lines[first + 1:] if title is not None else lines[first:]
    tree = Tree()
    for block in _markdown_blocks(rest) if markdown else _text_blocks(rest):
        tree.add(block)
    return ParsedPolicy(title or "", tree.sections, tree.summary("markdown" if markdown else "text"))


def render_txt(document: Document) -> str:
    """Render a document as plain text, one block a line, that parse_policy_text reads back."""
    # Plain text carries only what the text heuristic reads back: blocks whose text ends a
    # sentence, lead-in headings ending in a colon over their items, and nesting by decimal labels
    # (1. > 1.1.). Other headings are written as their title line and other nesting is flattened.
    lines = [document.get("title") or ""]
    for section in _walk(document.get("sections") or []):
        lines.extend(_txt_lines(section))
    return "\n\n".join(lines) + "\n"


def render_md(document: Document) -> str:
    """Render a document as Markdown that parse_policy_text reads back."""
    # Headings become ##, ###… by depth and own everything up to the next heading, so a section
    # after a heading's subtree cannot be written back at the heading's level. Nested items are
    # indented under their parent.
    blocks = [f"# {document.get('title') or ''}"]
    blocks.extend(_md_blocks(document.get("sections") or [], 2, ""))
    return "\n\n".join(blocks) + "\n"


def _lines(text: str) -> list[_Line]:
    # A byte-order mark is an encoding artefact, never part of the title.
    raw_lines = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [_Line(number, _indent(raw), " ".join(raw.split())) for number, raw in enumerate(raw_lines, 1)]


def line_at(number: int, indent: int = 0) -> _Line:
    """Return the place of a block read from elsewhere than text: its ordinal and its list level as indent."""
    return _Line(number, indent, "")


def _indent(raw: str) -> int:
    expanded = raw.expandtabs(4)
    return len(expanded) - len(expanded.lstrip())


def _title(lines: list[_Line], first: int, markdown: bool) -> str | None:
    """Return the title the first line gives, or None when that line is already the policy's text."""
    content = lines[first].content
    heading = _MD_HEADING.match(content) if markdown else None
    if heading:
        return heading["text"] if len(heading["hashes"]) == 1 else None
    following = next((line.content for line in lines[first + 1:] if line.content), "")
    # A title is short, ends no sentence and is no list item; a line as long as a wrapped one that the
    # next line goes on from in lowercase is the first line of a paragraph.
    wrapped = len(content) > WRAPPED_LINE and following[:1].islower()
    looks_like_title = (
        len(content) <= MAX_TITLE_LINE and not _SENTENCE_END.search(content)
        and _match_marker(content, markdown) is None and not wrapped
    )
    return content if looks_like_title else None


def _is_heading_like(text: str) -> bool:
    """Tell whether a block reads as a heading: short, capitalised, ending no sentence."""
    return (0 < len(text) <= MAX_HEADING and len(text.split()) <= MAX_HEADING_WORDS
            and not _HEADING_STOP.search(text) and _opens_like_sentence(text))


def _match_marker(content: str, markdown: bool) -> _Marker | None:
    # U+F0B7 is how a Symbol-font • comes out of a PDF, and -, *, + and – are other spellings of
    # a bullet: the glyph is typography, not content, so every bullet's label is •.
    if match := _SYMBOL_BULLET.match(content):
        return _Marker(BULLET, match["text"], weak=False)
    if match := _DASH_BULLET.match(content):
        # In PDF text a line may start with a dash because a wrapped sentence goes on after a
        # spaced dash, so there a dash is only a weak sign of an item; in Markdown it is syntax.
        return _Marker(BULLET, match["text"], weak=not markdown)
    if match := _NUMBERED.match(content):
        return _Marker(match["label"], match["text"] or "", weak=False)
    return None


# PDF text: where does a block end? Blank lines say nothing (extraction puts them between the
# pieces of one wrapped paragraph), so a line continues the current block unless
#   - the block already ends a sentence (. ; : ! ?, perhaps inside closing quotes or brackets),
#   - the line starts an item (•, U+F0B7, I., 1., 1.1., 1), a)); a dash (- – * +) starts one only
#     after another dash item, as it may otherwise be a spaced dash whose sentence wrapped,
#   - or it is a lead-in: it ends in a colon and does not start in lowercase.
# A block ending in a colon becomes a lead-in heading, and the items after it are its children
# until a paragraph or another heading closes the list. Items nest by decimal label (1.1. in 1.).
def _text_blocks(lines: list[_Line]) -> list[Block]:
    """Group lines of PDF text into blocks."""
    blocks: list[Block] = []
    for index, line in enumerate(lines):
        if not line.content:
            continue
        current = blocks[-1] if blocks else None
        marker = _match_marker(line.content, markdown=False)
        if marker is None and _stands_alone(lines, index, current):
            blocks.append(Block("paragraph", line, line.content, standalone=True))
        elif current is not None and not _starts_block(current, line.content, marker):
            current.extend(line.content)
        else:
            blocks.append(_new_block(line, marker))
    return [_numbered_heading(block, blocks[index + 1] if index + 1 < len(blocks) else None)
            for index, block in enumerate(blocks)]


def _stands_alone(lines: list[_Line], index: int, current: Block | None) -> bool:
    """Tell whether a line is a heading on its own: blank lines around it, closing a list or opening one."""
    # In PDF text a wrapped line is between blank lines too, so the line must also read as a heading,
    # the next line must not go on in lowercase, and either a list item comes before it (whose text
    # has ended) or a list item comes after it.
    line = lines[index]
    before = lines[index - 1].content if index > 0 else ""
    after = lines[index + 1].content if index + 1 < len(lines) else ""
    following = next((other.content for other in lines[index + 1:] if other.content), "")
    following_item = _match_marker(following, markdown=False) is not None
    if before or after or not _is_heading_like(line.content) or (following[:1].islower() and not following_item):
        return False
    if current is None or current.kind == "item":
        return current is not None or following_item
    return following_item and bool(_CLOSED.search(current.text))


def _numbered_heading(block: Block, following: Block | None) -> Block:
    """Make a numbered block that reads as a heading and opens a group (1. Жалпы жоболор, then 1.1.) a heading."""
    if block.kind != "item" or not _is_heading_like(block.text) or following is None:
        return block
    depth = len(_number_path(block.label)) or (1 if _ROMAN_LABEL.fullmatch(block.label or "") else 0)
    if following.kind != "item":
        opens_group = False
    elif _style(following.label) != _style(block.label):
        opens_group = _opens_below(following.label, block.label)
    else:
        opens_group = _starts_sequence(following.label)  # 2. Мақсаттар, then a list from 1. again
    if depth and (opens_group or (following.kind == "paragraph" and block.standalone)):
        return Block("heading", block.line, block.text, label=block.label, level=depth, numbered=depth)
    return block


def _opens_below(child: str | None, parent: str | None) -> bool:
    child_path, parent_path = _number_path(child), _number_path(parent)
    if child_path and parent_path:
        return len(child_path) > len(parent_path) and child_path[: len(parent_path)] == parent_path
    return _starts_sequence(child)


def _starts_block(current: Block, content: str, marker: _Marker | None) -> bool:
    """Tell whether a PDF text line opens a new block instead of continuing the current one."""
    if _CLOSED.search(current.text):
        return True
    if marker is not None:
        return not marker.weak or current.weak
    return _is_lead_in_line(content)


def _is_lead_in_line(content: str) -> bool:
    # A lowercase start means a wrapped sentence that merely ends in a colon, not a new lead-in.
    return content.endswith(":") and not content[0].islower()


def _markdown_blocks(lines: list[_Line]) -> list[Block]:
    """Group Markdown lines into blocks, ended by blank lines and headings as Markdown has it."""
    blocks: list[Block] = []
    current: Block | None = None
    for line in lines:
        heading = _MD_HEADING.match(line.content)
        marker = _match_marker(line.content, markdown=True)
        if not line.content or _MD_BREAK.match(line.content):
            current = None
        elif heading:
            blocks.append(_heading_block(line, len(heading["hashes"]), heading["text"]))
            current = None
        elif current is not None and marker is None:
            current.extend(line.content)
        else:
            current = _new_block(line, marker)
            blocks.append(current)
    return blocks


def _heading_block(line: _Line, level: int, text: str) -> Block:
    numbered = _NUMBERED.match(text)
    if numbered and numbered["text"]:
        return Block("heading", line, numbered["text"], label=numbered["label"], level=level)
    return Block("heading", line, text, level=level)


def _new_block(line: _Line, marker: _Marker | None) -> Block:
    if marker is None:
        return Block("paragraph", line, line.content)
    return Block("item", line, marker.text, label=marker.label, weak=marker.weak)


def _join(text: str, piece: str) -> str:
    """Join a wrapped line onto the text before it."""
    if not text:
        return piece
    # A word broken after its hyphen (илимий- / педагогикалык) is one hyphenated compound, while a
    # spaced dash (университеттен - / дүйнөлүк) keeps the space that followed it.
    if _HYPHEN_BREAK.search(text):
        return text + piece
    return f"{text} {piece}"


class Tree:
    """Place blocks into the section tree, keeping track of the open headings and list."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.unclassified: list[int] = []
        self._headings: list[tuple[int, Section, int]] = []
        self._lead_in: Section | None = None
        self._items: list[tuple[Block, Section]] = []

    def add(self, block: Block) -> None:
        if block.kind == "heading":
            self._add_heading(block)
        elif block.kind == "item" and block.text:
            self._add_item(block)
        elif block.kind == "paragraph" and (block.text.endswith(":") or block.standalone):
            self._add_lead_in(block)
        else:
            self._add_paragraph(block)

    def summary(self, source_format: SourceFormat) -> ImportSummary:
        kinds = [section["kind"] for section in _walk(self.sections)]
        return ImportSummary(
            format=source_format,
            headings=kinds.count("heading"),
            paragraphs=kinds.count("paragraph"),
            items=kinds.count("item"),
            max_depth=_depth(self.sections),
            unclassified=tuple(self.unclassified),
        )

    def _container(self) -> list[Section]:
        return self._headings[-1][1]["children"] if self._headings else self.sections

    def _close_list(self) -> None:
        self._lead_in = None
        self._items = []

    def _add_heading(self, block: Block) -> None:
        while self._headings and self._headings[-1][0] >= block.level:
            self._headings.pop()
        section = _section("heading", block.label, block.text, "")
        self._container().append(section)
        self._headings.append((block.level, section, block.numbered))
        self._close_list()

    def _add_lead_in(self, block: Block) -> None:
        self._close_list()
        self._lead_in = _section("heading", None, block.text, "")
        self._container().append(self._lead_in)

    def _add_item(self, block: Block) -> None:
        self._close_numbered_headings(block)
        while self._items:
            top = self._items[-1][0]
            if _nests_under(block, top):
                break
            self._items.pop()
            if top.line.indent == block.line.indent and _style(top.label) == _style(block.label):
                break  # the next item of the same list: a sibling of the one popped
        if self._items:
            siblings = self._items[-1][1]["children"]
        else:
            siblings = self._lead_in["children"] if self._lead_in else self._container()
        section = _section("item", block.label, None, block.text)
        siblings.append(section)
        self._items.append((block, section))

    def _close_numbered_headings(self, block: Block) -> None:
        """Close the numbered headings of plain text that an item numbered at their depth follows (2. after 1.)."""
        path = _number_path(block.label)
        if not path or path[-1] == 1 or any(_style(open_item.label) == _style(block.label)
                                            for open_item, _ in self._items):
            return  # not decimal, a list restarting at 1 inside the group, or the next item of that list
        while self._headings and self._headings[-1][2] >= len(path):
            self._headings.pop()
            self._close_list()

    def _add_paragraph(self, block: Block) -> None:
        # A marker with no text after it is kept as written rather than dropped as an empty item.
        text = block.text if block.kind == "paragraph" else block.line.content
        self._close_list()
        self._container().append(_section("paragraph", None, None, text))
        if block.kind != "paragraph" or not _opens_like_sentence(text):
            self.unclassified.append(block.line.number)


def _section(kind: str, label: str | None, title: str | None, text: str) -> Section:
    return {"kind": kind, "label": label, "title": title, "text": text, "children": []}


def _nests_under(child: Block, parent: Block) -> bool:
    if child.line.indent != parent.line.indent:
        return child.line.indent > parent.line.indent
    child_path, parent_path = _number_path(child.label), _number_path(parent.label)
    if parent_path and len(child_path) > len(parent_path):
        return child_path[: len(parent_path)] == parent_path
    # An item ending in a colon opens a list of its own: items of another style (а), б) under 1.1.),
    # or a list restarting at 1 or a.
    return parent.text.endswith(":") and (
        _style(child.label) != _style(parent.label) or _starts_sequence(child.label))


def _style(label: str | None) -> tuple[str, int, str]:
    """Return how a label numbers: bullets, roman, decimal at a depth, or letters, and its closing mark."""
    if label is None or label == BULLET:
        return ("bullet", 0, "")
    if _ROMAN_LABEL.fullmatch(label):
        return ("roman", 0, "")
    if path := _number_path(label):
        return ("decimal", len(path), label[-1] if len(path) == 1 else "")
    if label[:1].isdigit():
        return ("decimal", 1, label[-1])
    return ("letter", 0, label[-1])


def _starts_sequence(label: str | None) -> bool:
    if label is None:
        return False
    path = _number_path(label) or ((int(label[:-1]),) if label[:-1].isdigit() else ())
    return (bool(path) and path[-1] == 1) or (len(label) == 2 and label[0] in _FIRST_LETTERS)


def _number_path(label: str | None) -> tuple[int, ...]:
    if label is None or not _NUMBER_PATH.fullmatch(label):
        return ()
    return tuple(int(part) for part in label.rstrip(".").split("."))


def _opens_like_sentence(text: str) -> bool:
    first = text.lstrip(_OPENERS)[:1]
    return first.isalnum() and not first.islower()


def _walk(sections: list[Section]) -> Iterator[Section]:
    for section in sections:
        yield section
        yield from _walk(section.get("children") or [])


def _depth(sections: list[Section]) -> int:
    return max((1 + _depth(section["children"]) for section in sections), default=0)


def _words(*parts: str | None) -> str:
    return " ".join(part for part in parts if part)


def _txt_lines(section: Section) -> list[str]:
    if section["kind"] == "heading":
        lines = [_words(section.get("label"), section.get("title")), section.get("text") or ""]
        return [line for line in lines if line]
    label = section.get("label") or (BULLET if section["kind"] == "item" else None)
    return [_words(label, section.get("title"), section.get("text"))]


def _md_blocks(sections: list[Section], level: int, indent: str) -> list[str]:
    return [block for section in sections for block in _md_section(section, level, indent)]


def _md_section(section: Section, level: int, indent: str) -> list[str]:
    children = section.get("children") or []
    if section["kind"] == "heading" and is_lead_in(section):
        # As a # heading a lead-in would also take in the paragraphs after its list.
        return [indent + section["title"], *_md_blocks(children, level, indent)]
    if section["kind"] == "heading":
        hashes = "#" * min(level, 6)
        head = f"{hashes} {_words(section.get('label'), section.get('title'))}"
        text = [indent + section["text"]] if section.get("text") else []
        return [head, *text, *_md_blocks(children, level + 1, indent)]
    title = f"**{section['title']}**" if section.get("title") else None
    if section["kind"] == "item":
        marker = "-" if section.get("label") in (None, "", BULLET) else section["label"]
        line = indent + _words(marker, title, section.get("text"))
        return [line, *_md_blocks(children, level, indent + " " * (len(marker) + 1))]
    return [indent + _words(section.get("label"), title, section.get("text")), *_md_blocks(children, level, indent)]


def is_lead_in(section: Section) -> bool:
    """Tell whether a heading is a lead-in: a line ending in a colon over a list of items, and nothing else."""
    return (
        not section.get("label")
        and not section.get("text")
        and (section.get("title") or "").endswith(":")
        and all(child["kind"] == "item" for child in section.get("children") or [])
    )


_NUMERALS = [(1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"), (90, "XC"), (50, "L"), (40, "XL"),
             (10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]


def roman_numeral(number: int) -> str:
    """Write a positive number in upper-case Roman numerals (what Word shows for a roman-numbered list)."""
    out = []
    for value, numeral in _NUMERALS:
        while number >= value:
            out.append(numeral)
            number -= value
    return "".join(out)


def roman_value(numeral: str) -> int:
    """Read upper-case Roman numerals back as a number."""
    values = {letter: value for value, letter in _NUMERALS if len(letter) == 1}
    total = 0
    for index, letter in enumerate(numeral):
        value = values[letter]
        following = values[numeral[index + 1]] if index + 1 < len(numeral) else 0
        total += -value if value < following else value
    return total
