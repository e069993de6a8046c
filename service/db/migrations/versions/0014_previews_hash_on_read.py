"""A revision's preview no longer stores its content hash: it is computed where the preview is read.

Each change to a draft wrote the hash of the whole document again, so a change to one section of a long draft
cost as much as the draft; the preview's readers read the whole document anyway and hash it there. Nothing
else is lost: the hash is a function of the stored sections.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0014_previews_hash_on_read
Revises: 0013_notifications
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_previews_hash_on_read"
down_revision = "0013_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Drop the stored hash."""
    with op.batch_alter_table("revision_previews") as batch:
        batch.drop_column("content_hash")


def downgrade() -> None:
    """Bring the column back and ask for a rebuild of the read models, which fills it."""
    with op.batch_alter_table("revision_previews") as batch:
        batch.add_column(sa.Column("content_hash", sa.String(length=80), nullable=False, server_default=""))
    requests = sa.table("rebuild_requests", sa.column("reason"), sa.column("requested_by"))
    reason = "previews need their content hashes again"
    op.get_bind().execute(sa.delete(requests).where(requests.c.reason == reason))
    op.get_bind().execute(sa.insert(requests).values(reason=reason, requested_by="0014"))
