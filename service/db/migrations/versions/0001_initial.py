"""Initial schema: the event log and its idempotency keys, every read model, users, tokens and HTTP idempotency.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Global log positions: 64-bit on PostgreSQL, SQLite's INTEGER (its 64-bit rowid type) there.
POSITION = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

APPEND_ONLY_MESSAGE = "events are append-only: UPDATE, DELETE and TRUNCATE are refused"

# The database itself refuses to change the log, whoever holds a prompt.
SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
)

POSTGRES_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END $$""",
    "DROP TRIGGER IF EXISTS events_no_update_delete ON events",
    """CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_append_only()""",
    "DROP TRIGGER IF EXISTS events_no_truncate ON events",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()""",
)


def upgrade() -> None:
    """Create every table and the append-only triggers."""
    op.create_table("acknowledgements",
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("person", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("position", POSITION, nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "person", "version")
    )
    op.create_table("audit_trail",
        sa.Column("position", POSITION, nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("occurred_at", sa.String(length=27), nullable=False),
        sa.Column("recorded_at", sa.String(length=27), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=True),
        sa.Column("section_id", sa.String(length=64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("correlation_id", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("position")
    )
    op.create_index("ix_audit_trail_actor", "audit_trail", ["actor", "position"])
    op.create_index("ix_audit_trail_policy", "audit_trail", ["policy_id", "position"])
    op.create_table("events",
        sa.Column("position", POSITION, autoincrement=False, nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("schema", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("meta", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.String(length=27), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("position"),
        sa.UniqueConstraint("stream", "version", name="uq_events_stream_version")
    )
    op.create_index("ix_events_recorded_at", "events", ["recorded_at"])
    op.create_table("http_idempotency",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("principal", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=3), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("key", "principal")
    )
    op.create_table("idempotency_keys",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("stream", sa.String(length=200), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("first_position", POSITION, nullable=False),
        sa.Column("last_position", POSITION, nullable=False),
        sa.Column("from_version", sa.Integer(), nullable=False),
        sa.Column("to_version", sa.Integer(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("key")
    )
    op.create_table("periodic_reviews",
        sa.Column("review_id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("next_review_due", sa.String(length=27), nullable=False),
        sa.Column("position", POSITION, nullable=False),
        sa.PrimaryKeyConstraint("review_id")
    )
    op.create_table("policies",
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("review_interval_days", sa.Integer(), nullable=False),
        sa.Column("approval_rule", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("latest_effective_from", sa.String(length=27), nullable=True),
        sa.Column("last_review_at", sa.String(length=27), nullable=True),
        sa.Column("next_review_due", sa.String(length=27), nullable=True),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("last_position", POSITION, nullable=False),
        sa.PrimaryKeyConstraint("policy_id")
    )
    op.create_table("policy_versions",
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("effective_from", sa.String(length=27), nullable=False),
        sa.Column("published_at", sa.String(length=27), nullable=False),
        sa.Column("recorded_at", sa.String(length=27), nullable=False),
        sa.Column("position", POSITION, nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("sections", sa.Text(), nullable=False),
        sa.Column("editorial", sa.Boolean(), nullable=False),
        sa.Column("backdated", sa.Boolean(), nullable=False),
        sa.Column("adopted", sa.Boolean(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("publisher", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("approvers", sa.Text(), nullable=False),
        sa.Column("touched", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "version")
    )
    op.create_index("ix_policy_versions_effective", "policy_versions", ["policy_id", "effective_from", "version"])
    op.create_table("responsibilities",
        sa.Column("assignment_id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("section_id", sa.String(length=64), nullable=True),
        sa.Column("party", sa.String(length=200), nullable=False),
        sa.Column("party_kind", sa.String(length=10), nullable=False),
        sa.Column("duty", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.String(length=27), nullable=False),
        sa.Column("valid_to", sa.String(length=27), nullable=True),
        sa.Column("assigned_by", sa.String(length=200), nullable=False),
        sa.Column("assigned_recorded_at", sa.String(length=27), nullable=False),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.Column("revoked_recorded_at", sa.String(length=27), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("assignment_id")
    )
    op.create_index("ix_responsibilities_policy", "responsibilities", ["policy_id", "section_id"])
    op.create_table("revision_approvals",
        sa.Column("position", POSITION, nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("approver", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("meaning", sa.String(length=100), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("position")
    )
    op.create_index("ix_revision_approvals_revision", "revision_approvals", ["revision_id", "position"])
    op.create_table("revision_changes",
        sa.Column("position", POSITION, nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("position")
    )
    op.create_index("ix_revision_changes_revision", "revision_changes", ["revision_id", "position"])
    op.create_table("revision_reviews",
        sa.Column("position", POSITION, nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("reviewer", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=80), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("position")
    )
    op.create_index("ix_revision_reviews_revision", "revision_reviews", ["revision_id", "position"])
    op.create_table("revision_transitions",
        sa.Column("position", POSITION, nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("at", sa.String(length=27), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("position")
    )
    op.create_index("ix_revision_transitions_policy", "revision_transitions", ["policy_id", "position"])
    op.create_table("revisions",
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("reviewers", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.String(length=27), nullable=False),
        sa.Column("updated_at", sa.String(length=27), nullable=False),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.Column("stream_version", sa.Integer(), nullable=False),
        sa.Column("last_position", POSITION, nullable=False),
        sa.PrimaryKeyConstraint("revision_id")
    )
    op.create_index("ix_revisions_policy", "revisions", ["policy_id", "revision_id"])
    op.create_table("section_changes",
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("section_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("changes", sa.String(length=100), nullable=False),
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("approvers", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.String(length=27), nullable=False),
        sa.Column("published_at", sa.String(length=27), nullable=False),
        sa.Column("position", POSITION, nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("policy_id", "section_id", "version")
    )
    op.create_table("users",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("name")
    )
    op.create_table("version_drafts",
        sa.Column("revision_id", sa.String(length=64), nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("signatures", sa.Text(), nullable=False),
        sa.Column("approved_hash", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("revision_id")
    )
    op.create_table("version_policies",
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("created_title", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id")
    )
    op.create_table("api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.String(length=27), nullable=False),
        sa.ForeignKeyConstraint(["user_name"], ["users.name"], ),
        sa.PrimaryKeyConstraint("token_hash")
    )
    triggers = POSTGRES_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    """Refuse: this revision holds the log, and no migration ever drops it."""
    raise RuntimeError("the initial schema holds the event log; it is never dropped by a migration")
