"""Signed checkpoints of the chain head.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the checkpoints table."""
    op.create_table("checkpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("position", POSITION, nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", sa.String(length=27), nullable=False),
        sa.Column("signed_at", sa.String(length=27), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("id")
    )
    op.create_index("ix_checkpoints_signed_at", "checkpoints", ["signed_at"])


def downgrade() -> None:
    """Refuse: signed checkpoints are evidence auditors hold copies of; restore a backup instead."""
    raise RuntimeError("signed checkpoints are evidence; restore a backup taken before 0002 instead")
