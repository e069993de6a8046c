"""Notifications: the worker's cursor over the log, its outbox of e-mails and webhook deliveries, the webhooks
and every delivery attempt.

The cursor starts at the head of the log as it stands when this revision runs, so a database that already
holds years of history does not send a message for each of its old events; a new database starts at 0.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0013_notifications
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_notifications"
down_revision = "0012_campaigns"
branch_labels = None
depends_on = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the tables and set the cursor at the log's head."""
    cursor = op.create_table(
        "notification_cursor",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("position", POSITION, nullable=False),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=400), nullable=False),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("position", POSITION, nullable=True),
        sa.Column("policy_id", sa.String(length=200), nullable=True),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=True),
        sa.Column("subject", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("html", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("next_attempt_at", sa.String(length=27), nullable=False),
        sa.Column("sent_at", sa.String(length=27), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_notifications_due", "notifications", ["channel", "status", "next_attempt_at"])
    op.create_index("ix_notifications_recipient", "notifications", ["recipient", "status", "position"])
    op.create_table(
        "webhooks",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("from_position", POSITION, nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("failing_since", sa.String(length=27), nullable=True),
        sa.Column("disabled_at", sa.String(length=27), nullable=True),
        sa.Column("removed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_until", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("webhook_id", sa.String(length=40), nullable=False),
        sa.Column("delivery_id", sa.String(length=40), nullable=False),
        sa.Column("position", POSITION, nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_retry", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_webhook_attempts_webhook", "webhook_attempts", ["webhook_id", "id"])
    head = op.get_bind().execute(sa.text("SELECT COALESCE(MAX(position), 0) FROM events")).scalar_one()
    op.bulk_insert(cursor, [{"name": "log", "position": head}])


def downgrade() -> None:
    """Drop the tables (what was sent is forgotten; nothing of the log is)."""
    for table in ("webhook_attempts", "webhooks", "notifications", "notification_cursor"):
        op.drop_table(table)
