"""Import a policy from text: read and parse a file, create the policy with its sections, adopt it if asked."""
from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from events.application import Context, Ledger
from events.domain import commands as cmd
from events.domain.document import validate_section_fields
from events.domain.errors import InvalidInput
from events.domain.policy import Actor
from events.domain.rules import (
    LANGUAGE,
    MAX_DOCUMENT_TEXT,
    MAX_SECTIONS_PER_CALL,
    MAX_TITLE,
    POLICY_ID,
    ApprovalRule,
    check_document,
    check_section,
)

from .language import detect_language
from .textformat import ImportSummary, ParsedPolicy, parse_policy_text
from .wordcheck import check_no_word_lost, words

DEFAULT_REVIEW_INTERVAL_DAYS = 365
# A file larger than this cannot become a policy: a document holds at most MAX_DOCUMENT_TEXT characters,
# each at most 4 bytes of UTF-8, and a file's markup is a small share of it.
MAX_FILE_BYTES = 4 * MAX_DOCUMENT_TEXT


def check_policy_id(policy_id: str) -> None:
    """Refuse, before any file is read, an id the policy aggregate would refuse (it appears in URLs)."""
    if not POLICY_ID.fullmatch(policy_id):
        raise InvalidInput(f"policy id {policy_id!r} must be 2 to 100 lowercase letters, digits and hyphens, "
                           "not starting or ending with a hyphen", field="id")


def check_language(language: str) -> None:
    """Refuse a language that is not a BCP 47 tag such as ky, ru or en-GB."""
    if not LANGUAGE.fullmatch(language):
        raise InvalidInput(f"language {language!r} must be a language tag such as ky, ru or en", field="language")


def too_large(name: str, limit: int) -> InvalidInput:
    """Return the refusal of a file over the size limit an import takes."""
    shown = f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit:,} bytes"
    return InvalidInput(f"{name} is larger than the {shown} an import takes, more than a policy can hold",
                        field="file")


def read_policy_bytes(path: Path, limit: int | None = None) -> bytes:
    """Return a file's bytes, refusing what cannot be a policy: missing, not a regular file (a directory,
    a device such as /dev/zero, a FIFO), larger than the limit (MAX_FILE_BYTES unless given)."""
    limit = limit or MAX_FILE_BYTES
    try:
        # Non-blocking, so opening a FIFO without a writer returns at once and is refused below, not waited on.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InvalidInput(f"no such file: {path}", field="file") from None
    except OSError as error:
        raise InvalidInput(f"cannot read {path}: {error.strerror or error}", field="file") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise InvalidInput(f"{path} is a directory, not a file", field="file")
        raise InvalidInput(f"{path} is not a regular file (a device, a FIFO or a socket): only files are read",
                           field="file")
    with os.fdopen(fd, "rb") as handle:
        try:
            raw = handle.read(limit + 1)  # a file growing while it is read stops at the limit too
        except OSError as error:
            raise InvalidInput(f"cannot read {path}: {error.strerror or error}", field="file") from None
    if len(raw) > limit:
        raise too_large(str(path), limit)
    return raw


def decode_policy_text(raw: bytes, name: str) -> str:
    """Return a file's UTF-8 text, refusing what cannot be a policy text: not UTF-8, binary, empty."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"{name} is not UTF-8 text (byte 0x{raw[error.start]:02x} at offset {error.start}); "
                           "convert it to UTF-8 first", field="file") from None
    if "\x00" in text:
        # PostgreSQL text cannot hold NUL, and no policy text has one: this is a binary file.
        raise InvalidInput(f"{name} holds NUL bytes; it looks like a binary file, not text", field="file")
    if not text.strip():
        raise InvalidInput(f"{name} is empty", field="file")
    return text


def read_policy_text(path: Path) -> str:
    """Return a file's UTF-8 text, refusing what cannot be a policy: missing, a directory, binary, empty."""
    return decode_policy_text(read_policy_bytes(path), str(path))


def parse_document(raw: bytes, name: str, limit: int | None = None) -> ParsedPolicy:
    """Parse a policy file by its kind (.docx, .pdf, else Markdown or text) and check that no word was lost."""
    suffix = Path(name).suffix.lower()
    limit = limit or MAX_FILE_BYTES
    if len(raw) > limit:
        raise too_large(name, limit)
    # The readers are imported here: pdfplumber and python-docx take a while to load, which no worker should
    # pay at boot.
    if suffix == ".docx":
        from .wordread import read_word
        word = read_word(raw, name)
        parsed, source = word.parsed, word.text
    elif suffix == ".pdf":
        from .pdfread import read_pdf
        pdf = read_pdf(raw, name)
        parsed, source = pdf.parsed, pdf.text
    else:
        source = decode_policy_text(raw, name)
        parsed = parse_policy_text(source)
    if not parsed.sections:
        raise InvalidInput(f"{name} has a title but no sections below it", field="file")
    check_no_word_lost(source, parsed.title, parsed.sections, name)
    return parsed


def parse_policy_file(path: Path, limit: int | None = None) -> ParsedPolicy:
    """Read and parse a policy file, refusing one with no sections below its title or one the parse loses words of."""
    return parse_document(read_policy_bytes(path, limit), path.name, limit)


def document_language(parsed: ParsedPolicy) -> str:
    """Return the language a parsed document is written in, detected from its words."""
    return detect_language(" ".join(word for section in walk_sections(parsed.sections)
                                    for part in (section.get("title"), section.get("text"))
                                    for word in words(part or "")) or parsed.title)


def walk_sections(sections: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Yield every section of a tree, depth first."""
    for section in sections:
        yield section
        yield from walk_sections(section.get("children") or [])


def check_sections(sections: list[dict[str, Any]], progress: Callable[[int], None] | None = None) -> int:
    """Check every section's fields and the limits on a document before anything is recorded; return how many
    sections there are."""
    count = characters = 0
    for section in walk_sections(sections):
        label, title, text = section.get("label"), section.get("title"), section.get("text", "")
        try:
            validate_section_fields(section["kind"], label, title, text)
            check_section(text, title, label)
        except InvalidInput as error:
            raise InvalidInput(f"section {count + 1}: {error.message}", field=error.field) from None
        count += 1
        characters += len(text) + len(title or "") + len(label or "")
        if progress is not None:
            progress(1)
    check_count(count)
    check_document(count, characters)
    return count


def check_count(count: int) -> None:
    """Refuse a file with more sections than one import brings."""
    if count > MAX_SECTIONS_PER_CALL:
        raise InvalidInput(f"the file holds {count:,} sections; an import brings at most "
                           f"{MAX_SECTIONS_PER_CALL:,}", field="sections")


@dataclass(frozen=True, kw_only=True)
class ImportRequest:
    """What to make of a parsed file: the policy's id and title, who imports it, and whether to adopt it."""

    policy_id: str
    actor: str
    source: str
    title: str | None = None
    language: str | None = None  # detected from the text when not given
    review_interval_days: int = DEFAULT_REVIEW_INTERVAL_DAYS
    approval_rule: ApprovalRule | None = None
    publish: bool = False
    effective_from: datetime | None = None
    reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ImportResult:
    """The ids an import made and what the parser found."""

    policy_id: str
    title: str
    language: str
    draft_revision_id: str
    summary: ImportSummary
    version: int | None = None
    effective_from: str | None = None


def adoption_reason(source: str) -> str:
    """Return the reason recorded when an imported text is adopted without review in the ledger."""
    return f"imported from {source}; adopted as approved outside the ledger"


def check_request(request: ImportRequest, parsed: ParsedPolicy) -> str:
    """Check everything an import needs before its first append, so a refusal appends nothing; return the title."""
    check_policy_id(request.policy_id)
    if request.language is not None:
        check_language(request.language)
    if not request.actor.strip() or len(request.actor) > 200:
        raise InvalidInput("the actor is a name of 1 to 200 characters", field="actor")
    title = (request.title if request.title is not None else parsed.title).strip()
    if not title:
        raise InvalidInput("the file has no title line; give one with --title", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput(f"the title is longer than {MAX_TITLE} characters; give a shorter one with --title",
                           field="title")
    if request.effective_from is not None and not request.publish:
        raise InvalidInput("an effective date applies only when publishing (--publish)", field="effective_from")
    if request.reason is not None and not request.reason.strip():
        raise InvalidInput("the reason cannot be empty", field="reason")
    return title


def create_command(parsed: ParsedPolicy, request: ImportRequest) -> cmd.CreatePolicy:
    """Return the command creating the policy with the parsed sections as its draft, after checking the request."""
    title = check_request(request, parsed)
    return cmd.CreatePolicy(
        policy_id=request.policy_id, title=title, language=request.language or document_language(parsed),
        review_interval_days=request.review_interval_days, approval_rule=request.approval_rule,
        sections=cmd.section_drafts(parsed.sections), summary=f"Text imported from {request.source}")


def import_policy(ledger: Ledger, parsed: ParsedPolicy, request: ImportRequest) -> ImportResult:
    """Create the policy with the parsed sections as its draft, and adopt that draft as version 1 if asked."""
    command = create_command(parsed, request)
    title, language = command.title, command.language
    created_reason = (request.reason if not request.publish else None) or f"imported from {request.source}"
    created = ledger.handle(command, Context(actor=Actor(name=request.actor, role="author"), reason=created_reason))
    draft = created.result["draft_revision_id"]
    if not request.publish:
        return ImportResult(policy_id=request.policy_id, title=title, language=language, draft_revision_id=draft,
                            summary=parsed.summary)
    adopted = ledger.handle(
        cmd.AdoptRevision(policy_id=request.policy_id, revision_id=draft, effective_from=request.effective_from),
        Context(actor=Actor(name=request.actor, role="admin"),
                reason=request.reason or adoption_reason(request.source)))
    return ImportResult(policy_id=request.policy_id, title=title, language=language, draft_revision_id=draft,
                        summary=parsed.summary,
                        version=adopted.result["version"], effective_from=adopted.result["effective_from"])
