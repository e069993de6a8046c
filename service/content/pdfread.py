"""Read a PDF policy: its text in reading order (pdfplumber), running headers, footers and page numbers dropped."""
from __future__ import annotations

import io
import itertools
import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.pdfparser import PDFSyntaxError
from pdfplumber.utils.exceptions import PdfminerException

from events.domain.errors import InvalidInput

from . import copies
from .textformat import ParsedPolicy, ReadFile, parse_policy_text

# A line that is only a page number: 3, - 3 -, 3 / 12, Page 3 of 12, Бет 3, Страница 3 из 12, Seite 3 von 12.
_PAGE_NUMBER = re.compile(
    r"[-–— ]*(?:(?:page|p\.|бет|страница|стр\.|seite)\s*)?\d+(?:\s*(?:/|of|из|ичинен|von)\s*\d+)?[-–— ]*",
    re.IGNORECASE)
_DIGITS = re.compile(r"\d+")
RUNNING_NUMBERED = 40  # characters: a running line at most this long may carry the page's number
EDGE_LINES = 2  # how many lines at the top and the bottom of a page may be a running header or footer
PARAGRAPH_GAP = 1.5  # a gap this many times the usual line spacing separates blocks with a blank line


@dataclass(frozen=True)
class _Line:
    text: str
    top: float
    bottom: float
    size: float


def read_pdf(data: bytes, name: str) -> ReadFile:
    """Extract a PDF's text, drop what repeats on every page, and parse it like plain text."""
    pages, keywords = _pages(data, name)
    lines = [line for page in _drop_running_lines(pages) for line in page]
    if not lines:
        raise InvalidInput(f"{name} has no text to read; it may be a scanned image (run it through OCR first)",
                           field="file")
    if copies.KEYWORD in keywords:
        # A controlled copy's block of print details says where the copy came from, not what the policy says.
        lines = _without_print_block(lines)
    text = "\n".join(_text_lines(lines))
    parsed = parse_policy_text(text)
    return ReadFile(ParsedPolicy(parsed.title, parsed.sections, replace(parsed.summary, format="pdf")), text)


def _pages(data: bytes, name: str) -> tuple[list[list[_Line]], str]:
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            keywords = str((pdf.metadata or {}).get("Keywords") or "")
            return [_lines(page) for page in pdf.pages], keywords
    except PdfminerException as error:
        cause = error.args[0] if error.args else error
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise InvalidInput(f"{name} is encrypted; save an unprotected copy and import that",
                               field="file") from None
        raise InvalidInput(f"{name} is not a PDF that can be read (damaged or not a PDF)", field="file") from None
    except (PDFSyntaxError, ValueError, KeyError, TypeError):
        raise InvalidInput(f"{name} is not a PDF that can be read (damaged or not a PDF)", field="file") from None


def _lines(page: Any) -> list[_Line]:
    found = []
    for line in page.extract_text_lines(keep_blank_chars=False):
        sizes = [char["size"] for char in line["chars"] if char["text"].strip()]
        text = " ".join(line["text"].split())
        if text:
            found.append(_Line(text, line["top"], line["bottom"], max(sizes, default=0.0)))
    return found


def _drop_running_lines(pages: list[list[_Line]]) -> list[list[_Line]]:
    """Drop page numbers, and lines set apart at the top or bottom of a page that repeat on most pages."""
    def shape(line: _Line) -> str:
        # Only a short line may differ from page to page by its numbers (Page 3, 2024-05-01 rev. 3).
        return _DIGITS.sub("#", line.text) if len(line.text) <= RUNNING_NUMBERED else line.text

    usual = _usual_spacing([line for page in pages for line in page])
    edges = [_edge_lines(page, usual) for page in pages]
    seen = Counter(text for page_edges in edges for text in {shape(line) for line in page_edges})
    running = {text for text, count in seen.items() if len(pages) > 1 and count >= max(2, len(pages) * 0.6)}
    kept = []
    for page, page_edges in zip(pages, edges, strict=True):
        edge = {id(line) for line in page_edges}
        kept.append([line for line in page if id(line) not in edge
                     or (shape(line) not in running and not _PAGE_NUMBER.fullmatch(line.text))])
    return kept


def _edge_lines(page: list[_Line], usual: float) -> list[_Line]:
    """Return the lines at a page's top and bottom that stand apart from the body by a wider gap."""
    found: list[_Line] = []
    for index in range(min(EDGE_LINES, len(page) - 1)):
        if page[index + 1].top - page[index].top > usual * PARAGRAPH_GAP:
            found.extend(page[: index + 1])
    for index in range(1, min(EDGE_LINES, len(page) - 1) + 1):
        if page[-index].top - page[-index - 1].top > usual * PARAGRAPH_GAP:
            found.extend(page[-index:])
    if len(page) == 1:
        found.extend(page)
    return found


def _usual_spacing(lines: list[_Line]) -> float:
    spacing = Counter(round(b.top - a.top) for a, b in itertools.pairwise(lines) if b.top > a.top)
    return spacing.most_common(1)[0][0] if spacing else 14.0


def _without_print_block(lines: list[_Line]) -> list[_Line]:
    openings = [index for index, line in enumerate(lines) if line.text.startswith(copies.OPENING)]
    return lines[:openings[-1]] if openings else lines


def _text_lines(lines: list[_Line]) -> list[str]:
    """Lay the lines out as plain text: a larger type's lines joined into one, blank lines at wide gaps."""
    if not lines:
        return []
    body_size = Counter(round(line.size) for line in lines).most_common(1)[0][0]
    usual = _usual_spacing(lines)
    out: list[str] = []
    previous: _Line | None = None
    for line in lines:
        larger = round(line.size) > body_size
        if previous is not None:
            same_heading = larger and round(previous.size) == round(line.size) and line.top > previous.top
            if same_heading and line.top - previous.bottom < line.size:
                out[-1] = f"{out[-1]} {line.text}"
                previous = line
                continue
            wide = line.top - previous.top > usual * PARAGRAPH_GAP or line.top < previous.top
            if wide or larger or round(previous.size) > body_size:
                out.append("")
        out.append(line.text)
        previous = line
    return out
