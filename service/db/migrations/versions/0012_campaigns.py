"""Acknowledgement campaigns, and retirement: the campaigns read model, a retired policy's date, a retirement revision.

`campaigns` and `campaign_people` keep each campaign and the people it asks; the catalogue keeps when a policy
is retired, why, and when that was recorded (`retired_from`, `retired_reason`, `retired_recorded_at`); a
revision says whether it retires its policy (`retire`). No event before this revision starts a campaign or
retires a policy, so existing rows are right as they are and no rebuild is asked for.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0012_campaigns
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_campaigns"
down_revision = "0009_search"
branch_labels = None
depends_on = None

POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the campaign tables and add the retirement columns."""
    op.create_table(
        "campaigns",
        sa.Column("campaign_id", sa.String(length=100), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("users", sa.Text(), nullable=False),
        sa.Column("due", sa.String(length=27), nullable=False),
        sa.Column("started_at", sa.String(length=27), nullable=False),
        sa.Column("started_by", sa.String(length=200), nullable=False),
        sa.Column("follows", sa.String(length=100), nullable=True),
        sa.Column("position", POSITION, nullable=False),
        sa.PrimaryKeyConstraint("campaign_id"),
    )
    op.create_index("ix_campaigns_policy", "campaigns", ["policy_id", "position"])
    op.create_table(
        "campaign_people",
        sa.Column("campaign_id", sa.String(length=100), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", "person"),
    )
    op.create_index("ix_campaign_people_person", "campaign_people", ["person", "policy_id"])
    with op.batch_alter_table("policies") as batch:
        batch.add_column(sa.Column("retired_from", sa.String(length=27), nullable=True))
        batch.add_column(sa.Column("retired_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("retired_recorded_at", sa.String(length=27), nullable=True))
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("retire", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    """Refuse: restore a backup taken before this revision instead."""
    raise RuntimeError("downgrading 0012_campaigns is refused: restore a backup taken before it instead")
