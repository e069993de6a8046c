"""The worker's own tables: where it has read the log to, what it must send, the webhooks and their attempts.

None of these is a read model: they record what was sent, which a rebuild of the read models must never undo.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text, false

from events.store.tables import Position, metadata

# One row per cursor ("log"): the last position whose notifications are in the outbox.
notification_cursor = Table(
    "notification_cursor", metadata,
    Column("name", String(40), primary_key=True),
    Column("position", Position, nullable=False),
    Column("lease_owner", String(200)),
    Column("lease_until", String(27)),
)

# What must go out: one row per e-mail (a person, for one event or one reminder) or webhook delivery. `key`
# says what it is for, so the same message is never queued twice; `id` is a webhook's delivery id.
notifications = Table(
    "notifications", metadata,
    Column("id", String(40), primary_key=True),
    Column("key", String(400), nullable=False, unique=True),
    Column("channel", String(10), nullable=False),  # mail | webhook
    Column("kind", String(40), nullable=False),  # what the message says (review_requested, …) or the event type
    Column("position", Position),  # the event it tells of (none for a reminder)
    Column("policy_id", String(200)),
    Column("recipient", String(320), nullable=False),  # a user's name, or a webhook's id
    Column("address", String(320)),  # an e-mail address
    Column("language", String(8)),
    Column("subject", Text),
    Column("body", Text, nullable=False),  # plain text, or a webhook's raw JSON body
    Column("html", Text),
    Column("status", String(10), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("created_at", String(27), nullable=False),
    Column("next_attempt_at", String(27), nullable=False),
    Column("sent_at", String(27)),
    Column("last_error", Text),
    Column("lease_owner", String(200)),
    Column("lease_until", String(27)),
    Index("ix_notifications_due", "channel", "status", "next_attempt_at"),
    Index("ix_notifications_recipient", "recipient", "status", "position"),
)

webhooks = Table(
    "webhooks", metadata,
    Column("id", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", Text, nullable=False),  # a JSON list of event types, or ["*"]
    Column("description", Text),
    Column("secret", String(100), nullable=False),
    Column("created_at", String(27), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("from_position", Position, nullable=False),  # events after this one are delivered
    Column("active", Boolean, nullable=False),
    Column("failing_since", String(27)),
    Column("disabled_at", String(27)),
    Column("removed", Boolean, nullable=False, server_default=false()),
    Column("lease_owner", String(200)),
    Column("lease_until", String(27)),
)

webhook_attempts = Table(
    "webhook_attempts", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("webhook_id", String(40), nullable=False),
    Column("delivery_id", String(40), nullable=False),
    Column("position", Position, nullable=False),
    Column("event_type", String(100), nullable=False),
    Column("at", String(27), nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("next_retry", String(27)),
    Index("ix_webhook_attempts_webhook", "webhook_id", "id"),
)

TABLES = (notification_cursor, notifications, webhooks, webhook_attempts)
