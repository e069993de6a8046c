"""Controlled copies of a version, as PDF or Word: one entry point for the API, the pages and the command line."""
from __future__ import annotations

from typing import Any

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def controlled_copy(kind: str, document: dict[str, Any], stamp: dict[str, Any]) -> bytes:
    """Return a controlled copy of a version's document as `kind` (pdf or docx), with its block of details."""
    # Imported here: WeasyPrint and python-docx take seconds to load, which no worker should pay at boot.
    if kind == "pdf":
        from .pdfwrite import controlled_copy_pdf
        return controlled_copy_pdf(document, stamp)
    from .wordwrite import controlled_copy_docx
    return controlled_copy_docx(document, stamp)


def file_name(policy_id: str, version: int, kind: str) -> str:
    """Return the name a controlled copy is saved under."""
    return f"{policy_id}-v{version}.{kind}"
