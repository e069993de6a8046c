"""Word files for the tests, written by python-docx with Word's own styles and numbering definitions."""
from __future__ import annotations

import io
from typing import Any

import docx
from docx.document import Document
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.text.paragraph import Paragraph

from service.content.textformat import parse_policy_text
from tests.support import SEED_POLICY


def _element(tag: str, **attributes: str) -> Any:
    element = OxmlElement(tag)
    for name, value in attributes.items():
        element.set(qn(f"w:{name}"), value)
    return element


def add_list(document: Document, levels: list[tuple[str, str]]) -> str:
    """Define a multilevel list, one (numFmt, lvlText) per level such as ("decimal", "%1.%2."); return its numId."""
    numbering = document.part.numbering_part.element
    abstract_id = str(len(numbering.findall(qn("w:abstractNum"))) + 100)
    abstract = _element("w:abstractNum", abstractNumId=abstract_id)
    abstract.append(_element("w:multiLevelType", val="multilevel"))
    for level, (number_format, text) in enumerate(levels):
        lvl = _element("w:lvl", ilvl=str(level))
        lvl.append(_element("w:start", val="1"))
        lvl.append(_element("w:numFmt", val=number_format))
        lvl.append(_element("w:lvlText", val=text))
        p_pr = _element("w:pPr")
        p_pr.append(_element("w:ind", left=str(720 * (level + 1)), hanging="360"))
        lvl.append(p_pr)
        abstract.append(lvl)
    first_num = numbering.find(qn("w:num"))
    if first_num is not None:
        first_num.addprevious(abstract)  # the schema puts every abstractNum before the nums
    else:
        numbering.append(abstract)
    num_id = str(max([int(n.get(qn("w:numId"))) for n in numbering.findall(qn("w:num"))] or [0]) + 1)
    num = _element("w:num", numId=num_id)
    num.append(_element("w:abstractNumId", val=abstract_id))
    numbering.append(num)
    return num_id


def numbered(document: Document, text: str, num_id: str, level: int, style: str = "List Paragraph") -> Paragraph:
    """Add a paragraph numbered in list `num_id` at `level`."""
    paragraph = document.add_paragraph(text, style=style)
    num_pr = _element("w:numPr")
    num_pr.append(_element("w:ilvl", val=str(level)))
    num_pr.append(_element("w:numId", val=num_id))
    paragraph._p.get_or_add_pPr().append(num_pr)
    return paragraph


def saved(document: Document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def seed_docx() -> bytes:
    """The seed policy as a quality office keeps it in Word: a Title, lead-in lines, bulleted and roman lists."""
    seed = parse_policy_text(SEED_POLICY.read_text(encoding="utf-8"))
    document = docx.Document()
    document.add_paragraph(seed.title, style="Title")
    roman = add_list(document, [("upperRoman", "%1.")])
    for section in seed.sections:
        if section["kind"] == "heading":
            document.add_paragraph(section["title"])
            for item in section["children"]:
                document.add_paragraph(item["text"], style="List Bullet")
        elif section["kind"] == "item":
            numbered(document, section["text"], roman, 0)
        else:
            document.add_paragraph(section["text"])
    return saved(document)


RUSSIAN_LEVELS = [("decimal", "%1."), ("decimal", "%1.%2."), ("russianLower", "%3)")]
ENGLISH_LEVELS = [("decimal", "%1."), ("decimal", "%1.%2."), ("lowerLetter", "%3)")]


def levels_docx(language: str) -> bytes:
    """A policy numbered 1. / 1.1. / а) (Russian) or a) (English): numbered headings, items, a table, a footnote-free
    body."""
    texts = {
        "ru": ("Политика в области качества", "Общие положения", "Политика распространяется на:",
               ["студентов;", "преподавателей;", "сотрудников."], "Настоящая политика определяет цели.", "Цели",
               "Университет обеспечивает качество обучения.", ("Роль", "Ответственность")),
        "en": ("Quality policy", "General provisions", "The policy covers:",
               ["students;", "teaching staff;", "other staff."], "This policy sets out the aims.", "Aims",
               "The university keeps teaching to its standards.", ("Role", "Responsibility")),
    }[language]
    title, general, covers, people, aims_text, aims, keeps, header = texts
    document = docx.Document()
    document.add_paragraph(title, style="Title")
    levels = add_list(document, RUSSIAN_LEVELS if language == "ru" else ENGLISH_LEVELS)
    numbered(document, general, levels, 0, style="Heading 1")
    numbered(document, aims_text, levels, 1)
    numbered(document, covers, levels, 1)
    for person in people:
        numbered(document, person, levels, 2)
    numbered(document, aims, levels, 0, style="Heading 1")
    numbered(document, keeps, levels, 1)
    table = document.add_table(rows=2, cols=2)
    for column, text in enumerate(header):
        table.cell(0, column).text = text
    table.cell(1, 0).text = "QA"
    table.cell(1, 1).text = "ISO 9001"
    return saved(document)


def with_footnote(text: str, note: str) -> bytes:
    """A policy whose paragraph carries a footnote, the footnotes part made with python-docx's package API."""
    from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
    from docx.opc.packuri import PackURI
    from docx.opc.part import XmlPart

    document = docx.Document()
    document.add_paragraph("Саясат", style="Title")
    paragraph = document.add_paragraph(text)
    reference = _element("w:r")
    reference.append(_element("w:footnoteReference", id="1"))
    paragraph._p.append(reference)
    footnotes = _element("w:footnotes")
    for number, kind, words in ((-1, "separator", ""), (0, "continuationSeparator", ""), (1, None, note)):
        footnote = _element("w:footnote", id=str(number), **({"type": kind} if kind else {}))
        body = _element("w:p")
        run = _element("w:r")
        shown = _element("w:t")
        shown.text = words
        run.append(shown)
        body.append(run)
        footnote.append(body)
        footnotes.append(footnote)
    part = XmlPart(PackURI("/word/footnotes.xml"), CONTENT_TYPE.WML_FOOTNOTES, footnotes, document.part.package)
    document.part.relate_to(part, RELATIONSHIP_TYPE.FOOTNOTES)
    return saved(document)
