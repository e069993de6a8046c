"""What the webhooks and reviews-due endpoints parse and answer."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from service.api.common import Cursor, ListQuery, NonBlank, Strict, Text, time


class WebhookInput(Strict):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                        metadata={"description": "http(s); not a loopback, link-local or private address unless the "
                                                 "deployment allows it (WEBHOOK_ALLOWED_HOSTS)"})
    events = fields.List(fields.String(validate=[validate.Length(min=1, max=100), NonBlank()]), required=True,
                         validate=validate.Length(min=1, max=100),
                         metadata={"description": "event types (RevisionSubmitted, …) or [\"*\"] for every one"})
    description = Text(validate=validate.Length(max=500), load_default=None)


class Webhook(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String(allow_none=True)
    created_at = time()
    created_by = fields.String()
    active = fields.Boolean(metadata={"description": "false once turned off after failing for a day"})
    failing_since = time(allow_none=True)
    disabled_at = time(allow_none=True)


class NewWebhook(Webhook):
    secret = fields.String(metadata={"description": "the HMAC key of X-Policy-Ledger-Signature; shown only now"})


class WebhookList(Schema):
    items = fields.List(fields.Nested(Webhook))


class DeliveryQuery(ListQuery):
    cursor = Cursor(int)


class Attempt(Schema):
    id = fields.Integer()
    delivery_id = fields.String(metadata={"description": "X-Policy-Ledger-Delivery: the same on every retry"})
    position = fields.Integer(metadata={"description": "the event's position in the log"})
    event_type = fields.String()
    at = time()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True, metadata={"description": "why no answer came (a time-out, a refusal)"})
    next_retry = time(allow_none=True)  # when it is tried again; null once delivered


class AttemptPage(Schema):
    items = fields.List(fields.Nested(Attempt))
    next_cursor = fields.String(allow_none=True)


class Party(Schema):
    party = fields.String()
    party_kind = fields.String()
    section_id = fields.String(allow_none=True)
    duty = fields.String()


class ReviewDue(Schema):
    policy_id = fields.String()
    title = fields.String()
    language = fields.String()
    owner = fields.String()
    next_review_due = time()
    last_review_at = time(allow_none=True)
    overdue = fields.Boolean()
    responsible = fields.List(fields.Nested(Party))


class ReviewsDueQuery(Strict):
    within_days = fields.Integer(validate=validate.Range(min=0, max=3660),
                                 metadata={"description": "how far ahead to look (default: REVIEW_REMINDER_DAYS)"})


class ReviewsDue(Schema):
    items = fields.List(fields.Nested(ReviewDue))
