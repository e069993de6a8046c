"""What the delegations resource parses and answers."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.common import ListQuery, Moment, NonBlank, Strict, Text, time


class DelegationInput(Strict):
    delegate = Text(required=True, validate=[validate.Length(min=1, max=200), NonBlank()])
    from_ = Moment(data_key="from", metadata={"description": "default: now"})
    until = Moment(required=True)
    reason = Text(required=True, validate=[validate.Length(min=1, max=2000), NonBlank()])
    delegator = Text(validate=validate.Length(min=1, max=200),
                     metadata={"description": "admin only: delegate for someone else (default: yourself)"})


class DelegationQuery(Strict):
    user = Text(validate=validate.Length(min=1, max=200),
                metadata={"description": "admin and auditor: those given by or to one person"})


class Delegation(Schema):
    id = fields.String()
    delegator = fields.String()
    delegate = fields.String()
    from_ = fields.String(attribute="valid_from", data_key="from", metadata={"format": "date-time"})
    until = fields.String(attribute="valid_until", metadata={"format": "date-time"})
    reason = fields.String()
    created_by = fields.String()
    created_at = time()
    revoked_by = fields.String(allow_none=True)
    revoked_at = time(allow_none=True)


class DelegationList(Schema):
    items = fields.List(fields.Nested(Delegation))


class SigningFailureQuery(ListQuery):
    user = Text(validate=validate.Length(min=1, max=200))


class SigningFailure(Schema):
    user = fields.String(attribute="user_name")
    policy_id = fields.String()
    revision_id = fields.String()
    at = time()


class SigningFailureList(Schema):
    items = fields.List(fields.Nested(SigningFailure))
