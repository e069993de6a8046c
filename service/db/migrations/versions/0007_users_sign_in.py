"""Users sign in to the pages and receive messages: a full name, an e-mail address, a language, a password.

Passwords are stored as Argon2id hashes; `failed_attempts` and `last_failed_at` slow down repeated failed
sign-ins. Existing users keep their tokens and have no password until `policy-ledger users password NAME`.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the columns."""
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("full_name", sa.Text(), nullable=True))
        batch.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
        batch.add_column(sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_failed_at", sa.String(length=27), nullable=True))


def downgrade() -> None:
    """Refuse: restore a backup taken before this revision instead."""
    raise RuntimeError("downgrading 0007 is refused: restore a backup taken before it instead")
