"""The log loses its index on record time: nothing reads through it, and every append paid a page write for it.

Record time never decreases along positions, so "the last position recorded by T" is a binary search over
the primary key (EventStore.position_at); read models keep their own record-time columns and indexes.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the index (the log's rows are not touched)."""
    op.drop_index("ix_events_recorded_at", table_name="events")


def downgrade() -> None:
    """Put the index back."""
    op.create_index("ix_events_recorded_at", "events", ["recorded_at"])
