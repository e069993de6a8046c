"""What the audit resource parses and answers: the trail, responsibilities at a time, section lineage."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from projections import audit as trail
from service.api.common import Cursor, ListQuery, Moment, Page, Strict


def _time(field: str) -> Moment:
    return Moment(metadata={"description": f"{field} (RFC 3339 with an offset)"})


class AuditQuerySchema(ListQuery):
    cursor = Cursor(int)
    actor = fields.String(validate=validate.Length(1, 200))
    action = fields.String(validate=validate.OneOf(trail.ACTIONS))
    since = _time("occurred at or after")
    until = _time("occurred at or before")
    as_of = _time("recorded by (record time)")
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "jsonl")))

    @validates_schema
    def ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "since" in data and "until" in data and data["until"] < data["since"]:
            raise ValidationError("until precedes since", "until")


class AuditItemSchema(Schema):
    position = fields.Integer()
    occurred_at = fields.String()
    recorded_at = fields.String()
    actor = fields.String()
    role = fields.String()
    action = fields.String()
    revision_id = fields.String(allow_none=True)
    section_id = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)
    detail = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    correlation_id = fields.String(allow_none=True)


class AuditPageSchema(Page):
    items = fields.List(fields.Nested(AuditItemSchema))


class ResponsibilitiesAtQuerySchema(Strict):
    at = _time("effective time (default: now)")
    as_of = _time("record time: as the system knew it then (default: now)")
    section_id = fields.String(validate=validate.Length(1, 64))


class ResponsibilityAtSchema(Schema):
    assignment_id = fields.String()
    party = fields.String()
    party_kind = fields.String()
    section_id = fields.String(allow_none=True, metadata={"description": "null: the whole policy"})
    duty = fields.String()
    valid_from = fields.String()
    valid_to = fields.String(allow_none=True, metadata={"description": "as known at as_of"})
    assigned_by = fields.String()
    assigned_recorded_at = fields.String()
    revoked_by = fields.String(allow_none=True)
    revoked_recorded_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class ResponsibilitiesAtSchema(Schema):
    policy_id = fields.String()
    at = fields.String()
    as_of = fields.String()
    section_id = fields.String(allow_none=True)
    items = fields.List(fields.Nested(ResponsibilityAtSchema))


class LineageEditSchema(Schema):
    position = fields.Integer()
    type = fields.String()
    actor = fields.String()
    at = fields.String()
    data = fields.Dict()


class LineageReviewSchema(Schema):
    position = fields.Integer()
    reviewer = fields.String()
    role = fields.String()
    verdict = fields.String()
    comment = fields.String()
    at = fields.String()
    content_hash = fields.String()
    void = fields.Boolean(metadata={"description": "given to content that was later changed"})


class LineageApprovalSchema(Schema):
    position = fields.Integer()
    approver = fields.String()
    role = fields.String()
    meaning = fields.String()
    comment = fields.String()
    reason = fields.String(allow_none=True)
    at = fields.String()
    content_hash = fields.String()
    void = fields.Boolean(metadata={"description": "given to content that was later changed"})


class LineageItemSchema(Schema):
    version = fields.Integer()
    changes = fields.List(fields.String(), metadata={"description": "added, amended, moved, removed"})
    revision_id = fields.String()
    summary = fields.String()
    author = fields.String()
    publisher = fields.String()
    approvers = fields.List(fields.String(), metadata={"description": "the signatures that counted"})
    effective_from = fields.String()
    published_at = fields.String()
    position = fields.Integer()
    text = fields.String(allow_none=True, metadata={"description": "the section's text in this version"})
    edits = fields.List(fields.Nested(LineageEditSchema))
    reviews = fields.List(fields.Nested(LineageReviewSchema))
    approvals = fields.List(fields.Nested(LineageApprovalSchema))


class LineageSchema(Schema):
    policy_id = fields.String()
    section_id = fields.String()
    items = fields.List(fields.Nested(LineageItemSchema))
