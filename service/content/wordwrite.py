"""Write a controlled copy of a version as a Word file: Word's own styles, list numbering, the details in the header."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Any

import docx
from docx.document import Document as WordDocument
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt

from . import copies
from .textformat import BULLET, is_lead_in, roman_numeral, roman_value

MAX_HEADING_LEVEL = 9
_DECIMAL_TAIL = re.compile(r"(?P<prefix>(?:\d+\.)*)(?P<number>\d+)(?P<suffix>[.)]?)")
_LETTER = re.compile(r"(?P<letter>[^\W\d_])(?P<suffix>[.)])")
_ROMAN = re.compile(r"(?P<roman>[IVXLCDM]+|[ivxlcdm]+)(?P<suffix>[.)])")
_LATIN = "abcdefghijklmnopqrstuvwxyz"
_RUSSIAN = "абвгдежзиклмнопрстуфхцчшщэюя"  # the letters Word's russianLower counts with


@dataclass(frozen=True)
class _Format:
    """How one list level numbers: Word's numFmt, the level text around its number, and where it starts."""

    number_format: str
    prefix: str
    suffix: str
    start: int


def controlled_copy_docx(document: dict[str, Any], stamp: dict[str, Any]) -> bytes:
    """Write a controlled copy of a version as .docx bytes."""
    word = docx.Document()
    word.core_properties.title = document.get("title") or ""
    word.core_properties.keywords = copies.KEYWORD
    word.core_properties.subject = f"{stamp['policy_id']} version {stamp['version']}"
    word.styles["Normal"].font.name = "DejaVu Sans"
    word.styles["Normal"].font.size = Pt(10.5)
    header = word.sections[0].header
    header.is_linked_to_previous = False
    lines = copies.stamp_lines(stamp)
    header.paragraphs[0].text = lines[0]
    for line in lines[1:]:
        header.add_paragraph(line)
    for paragraph in header.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(7.5)
    word.add_paragraph(document.get("title") or "", style="Title")
    _write(word, document.get("sections") or [], heading_level=1, list_level=0)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def _write(word: WordDocument, sections: list[dict[str, Any]], heading_level: int, list_level: int) -> None:
    numbers = _numbering_for(word, sections, list_level)
    for section, num_id in zip(sections, numbers, strict=True):
        children = section.get("children") or []
        if section["kind"] == "heading" and not is_lead_in(section):
            paragraph = word.add_paragraph(section.get("title") or "",
                                           style=f"Heading {min(heading_level, MAX_HEADING_LEVEL)}")
            if num_id is not None:
                _number(paragraph, num_id, list_level)
            if section.get("text"):
                word.add_paragraph(section["text"])
            _write(word, children, heading_level + 1, 0)
            continue
        if section["kind"] == "heading":  # a lead-in: a line ending in a colon over its list
            word.add_paragraph(section.get("title") or "")
            _write(word, children, heading_level, list_level)
            continue
        style = "List Paragraph" if num_id is not None else None
        paragraph = word.add_paragraph(style=style)
        if section.get("title"):
            paragraph.add_run(section["title"]).bold = True
            paragraph.add_run(" ")
        paragraph.add_run(section.get("text") or "")
        if num_id is not None:
            _number(paragraph, num_id, list_level)
        _write(word, children, heading_level, list_level + 1 if num_id is not None else list_level)


def _numbering_for(word: WordDocument, sections: list[dict[str, Any]], level: int) -> list[str | None]:
    """Give the labelled sections of one list a numbering: one list counting on when the labels count on (1., 2.,
    3. or a), b)), else a numbering per label that shows it as written."""
    labelled = [section for section in sections if section.get("label")]
    shared = _sequence([section["label"] for section in labelled])
    numbers: list[str | None] = []
    shared_id = _add_numbering(word, shared, level) if shared is not None and labelled else None
    for section in sections:
        label = section.get("label")
        if not label:
            numbers.append(None)
        elif shared_id is not None:
            numbers.append(shared_id)
        else:
            numbers.append(_add_numbering(word, _Format("decimal", label.replace("%", ""), "", 1), level,
                                          literal=True))
    return numbers


def _sequence(labels: list[str]) -> _Format | None:
    """Return the one numbering that gives these labels in order, if there is one."""
    if not labels:
        return None
    if all(label == BULLET for label in labels):
        return _Format("bullet", BULLET, "", 1)
    first = labels[0]
    candidates: list[tuple[_Format, list[str]]] = []
    if match := _DECIMAL_TAIL.fullmatch(first):
        start = int(match["number"])
        shape = _Format("decimal", match["prefix"], match["suffix"], start)
        candidates.append((shape, [f"{shape.prefix}{start + n}{shape.suffix}" for n in range(len(labels))]))
    if match := _ROMAN.fullmatch(first):
        roman_format = "upperRoman" if match["roman"].isupper() else "lowerRoman"
        start = roman_value(match["roman"].upper())
        shape = _Format(roman_format, "", match["suffix"], start)
        shown = [roman_numeral(start + n) for n in range(len(labels))]
        candidates.append((shape, [(r if roman_format == "upperRoman" else r.lower()) + shape.suffix for r in shown]))
    if match := _LETTER.fullmatch(first):
        letter = match["letter"]
        for alphabet, name in ((_LATIN, "Letter"), (_RUSSIAN, "russian")):
            if letter.lower() in alphabet:
                start = alphabet.index(letter.lower()) + 1
                upper = letter.isupper()
                word_format = (f"{'upper' if upper else 'lower'}Letter" if name == "Letter"
                               else f"russian{'Upper' if upper else 'Lower'}")
                shape = _Format(word_format, "", match["suffix"], start)
                shown = [alphabet[(start - 1 + n) % len(alphabet)] for n in range(len(labels))]
                candidates.append((shape, [(s.upper() if upper else s) + shape.suffix for s in shown]))
    for shape, expected in candidates:
        if expected == labels:
            return shape
    return None


def _add_numbering(word: WordDocument, shape: _Format, level: int, literal: bool = False) -> str:
    """Add a list definition numbering `level` as `shape`, and an instance of it; return the instance's numId."""
    numbering = word.part.numbering_part.element
    abstract_ids = [int(a.get(qn("w:abstractNumId"))) for a in numbering.findall(qn("w:abstractNum"))]
    abstract_id = str(max(abstract_ids, default=0) + 1)
    abstract = _element("w:abstractNum", abstractNumId=abstract_id)
    abstract.append(_element("w:multiLevelType", val="multilevel"))
    for at in range(MAX_HEADING_LEVEL):
        lvl = _element("w:lvl", ilvl=str(at))
        lvl.append(_element("w:start", val=str(shape.start if at == level else 1)))
        if at == level and literal:
            lvl.append(_element("w:numFmt", val="none"))
            lvl.append(_element("w:lvlText", val=shape.prefix))
        elif at == level and shape.number_format == "bullet":
            lvl.append(_element("w:numFmt", val="bullet"))
            lvl.append(_element("w:lvlText", val=BULLET))
        elif at == level:
            lvl.append(_element("w:numFmt", val=shape.number_format))
            lvl.append(_element("w:lvlText", val=f"{shape.prefix}%{level + 1}{shape.suffix}"))
        else:
            lvl.append(_element("w:numFmt", val="decimal"))
            lvl.append(_element("w:lvlText", val=f"%{at + 1}."))
        properties = _element("w:pPr")
        properties.append(_element("w:ind", left=str(567 * (at + 1)), hanging="567"))
        lvl.append(properties)
        abstract.append(lvl)
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)  # every abstractNum comes before the first num
    else:
        numbering.append(abstract)
    num_ids = [int(n.get(qn("w:numId"))) for n in numbering.findall(qn("w:num"))]
    num_id = str(max(num_ids, default=0) + 1)
    num = _element("w:num", numId=num_id)
    num.append(_element("w:abstractNumId", val=abstract_id))
    numbering.append(num)
    return num_id


def _number(paragraph: Any, num_id: str, level: int) -> None:
    properties = paragraph.paragraph_format.element.get_or_add_pPr()
    num_pr = _element("w:numPr")
    num_pr.append(_element("w:ilvl", val=str(level)))
    num_pr.append(_element("w:numId", val=num_id))
    properties.append(num_pr)


def _element(tag: str, **attributes: str) -> Any:
    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(qn(f"w:{name}"), value)
    return element
