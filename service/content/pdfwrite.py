"""Print a controlled copy of a version to PDF: laid out by WeasyPrint, DejaVu Sans (every Kyrgyz letter) embedded."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import weasyprint

from . import copies
from .textformat import is_lead_in

FONTS = Path(__file__).resolve().parent / "fonts"


@dataclass(frozen=True)
class _Printed:
    heading: bool
    level: int
    depth: int
    label: str | None
    title: str | None
    text: str
    lead_in: bool


def controlled_copy_html(document: dict[str, Any], stamp: dict[str, Any]) -> str:
    """Return the HTML of a controlled copy: the version's document with its labels, then the block of details."""
    environment = jinja2.Environment(loader=jinja2.PackageLoader("service.content", "templates"),
                                     autoescape=True)
    return environment.get_template("controlled_copy.html").render(
        document=document, blocks=list(_blocks(document.get("sections") or [], 0, 2)),
        stamp_lines=copies.stamp_lines(stamp), keyword=copies.KEYWORD, fonts=FONTS.as_uri(),
        language=stamp["language"])


def controlled_copy_pdf(document: dict[str, Any], stamp: dict[str, Any]) -> bytes:
    """Print a controlled copy of a version as PDF bytes."""
    return bytes(weasyprint.HTML(string=controlled_copy_html(document, stamp), base_url=FONTS.as_uri()).write_pdf())


def _blocks(sections: list[dict[str, Any]], depth: int, level: int) -> Iterator[_Printed]:
    for section in sections:
        children = section.get("children") or []
        lead_in = section["kind"] == "heading" and is_lead_in(section)
        heading = section["kind"] == "heading" and not lead_in
        yield _Printed(heading=heading, level=min(level, 4), depth=depth, label=section.get("label"),
                       title=section.get("title"), text=section.get("text") or "", lead_in=lead_in)
        yield from _blocks(children, depth + 1, level + 1 if heading else level)
