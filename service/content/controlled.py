"""Controlled copies of a version, as PDF or Word: one entry point for the API, the pages and the command line."""
from __future__ import annotations

from typing import Any

from .pdfwrite import controlled_copy_pdf
from .wordwrite import controlled_copy_docx

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def controlled_copy(kind: str, document: dict[str, Any], stamp: dict[str, Any]) -> bytes:
    """Return a controlled copy of a version's document as `kind` (pdf or docx), with its block of details."""
    writer = controlled_copy_pdf if kind == "pdf" else controlled_copy_docx
    return writer(document, stamp)


def file_name(policy_id: str, version: int, kind: str) -> str:
    """Return the name a controlled copy is saved under."""
    return f"{policy_id}-v{version}.{kind}"
