"""Read a Word (.docx) policy: structure from its styles and list numbering, tables and footnotes kept."""
from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import docx
from docx.document import Document as WordDocument
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml import parse_xml
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from events.domain.errors import InvalidInput

from .textformat import BULLET, Block, ParsedPolicy, ReadFile, Tree, line_at, roman_numeral

_HEADING_STYLE = re.compile(r"heading (\d)$", re.IGNORECASE)
_LEVEL_FIELD = re.compile(r"%(\d)")
CELL_SEPARATOR = " | "  # a table's row becomes one paragraph, its cells in order
# Lowercase Cyrillic letters in the order Word counts a russianLower list (no ё, й, ъ, ы, ь).
_RUSSIAN_LETTERS = "абвгдежзиклмнопрстуфхцчшщэюя"


@dataclass(frozen=True)
class _Level:
    start: int
    format: str
    text: str


@dataclass
class _Numbering:
    """A document's numbering definitions and the counters of the lists read so far."""

    levels: dict[str, dict[int, _Level]] = field(default_factory=dict)
    counters: dict[str, dict[int, int]] = field(default_factory=dict)

    def label(self, num_id: str, level: int) -> str | None:
        """Count one more paragraph of list `num_id` at `level` and return its label as Word shows it."""
        levels = self.levels.get(num_id)
        if not levels or level not in levels:
            return None
        counts = self.counters.setdefault(num_id, {})
        counts[level] = counts.get(level, levels[level].start - 1) + 1
        for deeper in [key for key in counts if key > level]:
            del counts[deeper]
        if levels[level].format == "bullet":
            return BULLET
        if levels[level].format == "none":  # the level text as written, with no number in it
            return _LEVEL_FIELD.sub("", levels[level].text).strip() or None

        def field_value(match: re.Match[str]) -> str:
            at = int(match[1]) - 1
            shown = levels.get(at)
            count = counts.get(at, shown.start if shown else 1)
            return _formatted(count, shown.format if shown else "decimal")

        return _LEVEL_FIELD.sub(field_value, levels[level].text).strip() or None


def read_word(data: bytes, name: str) -> ReadFile:
    """Parse a .docx file's body into a title and section tree, refusing a file that is not one."""
    document = _open(data, name)
    numbering = _numbering(document)
    tree = Tree()
    title = ""
    for number, (block_text, style, level, label) in enumerate(_blocks(document, numbering), 1):
        if style == "title" and not title and not tree.sections:
            title = block_text
        elif style == "heading":
            tree.add(Block("heading", line_at(number), block_text, label=label, level=level))
        elif label is not None:
            tree.add(Block("item", line_at(number, indent=level), block_text, label=label))
        else:
            tree.add(Block("paragraph", line_at(number), block_text))
    sections = tree.sections
    for note_number, note in enumerate(_footnotes(document), 1):
        sections.append({"kind": "paragraph", "label": f"[{note_number}]", "title": None, "text": note,
                         "children": []})
    parsed = ParsedPolicy(title, sections, tree.summary("docx"))
    return ReadFile(parsed, "\n".join([*_body_text(document), *_footnotes(document)]))


def _open(data: bytes, name: str) -> WordDocument:
    try:
        return docx.Document(io.BytesIO(data))
    # lxml's XMLSyntaxError is a SyntaxError
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, SyntaxError):
        raise InvalidInput(f"{name} is not a Word document that can be read (a .docx file, not damaged)",
                           field="file") from None


def _blocks(document: WordDocument, numbering: _Numbering) -> Iterator[tuple[str, str, int, str | None]]:
    """Yield each non-empty paragraph (a table row as one) as text, style class, level and list label."""
    for element in document.element.body.iterchildren():
        if element.tag == qn("w:tbl"):
            for row in _rows(element, document):
                yield row, "body", 0, None
            continue
        if element.tag != qn("w:p"):
            continue
        paragraph = Paragraph(element, document)
        text = " ".join(paragraph.text.split())
        style, level = _style_class(paragraph)
        num_id, list_level = _list_place(paragraph, element)
        label = numbering.label(num_id, list_level) if num_id else None  # counted even when empty, as Word does
        if text:
            yield text, style, level if style == "heading" else list_level, label


def _rows(table: Any, document: WordDocument) -> Iterator[str]:
    for row in table.iter(qn("w:tr")):
        cells = [" ".join(" ".join(Paragraph(p, document).text for p in cell.iter(qn("w:p"))).split())
                 for cell in row.findall(qn("w:tc"))]
        text = CELL_SEPARATOR.join(cell for cell in cells if cell)
        if text:
            yield text


def _style_class(paragraph: Paragraph) -> tuple[str, int]:
    """Return whether a paragraph's style (or one it is based on) is the Title, a Heading n, or body text."""
    style = paragraph.style
    while style is not None:
        name = style.name or ""
        if name.lower() == "title":
            return "title", 0
        if match := _HEADING_STYLE.match(name):
            return "heading", int(match[1])
        style = style.base_style
    return "body", 0


def _list_place(paragraph: Paragraph, element: Any) -> tuple[str | None, int]:
    """Return the list (numId) and level a paragraph is numbered in, from itself or its style."""
    holders: list[Any] = [element.find(qn("w:pPr"))]
    style = paragraph.style
    while style is not None:
        holders.append(style.element.find(qn("w:pPr")))
        style = style.base_style
    num_id: str | None = None
    level: int | None = None
    for properties in holders:
        num_pr = properties.find(qn("w:numPr")) if properties is not None else None
        if num_pr is None:
            continue
        if num_id is None and (found := num_pr.find(qn("w:numId"))) is not None:
            num_id = found.get(qn("w:val"))
        if level is None and (found := num_pr.find(qn("w:ilvl"))) is not None:
            level = int(found.get(qn("w:val")) or 0)
    if num_id in (None, "0"):  # numId 0 switches numbering off
        return None, 0
    return num_id, level or 0


def _numbering(document: WordDocument) -> _Numbering:
    try:
        root = document.part.numbering_part.element
    except (KeyError, NotImplementedError):
        return _Numbering()
    abstract: dict[str, dict[int, _Level]] = {}
    for definition in root.findall(qn("w:abstractNum")):
        abstract[definition.get(qn("w:abstractNumId")) or ""] = {
            int(level.get(qn("w:ilvl")) or 0): _level(level) for level in definition.findall(qn("w:lvl"))}
    numbering = _Numbering()
    for num in root.findall(qn("w:num")):
        reference = num.find(qn("w:abstractNumId"))
        levels = dict(abstract.get(reference.get(qn("w:val")) if reference is not None else "", {}))
        for override in num.findall(qn("w:lvlOverride")):
            at = int(override.get(qn("w:ilvl")) or 0)
            if (replaced := override.find(qn("w:lvl"))) is not None:
                levels[at] = _level(replaced)
            if (start := override.find(qn("w:startOverride"))) is not None and at in levels:
                current = levels[at]
                levels[at] = _Level(int(start.get(qn("w:val")) or 1), current.format, current.text)
        numbering.levels[num.get(qn("w:numId")) or ""] = levels
    return numbering


def _level(element: Any) -> _Level:
    def value(tag: str, default: str) -> str:
        found = element.find(qn(tag))
        return (found.get(qn("w:val")) if found is not None else None) or default

    return _Level(int(value("w:start", "1")), value("w:numFmt", "decimal"), value("w:lvlText", ""))


def _formatted(count: int, number_format: str) -> str:
    if number_format in ("lowerLetter", "upperLetter"):
        letters = chr(ord("a") + (count - 1) % 26) * ((count - 1) // 26 + 1)
        return letters.upper() if number_format == "upperLetter" else letters
    if number_format in ("russianLower", "russianUpper"):
        letter = _RUSSIAN_LETTERS[(count - 1) % len(_RUSSIAN_LETTERS)]
        return letter.upper() if number_format == "russianUpper" else letter
    if number_format in ("lowerRoman", "upperRoman"):
        roman = roman_numeral(count)
        return roman.lower() if number_format == "lowerRoman" else roman
    return str(count)


def _body_text(document: WordDocument) -> Iterator[str]:
    """Yield the text of every paragraph of the body in document order, table cells included."""
    for element in document.element.body.iter(qn("w:p")):
        yield Paragraph(element, document).text


def _footnotes(document: WordDocument) -> list[str]:
    """Return the text of each footnote (not the separators Word keeps among them)."""
    for part in document.part.package.iter_parts():
        if str(part.partname) == "/word/footnotes.xml":
            root = parse_xml(part.blob)
            notes = []
            for note in root.findall(qn("w:footnote")):
                if note.get(qn("w:type")) not in (None, "normal"):
                    continue
                text = " ".join("".join(t.text or "" for t in note.iter(qn("w:t"))).split())
                if text:
                    notes.append(text)
            return notes
    return []
