"""What the ledger resource parses and answers: events, the global log, replays, verification, checkpoints."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from service.api.common import Cursor, ListQuery, Strict
from service.http.paging import MAX_LIMIT


class EventPageQuery(ListQuery):
    cursor = Cursor(int)


class LedgerEventSchema(Schema):
    position = fields.Integer(required=True)
    stream = fields.String(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True)
    schema = fields.Integer(required=True)
    data = fields.Dict(required=True)
    meta = fields.Dict(required=True)
    recorded_at = fields.String(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class LedgerEventPageSchema(Schema):
    items = fields.List(fields.Nested(LedgerEventSchema))
    next_cursor = fields.String(allow_none=True)


class LogQuerySchema(Strict):
    after = fields.Integer(validate=validate.Range(min=0, max=2**62),
                           metadata={"description": "answer events after this position (0: from the start)"})
    cursor = Cursor(int)
    limit = fields.Integer(validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": "page size (default 50); JSON lines stream to the end without it"})
    up_to = fields.Integer(validate=validate.Range(min=1, max=2**62), metadata={"description": "stop at this position"})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "jsonl")))

    @validates_schema
    def one_start(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "after" in data and "cursor" in data:
            raise ValidationError("give either after or cursor, not both", "cursor")


class LogPageSchema(LedgerEventPageSchema):
    last_position = fields.Integer(required=True, metadata={"description": "poll on with after=last_position"})


class ReplayQuerySchema(Strict):
    position = fields.Integer(validate=validate.Range(min=1, max=2**62),
                              metadata={"description": "global log position (default: the head)"})


class ReplaySectionSchema(Schema):
    id = fields.String()
    kind = fields.String()
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()
    children = fields.List(fields.Nested(lambda: ReplaySectionSchema()))


class ReplayDocumentSchema(Schema):
    id = fields.String()
    language = fields.String()
    title = fields.String()
    sections = fields.List(fields.Nested(ReplaySectionSchema))


class ReplayVersionDocumentSchema(Schema):
    version = fields.Integer()
    effective_from = fields.String()
    content_hash = fields.String()
    document = fields.Nested(ReplayDocumentSchema)


class ReplayVersionSchema(Schema):
    version = fields.Integer()
    revision_id = fields.String()
    effective_from = fields.String()
    published_at = fields.String()
    editorial = fields.Boolean()
    content_hash = fields.String()


class ReplayRevisionSchema(Schema):
    revision_id = fields.String()
    status = fields.String()
    author = fields.String()
    base_version = fields.Integer()
    summary = fields.String()
    content_hash = fields.String()


class ReplaySchema(Schema):
    policy_id = fields.String()
    position = fields.Integer()
    recorded_at = fields.String(metadata={"description": "record time of the event at `position`"})
    exists = fields.Boolean()
    stream_version = fields.Integer()
    title = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    in_force = fields.Nested(ReplayVersionDocumentSchema, allow_none=True,
                             metadata={"description": "the version in force at the record time of `position`"})
    latest = fields.Nested(ReplayVersionDocumentSchema, allow_none=True)
    versions = fields.List(fields.Nested(ReplayVersionSchema))
    revisions = fields.List(fields.Nested(ReplayRevisionSchema))


class CheckedUpToSchema(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    signed_at = fields.String(required=True)


class VerifySchema(Schema):
    ok = fields.Boolean(required=True, metadata={"description": "the chain is whole and every checkpoint holds"})
    events_checked = fields.Integer(required=True)
    first_bad_position = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)
    checkpoints_checked = fields.Integer(required=True, metadata={
        "description": "signed checkpoints found to hold: position present, hash equal, signature good"})
    checked_up_to = fields.Nested(CheckedUpToSchema, allow_none=True, required=True, metadata={
        "description": "the newest checkpoint that held (null: none signed yet)"})


class CheckpointSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    hash = fields.String()
    recorded_at = fields.String()
    signed_at = fields.String()
    key_id = fields.String(metadata={"description": "SHA-256 hex of the raw Ed25519 public key"})
    signature = fields.String(metadata={"description": "base64 Ed25519 signature of the canonical statement"})


class CheckpointPageSchema(Schema):
    items = fields.List(fields.Nested(CheckpointSchema))
    next_cursor = fields.String(allow_none=True)
