"""PDF files for the tests, printed from HTML by WeasyPrint (and encrypted by pypdf), never written by hand."""
from __future__ import annotations

import html
import io
from typing import Any

import pypdf
import weasyprint

from service.content.textformat import parse_policy_text
from tests.support import SEED_POLICY

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><style>
@page {{ size: A5; margin: 2cm 1.5cm;
  @top-center {{ content: "{header}"; font-size: 9pt }}
  @bottom-right {{ content: "Бет " counter(page) " / " counter(pages); font-size: 9pt }} }}
body {{ font-family: "DejaVu Sans", sans-serif; font-size: 10pt }}
h1 {{ font-size: 16pt }}
.item {{ margin: 0 0 0 1.5em }}
</style></head><body>{body}</body></html>"""


def printed(body: str, header: str = "", lang: str = "ky") -> bytes:
    """Print an HTML body on A5 pages with a running header and page numbers."""
    return weasyprint.HTML(string=PAGE.format(body=body, header=html.escape(header), lang=lang)).write_pdf()


def _html(sections: list[dict[str, Any]]) -> str:
    out = []
    for section in sections:
        words = " ".join(part for part in (section["label"], section["title"], section["text"]) if part)
        css = "item" if section["kind"] == "item" else ""
        out.append(f'<p class="{css}">{html.escape(words)}</p>')
        out.append(_html(section["children"]))
    return "".join(out)


def seed_pdf() -> bytes:
    """The seed policy printed: its title, lead-ins, bullets and roman items over several pages."""
    seed = parse_policy_text(SEED_POLICY.read_text(encoding="utf-8"))
    return printed(f"<h1>{html.escape(seed.title)}</h1>{_html(seed.sections)}",
                   header="ОшМУ · Сапат саясаты")


def two_pages_pdf() -> bytes:
    """A two-page policy whose running header and page numbers must not become text."""
    paragraphs = "".join(f"<p>{n}. Пункт {n}: университет ар бир окуу жылында программаларды текшерет.</p>"
                         for n in range(1, 31))
    return printed(f"<h1>Текшерүү тартиби</h1>{paragraphs}", header="Ички документ — көчүрмө")


def image_only_pdf() -> bytes:
    """A page with a drawing and no text, as a scan without OCR looks to a reader."""
    return printed('<div style="width:8cm;height:8cm;background:#345;border-radius:1cm"></div>')


def encrypted(pdf: bytes, password: str = "сыр") -> bytes:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    writer = pypdf.PdfWriter()
    for page in reader.pages:
        writer.add_page(page)
    writer.encrypt(password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
