"""Approval routes, delegation and re-authenticated signatures; versions say what their signers signed.

Signatures keep the step of the route they were given for, the signer's full name and, when a delegate
signed, on whose behalf (`revision_approvals`); a revision keeps where in the log it was last recalled
(`revisions.recalled_position`); a version keeps the base its signers saw, the hash they signed and whether
it was published on a newer base (`policy_versions`). People name delegates for a period (`delegations`),
and each failed re-authentication at signing is kept (`signing_failures`). The catalogue now counts the next
review from a version's effective date. Existing rows get all of it from the log: this revision asks for a
rebuild of the read models, which `policy-ledger init` runs in the same transaction as the upgrade.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0008_routes
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_routes"
down_revision = "0007"
branch_labels = None
depends_on = None

_POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Add the columns and tables, and ask for a rebuild."""
    with op.batch_alter_table("revision_approvals") as batch:
        batch.add_column(sa.Column("step", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("full_name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("on_behalf_of", sa.String(length=200), nullable=True))
    with op.batch_alter_table("revisions") as batch:
        batch.add_column(sa.Column("recalled_position", _POSITION, nullable=True))
    with op.batch_alter_table("policy_versions") as batch:
        batch.add_column(sa.Column("base_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("signed_content_hash", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("rebased", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "delegations",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("delegator", sa.String(length=200), nullable=False),
        sa.Column("delegate", sa.String(length=200), nullable=False),
        sa.Column("valid_from", sa.String(length=27), nullable=False),
        sa.Column("valid_until", sa.String(length=27), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("revoked_at", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_delegations_delegate", "delegations", ["delegate", "valid_from"])
    op.create_table(
        "signing_failures",
        sa.Column("id", sa.Integer(), nullable=False, autoincrement=True),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_signing_failures_user", "signing_failures", ["user_name", "at"])
    requests = sa.table("rebuild_requests", sa.column("reason"), sa.column("requested_by"))
    op.get_bind().execute(sa.insert(requests).values(
        reason="signatures keep their step and signer; versions their signed hash; reviews fall due from "
               "the effective date", requested_by="0008_routes"))


def downgrade() -> None:
    """Refuse: restore a backup taken before this revision instead."""
    raise RuntimeError("downgrading 0008_routes is refused: restore a backup taken before it instead")
