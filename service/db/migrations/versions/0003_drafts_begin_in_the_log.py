"""Open drafts keep only where they began in their policy's stream; publication replays them from the log.

The versions read model used to copy each draft's change set and signatures into `version_drafts` on every
change; it now reads them back from the log when the revision is published. Each open draft's opening is
found in the log (its RevisionOpened event) and the copied columns go.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Give every open draft the stream version of its opening, then drop the copied columns."""
    op.add_column("version_drafts", sa.Column("opened_version", sa.Integer(), nullable=True))
    revision_id = ("json_extract(events.data, '$.revision_id')" if op.get_bind().dialect.name == "sqlite"
                   else "(events.data::json ->> 'revision_id')")
    op.execute(f"""UPDATE version_drafts SET opened_version = (
        SELECT events.version FROM events
        WHERE events.stream = 'policy-' || version_drafts.policy_id AND events.type = 'RevisionOpened'
          AND {revision_id} = version_drafts.revision_id)""")
    with op.batch_alter_table("version_drafts") as batch:
        for column in ("author", "summary", "changes", "signatures", "approved_hash"):
            batch.drop_column(column)
        batch.alter_column("opened_version", existing_type=sa.Integer(), nullable=False)


def downgrade() -> None:
    """Refuse: the copied columns cannot be told from the log without replaying it; restore a backup."""
    raise RuntimeError("downgrading 0003 is refused: what it dropped was a copy of the log's events; "
                       "restore a backup taken before it instead")
