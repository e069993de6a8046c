"""What the governance resource parses and answers: responsibilities, periodic reviews, acknowledgements."""
from __future__ import annotations

from functools import partial
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.rules import PARTY_KINDS, PERIODIC_OUTCOMES
from service.api.common import (
    CommandInput,
    Cursor,
    ListQuery,
    Moment,
    NonBlank,
    Page,
    Parsed,
    Strict,
    Text,
    count,
    reason,
    time,
)


class ResponsibilityQuery(ListQuery):
    at = Moment(metadata={"description": "assignments valid at this time (default: now)"})
    section_id = Text(validate=validate.Length(min=1, max=64))
    cursor = Cursor(str, str)


class AcknowledgementQuery(Strict):
    person = Text(validate=validate.Length(min=1, max=200), metadata={"description": "default: the caller"})


class ResponsibilityInput(Strict):
    """Assign a person or unit (`action: assign`), or end an assignment (`action: revoke`)."""

    action = fields.String(required=True, validate=validate.OneOf(("assign", "revoke")))
    party = Text(validate=[validate.Length(min=1, max=200), NonBlank()])
    party_kind = fields.String(validate=validate.OneOf(PARTY_KINDS))
    section_id = Text(allow_none=True, validate=validate.Length(min=1, max=64))
    duty = Text(validate=[validate.Length(min=1, max=2000), NonBlank()])
    valid_from = Moment(metadata={"description": "assign: default now"})
    valid_to = Moment(metadata={"description": "revoke: default now"})
    assignment_id = Text(validate=validate.Length(min=1, max=64))
    reason = reason()

    @validates_schema
    def _fields_of_action(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data["action"] == "assign":
            required, allowed = {"party", "duty"}, {"party_kind", "section_id", "valid_from"}
        else:
            required, allowed = {"assignment_id"}, {"valid_to"}
        errors = {name: [f"required to {data['action']}"] for name in sorted(required - set(data))}
        errors.update({name: [f"not allowed to {data['action']}"]
                       for name in sorted(set(data) - required - allowed - {"action", "reason"})})
        if errors:
            raise ValidationError(errors)

    @post_load
    def _parsed(self, data: dict[str, Any], **kwargs: Any) -> Parsed[Any]:
        stated = data.pop("reason", None)
        action = data.pop("action")
        for key in ("valid_from", "valid_to"):
            if key in data:
                data[key] = parse_time(data[key])
        command = cmd.AssignResponsibility if action == "assign" else cmd.RevokeResponsibility
        return Parsed(partial(command, **data), stated)


class PeriodicReviewInput(CommandInput):
    command = cmd.RecordPeriodicReview

    outcome = fields.String(required=True, validate=validate.OneOf(PERIODIC_OUTCOMES))
    notes = Text(load_default="", validate=validate.Length(max=10_000))
    reason = reason()


class AcknowledgementInput(CommandInput):
    command = cmd.AcknowledgeVersion

    version = count(required=True)
    reason = reason()


# ---- answers ---------------------------------------------------------------------------------------

class Assignment(Schema):
    assignment_id = fields.String()
    party = fields.String()
    party_kind = fields.String(metadata={"enum": list(PARTY_KINDS)})
    section_id = fields.String(allow_none=True)
    duty = fields.String()
    valid_from = time()
    valid_to = time(allow_none=True)
    assigned_by = fields.String()
    revoked_by = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class AssignmentPage(Page):
    items = fields.List(fields.Nested(Assignment))


class PeriodicReview(Schema):
    review_id = fields.String()
    outcome = fields.String(metadata={"enum": list(PERIODIC_OUTCOMES)})
    notes = fields.String()
    version = fields.Integer()
    reviewer = fields.String()
    at = time()
    next_review_due = time()


class Acknowledgement(Schema):
    person = fields.String()
    version = fields.Integer()
    content_hash = fields.String()
    at = time()


class DueVersion(Schema):
    version = fields.Integer()
    effective_from = time()
    content_hash = fields.String()


class AcknowledgementStatus(Schema):
    person = fields.String()
    acknowledged = fields.List(fields.Nested(Acknowledgement))
    latest_acknowledged = fields.Integer(allow_none=True)
    must_acknowledge = fields.Boolean(metadata={"description": "a substantive version newer than the last "
                                                               "acknowledged one exists"})
    due = fields.Nested(DueVersion, allow_none=True)
