"""Search: each section's text once per state, with the versions that held it, indexed by the database's engine.

On SQLite an FTS5 table, kept in step with `search_sections` by triggers: words in any script, case and
diacritics folded, English words stemmed (porter), with prefix indexes for stems of 4, 5 and 6 letters (a short
stem's matches are read from one list instead of merged from every word it begins).
On PostgreSQL a generated `tsvector` column with a GIN
index: the text stemmed as the policy's language where PostgreSQL has a stemmer for it (weight A), and the
text as a keyboard without Kyrgyz letters types it (weight D). The read model is filled by the rebuild that
`policy-ledger init` runs in the same transaction.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0009_search
Revises: 0007
Create Date: 2026-12-03
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_search"
down_revision = "0008_routes"
branch_labels = None
depends_on = None

SQLITE = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(body, folded, content='', "
    "tokenize='porter unicode61 remove_diacritics 2', prefix='4 5 6')",
    "CREATE TRIGGER search_sections_indexed AFTER INSERT ON search_sections BEGIN "
    "INSERT INTO search_fts(rowid, body, folded) VALUES (new.row_id, new.body, new.folded); END",
    "CREATE TRIGGER search_sections_unindexed AFTER DELETE ON search_sections BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body, folded) VALUES ('delete', old.row_id, old.body, old.folded); "
    "END",
    "CREATE TRIGGER search_sections_reindexed AFTER UPDATE OF row_id, body, folded ON search_sections BEGIN "
    "INSERT INTO search_fts(search_fts, rowid, body, folded) VALUES ('delete', old.row_id, old.body, old.folded); "
    "INSERT INTO search_fts(rowid, body, folded) VALUES (new.row_id, new.body, new.folded); END",
)
# The stemmer of each language PostgreSQL has one for; any other language is indexed word for word.
_STEMMED = {"ru": "russian", "en": "english", "de": "german", "ar": "arabic", "fr": "french", "tr": "turkish"}
_CONFIG = ("CASE lower(split_part(language, '-', 1)) "
           + " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in _STEMMED.items())
           + " ELSE 'simple'::regconfig END")
POSTGRESQL = (
    "ALTER TABLE search_sections ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
    f"setweight(to_tsvector({_CONFIG}, body), 'A') || setweight(to_tsvector('simple'::regconfig, folded), 'D')"
    ") STORED",
    "CREATE INDEX ix_search_sections_vector ON search_sections USING gin (search_vector)",
)


def upgrade() -> None:
    """Create the tables, the engine's index over them, and ask for a rebuild."""
    op.create_table(
        "search_policies",
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("newest_version", sa.Integer(), nullable=True),
        sa.Column("newest_effective_from", sa.String(length=27), nullable=True),
        sa.PrimaryKeyConstraint("policy_id"),
    )
    op.create_table(
        "search_versions",
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("effective_from", sa.String(length=27), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "version"),
    )
    op.create_index("ix_search_versions_effective", "search_versions", ["policy_id", "effective_from", "version"])
    op.create_table(
        "search_sections",
        sa.Column("row_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False,
                  nullable=False),
        sa.Column("policy_id", sa.String(length=200), nullable=False),
        sa.Column("section_id", sa.String(length=64), nullable=False),
        sa.Column("first_version", sa.Integer(), nullable=False),
        sa.Column("last_version", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("label", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("folded", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("row_id"),
    )
    op.create_index("ix_search_sections_open", "search_sections", ["policy_id", "section_id", "last_version"])
    for statement in SQLITE if op.get_bind().dialect.name == "sqlite" else POSTGRESQL:
        op.execute(statement)
    requests = sa.table("rebuild_requests", sa.column("reason"), sa.column("requested_by"))
    op.get_bind().execute(sa.insert(requests).values(reason="search indexes every version", requested_by="0009"))


def downgrade() -> None:
    """Refuse: restore a backup taken before this revision instead."""
    raise RuntimeError("downgrading 0009_search is refused: restore a backup taken before it instead")
