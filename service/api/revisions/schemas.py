"""What the revisions resource parses and answers: drafts, change ops, reviews, signatures, publication, history."""
from __future__ import annotations

from functools import partial
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from events.domain import commands as cmd
from events.domain import rules
from events.domain.canonical import parse_time
from events.domain.document import KINDS
from events.domain.rules import MEANINGS, STATUSES, STEP_STATUSES, VERDICTS
from service.api.common import (
    CommandInput,
    Cursor,
    ListQuery,
    Moment,
    NonBlank,
    Page,
    Parsed,
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


class RevisionListQuery(ListQuery):
    cursor = Cursor(int)
    status = fields.String(validate=validate.OneOf(STATUSES))


class HistoryQuery(ListQuery):
    cursor = Cursor(int)


# ---- bodies ----------------------------------------------------------------------------------------

class RevisionOpen(CommandInput):
    command = cmd.OpenRevision

    summary = Text(required=True, validate=validate.Length(max=2000))
    base_version = count(minimum=0, metadata={"description": "default: the newest published version"})
    retire = fields.Boolean(load_default=False, metadata={
        "description": "true: the revision retires the policy (the summary says why); it changes no text, goes "
                       "through review and the approval rule, and its publication retires the policy from its "
                       "effective date"})
    reason = reason()

    @post_load
    def _parsed(self, data: dict[str, Any], **kwargs: Any) -> Parsed[Any]:
        stated = data.pop("reason", None)
        if not data.pop("retire"):
            return Parsed(partial(cmd.OpenRevision, **data), stated)
        if "base_version" in data:
            raise ValidationError({"base_version": ["a retirement retires the newest version: not allowed"]})
        return Parsed(partial(cmd.OpenRetirement, **data), stated)


# Which fields each op takes comes from its command dataclass: the rule is written once.
_OP_FIELDS = {name: cmd.change_fields(cls) for name, cls in cmd.CHANGES.items()}


class ChangeOp(Strict):
    """One change; which fields it takes depends on `op` (see the API contract)."""

    op = fields.String(required=True, validate=validate.OneOf(tuple(cmd.CHANGES)))
    section_id = Text(validate=validate.Length(min=1, max=64))
    parent_id = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    after_id = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    kind = fields.String(validate=validate.OneOf(KINDS))
    label = Text(allow_none=True, validate=validate.Length(max=rules.MAX_LABEL))
    title = Text(allow_none=True, validate=validate.Length(max=rules.MAX_TITLE))
    text = Text(validate=validate.Length(max=rules.MAX_SECTION_TEXT))
    approval_rule = fields.Nested(RouteInput, metadata={"description": "route: the approval route to bring in"})

    @validates_schema
    def _fields_of_op(self, data: dict[str, Any], **kwargs: Any) -> None:
        required, optional = _OP_FIELDS[data["op"]]
        errors = {name: [f"required for {data['op']}"] for name in sorted(required - set(data))}
        extra = set(data) - required - optional - {"op"}
        errors.update({name: [f"not allowed for {data['op']}"] for name in sorted(extra)})
        if data["op"] == "retitle" and data.get("title") is None and "title" not in errors:
            errors["title"] = ["must be a text"]
        if data["op"] == "amend" and data.get("text", "") is None:
            errors["text"] = ["must be a text"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def _change(self, data: dict[str, Any], **kwargs: Any) -> cmd.Change:
        return cmd.CHANGES[data.pop("op")](**data)


class ChangesInput(CommandInput):
    command = cmd.ChangeRevision

    changes = fields.List(fields.Nested(ChangeOp), required=True,
                          validate=validate.Length(min=1, max=rules.MAX_SECTIONS_PER_CALL))
    reason = reason()

    def to_command(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"changes": tuple(data["changes"])}


class SubmitInput(CommandInput):
    command = cmd.SubmitRevision

    reviewers = fields.List(Text(validate=[validate.Length(min=1, max=200), NonBlank()]), required=True,
                            validate=validate.Length(max=50))
    reason = reason()

    def to_command(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"reviewers": tuple(data["reviewers"])}


class ReviewInput(CommandInput):
    command = cmd.ReviewRevision

    verdict = fields.String(required=True, validate=validate.OneOf(VERDICTS))
    comment = Text(load_default="", validate=validate.Length(max=10_000))
    reason = reason()


class ApprovalInput(CommandInput):
    command = cmd.ApproveRevision

    meaning = fields.String(required=True, validate=validate.OneOf(MEANINGS))
    comment = Text(load_default="", validate=validate.Length(max=10_000))
    password = fields.String(load_only=True, validate=validate.Length(max=1024), metadata={
        "description": "the signer's password, asked again (unless the deployment turned that off)"})
    on_behalf_of = Text(validate=validate.Length(min=1, max=200), metadata={
        "description": "sign as the delegate of this person (a delegation in force from them to you)"})
    reason = reason()

    def to_command(self, data: dict[str, Any]) -> dict[str, Any]:
        data.pop("password", None)  # checked by the view, never part of the command or its fingerprint
        return data


class RecallInput(CommandInput):
    command = cmd.RecallRevision

    reason = reason()


class ReviewersInput(CommandInput):
    command = cmd.ChangeReviewers

    reviewers = fields.List(Text(validate=[validate.Length(min=1, max=200), NonBlank()]), required=True,
                            validate=validate.Length(max=50))
    reason = reason()

    def to_command(self, data: dict[str, Any]) -> dict[str, Any]:
        return {"reviewers": tuple(data["reviewers"])}


class PublishInput(CommandInput):
    command = cmd.PublishRevision

    effective_from = Moment(metadata={"description": "default: now; a past time needs a reason"})
    editorial = fields.Boolean(load_default=False, truthy={True}, falsy={False},
                               metadata={"description": "an editorial version asks for no new acknowledgement"})
    reason = reason()

    def to_command(self, data: dict[str, Any]) -> dict[str, Any]:
        if "effective_from" in data:
            data["effective_from"] = parse_time(data["effective_from"])
        return data


def _stated_reason() -> Text:
    return Text(required=True, validate=[validate.Length(min=1, max=2000), NonBlank()])


class RejectInput(CommandInput):
    command = cmd.RejectRevision

    reason = _stated_reason()


class WithdrawInput(CommandInput):
    command = cmd.WithdrawRevision

    reason = _stated_reason()


# ---- answers ---------------------------------------------------------------------------------------

class ChangeRecord(Schema):
    op = fields.String(metadata={"enum": list(cmd.CHANGES)})
    section_id = fields.String()
    parent_id = fields.String(allow_none=True)
    after_id = fields.String(allow_none=True)
    kind = fields.String()
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()
    approval_rule = fields.Nested(RouteAnswer)
    actor = fields.String()
    at = time()


class ReviewRecord(Schema):
    reviewer = fields.String()
    role = fields.String()
    verdict = fields.String(metadata={"enum": list(VERDICTS)})
    comment = fields.String()
    at = time()
    content_hash = fields.String()
    void = fields.Boolean(metadata={"description": "the content changed since this review"})


class ApprovalRecord(Schema):
    approver = fields.String()
    role = fields.String()
    meaning = fields.String(metadata={"enum": list(MEANINGS)})
    comment = fields.String()
    reason = fields.String(allow_none=True)
    at = time()
    content_hash = fields.String()
    void = fields.Boolean(metadata={"description": "the content changed since this signature, or it was recalled"})
    step = fields.Integer(metadata={"description": "the step of the route it was given for, from 0"})
    full_name = fields.String(allow_none=True, metadata={"description": "the signer's full name when signing"})
    on_behalf_of = fields.String(allow_none=True, metadata={"description": "the person a delegate signed for"})


class RouteStep(Schema):
    step = fields.Integer(metadata={"description": "from 1, in signing order"})
    status = fields.String(metadata={"enum": list(STEP_STATUSES)})
    signers = fields.List(fields.String(), metadata={"description": "who signed this step for the current content"})
    approvals = fields.Integer()
    users = fields.List(fields.String())
    roles = fields.List(fields.String())
    meanings = fields.List(fields.String(), metadata={"description": "the meanings that count"})


class Preview(Schema):
    title = fields.String()
    sections = fields.List(fields.Nested(Section))


class RevisionSummary(Schema):
    id = fields.String(attribute="revision_id")
    policy_id = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    author = fields.String()
    base_version = fields.Integer()
    summary = fields.String()
    reviewers = fields.List(fields.String())
    opened_at = time()
    updated_at = time()
    published_version = fields.Integer(allow_none=True)
    retire = fields.Boolean(metadata={"description": "the revision retires the policy rather than change its text"})


class Revision(RevisionSummary):
    changes = fields.List(fields.Nested(ChangeRecord))
    reviews = fields.List(fields.Nested(ReviewRecord))
    approvals = fields.List(fields.Nested(ApprovalRecord))
    conflicts = fields.List(fields.String(), metadata={"description": "touched sections changed since the base"})
    content_hash = fields.String(metadata={"description": "what reviews and signatures pin: the preview, and the "
                                                          "route it proposes if any"})
    preview = fields.Nested(Preview)
    route = fields.List(fields.Nested(RouteStep), metadata={
        "description": "the policy's approval route: which step is done, which one the revision waits on"})
    proposed_route = fields.Nested(RouteAnswer, allow_none=True, metadata={
        "description": "the route this revision brings into force when published"})


class RevisionChanged(Revision):
    section_ids = fields.List(fields.String(), metadata={
        "description": "per change in order: the section it touched (new ids for adds; `title` for a retitle)"})


class RevisionPage(Page):
    items = fields.List(fields.Nested(RevisionSummary))


class Transition(Schema):
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    actor = fields.String()
    role = fields.String()
    at = time()
    reason = fields.String(allow_none=True)
    log_position = fields.Integer(attribute="position")


class RevisionHistoryItem(RevisionSummary):
    transitions = fields.List(fields.Nested(Transition))


class RevisionHistory(Page):
    items = fields.List(fields.Nested(RevisionHistoryItem))


class Published(Schema):
    version = fields.Integer()
    effective_from = time()
    retired = fields.Boolean(load_default=False, metadata={
        "description": "true: a retirement took effect (version is the last one; nothing is in force from "
                       "effective_from)"})
