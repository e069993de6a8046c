"""Search, faster on PostgreSQL: each section's text as written indexed on its own, without weights.

0009 indexed the text as written (weight A) and as folded (weight D) in one `tsvector`; telling a match as
written from one found only folded asked for weight A, which the GIN index cannot answer alone: PostgreSQL
read every row it found again, and estimated such a query's matches from the whole vector. Now the text as
written, stemmed as the policy's language (as 0009 stems it), has a generated column of its own,
`search_written`, with its own GIN index; `search_vector` keeps matching every form (its weights are no
longer asked for). Nothing changes on SQLite, whose FTS5 table already indexes the two texts as columns.

The column is computed by PostgreSQL for every row as the table is rewritten (the read model needs no
rebuild), and kept in the row itself where it fits (`STORAGE MAIN`): a walk down the newest rows reads it
without a second look into the TOAST table. The table's statistics are read again, so the planner knows how
common each word is in it.

Frozen as written: later code changes go into new revisions, never into this one.

Revision ID: 0015_search_speed
Revises: 0014_previews_hash_on_read
Create Date: 2026-12-03
"""
from __future__ import annotations

from alembic import op

revision = "0015_search_speed"
down_revision = "0014_previews_hash_on_read"
branch_labels = None
depends_on = None

# The stemmer of each language PostgreSQL has one for (as in 0009); any other language is indexed word for word.
_STEMMED = {"ru": "russian", "en": "english", "de": "german", "ar": "arabic", "fr": "french", "tr": "turkish"}
_CONFIG = ("CASE lower(split_part(language, '-', 1)) "
           + " ".join(f"WHEN '{code}' THEN '{name}'::regconfig" for code, name in _STEMMED.items())
           + " ELSE 'simple'::regconfig END")
UPGRADE = (
    f"ALTER TABLE search_sections ADD COLUMN search_written tsvector GENERATED ALWAYS AS "
    f"(to_tsvector({_CONFIG}, body)) STORED, ALTER COLUMN search_written SET STORAGE MAIN",
    "CREATE INDEX ix_search_sections_written ON search_sections USING gin (search_written)",
    "ANALYZE search_sections",
)
DOWNGRADE = (
    "DROP INDEX ix_search_sections_written",
    "ALTER TABLE search_sections DROP COLUMN search_written",
)


def upgrade() -> None:
    """Add the text as written, its index and fresh statistics (PostgreSQL only)."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in UPGRADE:
            op.execute(statement)


def downgrade() -> None:
    """Drop the column and its index: search reads as 0009 left it (PostgreSQL only)."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in DOWNGRADE:
            op.execute(statement)
