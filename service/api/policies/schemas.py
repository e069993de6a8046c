"""What the policies resource parses and answers: the catalogue, documents, versions, diffs, section histories."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from werkzeug.datastructures import FileStorage

from events.domain import commands as cmd
from events.domain import rules
from events.domain.document import KINDS
from events.domain.rules import (
    LANGUAGE,
    MEANINGS,
    POLICY_ID,
    POLICY_ID_RULE,
    REVIEW_INTERVAL_DAYS,
    ROLES,
)
from service.api.common import (
    MAX_INT,
    CommandInput,
    Cursor,
    ListQuery,
    Moment,
    NonBlank,
    Page,
    RouteAnswer,
    RouteInput,
    Section,
    Strict,
    Text,
    count,
    reason,
    time,
)

# ---- queries ---------------------------------------------------------------------------------------


class PolicyListQuery(ListQuery):
    cursor = Cursor(str)


class NumberedListQuery(ListQuery):
    cursor = Cursor(int)


class VersionListQuery(NumberedListQuery):
    as_of = Moment(metadata={"description": "only versions whose publication the ledger had recorded by this time"})


class PolicyReadQuery(Strict):
    at = Moment(metadata={"description": "the version in force at this time (default: now)"})
    as_of = Moment(metadata={"description": "only what the ledger had recorded by this time"})
    version = fields.Integer(validate=validate.Range(min=1, max=MAX_INT),
                             metadata={"description": "this published version instead of the one in force"})

    @validates_schema
    def _one_way(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "version" in data and "at" in data:
            raise ValidationError("give either version or at, not both", field_name="version")


class AsOfQuery(Strict):
    as_of = Moment(metadata={"description": "only what the ledger had recorded by this time"})


class DiffQuery(Strict):
    from_version = fields.Integer(data_key="from", required=True, validate=validate.Range(min=1, max=MAX_INT))
    to_version = fields.Integer(data_key="to", required=True, validate=validate.Range(min=1, max=MAX_INT))


# ---- the new policy ------------------------------------------------------------------------------

class SectionInput(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    label = Text(allow_none=True, validate=validate.Length(max=rules.MAX_LABEL))
    title = Text(allow_none=True, validate=validate.Length(max=rules.MAX_TITLE))
    text = Text(load_default="", validate=validate.Length(max=rules.MAX_SECTION_TEXT))
    children = fields.List(fields.Nested(lambda: SectionInput()),
                           validate=validate.Length(max=rules.MAX_SECTIONS_PER_CALL))


class PolicyCreate(CommandInput):
    command = cmd.CreatePolicy

    id = fields.String(required=True, validate=validate.Regexp(POLICY_ID.pattern + r"\Z", error=POLICY_ID_RULE))
    title = Text(required=True, validate=[validate.Length(min=1, max=rules.MAX_TITLE), NonBlank()])
    language = fields.String(required=True, validate=validate.Regexp(LANGUAGE.pattern + r"\Z",
                                                                       error="a language tag such as ky"))
    review_interval_days = count(*REVIEW_INTERVAL_DAYS, required=True)
    approval_rule = fields.Nested(RouteInput, metadata={
        "description": "`{approvals, roles}` (one step) or `{steps: [{approvals, users?, roles?, meanings?}]}`, "
                       "signed in order; default one approval from the approver role"})
    sections = fields.List(fields.Nested(SectionInput), validate=validate.Length(max=rules.MAX_SECTIONS_PER_CALL))
    summary = Text(validate=validate.Length(max=2000), metadata={"description": "summary of the draft revision"})
    reason = reason()

    def to_command(self, data: dict[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = {"policy_id": data.pop("id"), **data,
                                 "sections": cmd.section_drafts(data.get("sections") or [])}
        if found.get("summary") is None:
            found.pop("summary", None)
        return found


class PolicyImportUpload(Strict):
    """A multipart import: the file, and the fields beside it."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary",
                                               "description": "a .docx, .pdf, .md or .txt policy"})
    id = fields.String(required=True, validate=validate.Regexp(POLICY_ID.pattern + r"\Z", error=POLICY_ID_RULE))
    title = Text(validate=[validate.Length(min=1, max=2000), NonBlank()],
                 metadata={"description": "the policy's title (default: the file's own title)"})
    language = fields.String(validate=validate.Regexp(LANGUAGE.pattern + r"\Z", error="a language tag such as ky"),
                             metadata={"description": "the text's language (default: detected from the text)"})
    review_interval_days = fields.Integer(validate=validate.Range(*REVIEW_INTERVAL_DAYS))  # form fields are text

    @validates_schema
    def a_file(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not isinstance(data.get("file"), FileStorage):
            raise ValidationError({"file": ["must be a file sent as a multipart part with a filename"]})


# ---- answers ---------------------------------------------------------------------------------------

class ScheduledVersion(Schema):
    version = fields.Integer()
    effective_from = time()


class PolicyDocument(Schema):
    id = fields.String(attribute="policy_id")
    title = fields.String()
    language = fields.String()
    version = fields.Integer()
    effective_from = time()
    published_at = time()
    revision_id = fields.String()
    log_position = fields.Integer(attribute="position",
                                  metadata={"description": "global log position of the publication"})
    content_hash = fields.String()
    sections = fields.List(fields.Nested(Section))
    scheduled = fields.Nested(ScheduledVersion, allow_none=True,
                              metadata={"description": "the next published version, not yet in force"})
    retired_from = time(allow_none=True)  # when the policy is (or will be) retired


class PolicySummary(Schema):
    id = fields.String(attribute="policy_id")
    title = fields.String()
    language = fields.String()
    version = fields.Integer(allow_none=True, metadata={"description": "in force now; null before the first"})
    effective_from = time(allow_none=True)
    latest_version = fields.Integer()
    next_review_due = time(allow_none=True)
    retired_from = time(allow_none=True)  # from then the policy is in force nowhere
    retired_reason = fields.String(allow_none=True)


class PolicyPage(Page):
    items = fields.List(fields.Nested(PolicySummary))


class PolicyCreated(Schema):
    id = fields.String(attribute="policy_id")
    title = fields.String()
    language = fields.String()
    owner = fields.String()
    review_interval_days = fields.Integer()
    approval_rule = fields.Nested(RouteAnswer)
    created_at = time()
    latest_version = fields.Integer()
    draft_revision_id = fields.String(allow_none=True)


class ImportSummary(Schema):
    format = fields.String(metadata={"enum": ["text", "markdown", "docx", "pdf"]})
    headings = fields.Integer()
    paragraphs = fields.Integer()
    items = fields.Integer()
    max_depth = fields.Integer()
    unclassified = fields.List(fields.Integer(), metadata={
        "description": "where the paragraphs it could not classify begin (line or paragraph numbers)"})


class PolicyImported(PolicyCreated):
    summary = fields.Nested(ImportSummary)


class Signature(Schema):
    approver = fields.String()
    role = fields.String(metadata={"enum": list(ROLES)})
    meaning = fields.String(metadata={"enum": list(MEANINGS)})
    at = time()
    content_hash = fields.String()
    step = fields.Integer(metadata={"description": "the step of the route it was given for, from 0"})
    full_name = fields.String(allow_none=True)
    on_behalf_of = fields.String(allow_none=True, metadata={"description": "the person a delegate signed for"})


class VersionSummary(Schema):
    version = fields.Integer()
    title = fields.String()
    effective_from = time()
    published_at = time()
    recorded_at = time()
    log_position = fields.Integer(attribute="position")
    revision_id = fields.String()
    summary = fields.String()
    author = fields.String()
    publisher = fields.String()
    approvers = fields.List(fields.Nested(Signature))
    content_hash = fields.String()
    editorial = fields.Boolean()
    backdated = fields.Boolean()
    adopted = fields.Boolean()
    base_version = fields.Integer(allow_none=True, metadata={"description": "the version its signers saw it on"})
    signed_content_hash = fields.String(allow_none=True, metadata={
        "description": "what its signers signed (differs from content_hash when rebased; null before v1.1)"})
    rebased = fields.Boolean(metadata={"description": "published on a newer version than its signers saw"})


class VersionPage(Page):
    items = fields.List(fields.Nested(VersionSummary))
    retired_from = time(allow_none=True)  # the policy is retired from then: no version is in force after it
    retired_reason = fields.String(allow_none=True)


class Segment(Schema):
    op = fields.String(metadata={"enum": ["equal", "insert", "delete"]})
    text = fields.String()


class TitleChange(Schema):
    from_ = fields.String(allow_none=True, data_key="from", attribute="from")
    to = fields.String(allow_none=True)
    segments = fields.List(fields.Nested(Segment))


class LabelChange(Schema):
    from_ = fields.String(allow_none=True, data_key="from", attribute="from")
    to = fields.String(allow_none=True)


class Placement(Schema):
    parent_id = fields.String(allow_none=True)
    after_id = fields.String(allow_none=True)


class SectionMove(Schema):
    section_id = fields.String()
    from_ = fields.Nested(Placement, data_key="from", attribute="from")
    to = fields.Nested(Placement)


class SectionAddition(Schema):
    section_id = fields.String()
    parent_id = fields.String(allow_none=True)
    after_id = fields.String(allow_none=True)
    kind = fields.String()
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()


class SectionRemoval(Schema):
    section_id = fields.String()
    parent_id = fields.String(allow_none=True)
    kind = fields.String()
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()


class SectionAmendment(Schema):
    section_id = fields.String()
    changed = fields.List(fields.String(metadata={"enum": ["text", "title", "label"]}))
    text = fields.List(fields.Nested(Segment), metadata={"description": "word-level diff of the text"})
    compared = fields.String(metadata={
        "enum": ["words", "whole"],
        "description": "`whole` when the texts were too long to compare word by word: `text` is then one "
                       "deletion of the old text and one insertion of the new"})
    title = fields.Nested(TitleChange, allow_none=True)
    label = fields.Nested(LabelChange, allow_none=True)


class DiffSide(Schema):
    version = fields.Integer()
    title = fields.String()
    effective_from = time()
    content_hash = fields.String()


class Diff(Schema):
    policy_id = fields.String()
    from_ = fields.Nested(DiffSide, data_key="from", attribute="from")
    to = fields.Nested(DiffSide)
    title = fields.Nested(TitleChange, allow_none=True)
    added = fields.List(fields.Nested(SectionAddition))
    removed = fields.List(fields.Nested(SectionRemoval))
    moved = fields.List(fields.Nested(SectionMove))
    amended = fields.List(fields.Nested(SectionAmendment))


class SectionChange(Schema):
    version = fields.Integer()
    changes = fields.List(fields.String(metadata={"enum": ["added", "amended", "moved", "removed"]}))
    revision_id = fields.String()
    author = fields.String()
    approvers = fields.List(fields.Nested(Signature))
    effective_from = time()
    published_at = time()
    log_position = fields.Integer(attribute="position")
    text = fields.String(allow_none=True, metadata={"description": "the text after; null once removed"})


class SectionHistory(Page):
    section_id = fields.String()
    items = fields.List(fields.Nested(SectionChange))
