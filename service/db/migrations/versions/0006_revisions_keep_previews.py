"""Revisions keep their preview: the sections a draft holds differently from its base, its title and content hash.

The revision detail used to replay every change of a revision on every read. The documents read model now
keeps each revision's preview as it changes (`revision_previews`, `preview_sections`, `preview_touched`).
Existing revisions get theirs from the log: this revision asks for a rebuild of the read models, which
`policy-ledger init` runs in the same transaction as the upgrade (`rebuild_requests`).

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the preview tables and the rebuild request table, and ask for a rebuild."""
    op.create_table(
        "revision_previews",
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("last_position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("revision_id"),
    )
    op.create_table(
        "preview_sections",
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("section_id", sa.String(length=64), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("after_id", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=True),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("revision_id", "section_id"),
    )
    op.create_table(
        "preview_touched",
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("section_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("revision_id", "section_id"),
    )
    op.create_table(
        "rebuild_requests",
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("requested_by", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("reason"),
    )
    requests = sa.table("rebuild_requests", sa.column("reason"), sa.column("requested_by"))
    op.get_bind().execute(sa.insert(requests).values(reason="revisions keep their previews", requested_by="0006"))


def downgrade() -> None:
    """Refuse: restore a backup taken before this revision instead."""
    raise RuntimeError("downgrading 0006 is refused: restore a backup taken before it instead")
