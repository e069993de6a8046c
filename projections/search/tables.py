"""The search read model's tables: each section's text once per state, with the versions that held it.

The database's own full-text engine indexes `search_sections`, kept in step by the database itself: on SQLite
an FTS5 table `search_fts` filled by triggers (migration 0009), its columns the text as written and as folded;
on PostgreSQL two generated `tsvector` columns, each with a GIN index: `search_vector`, every form of the text
(0009), and `search_written`, the text as written (0015). None is declared here: they are the engine's,
derived from these rows.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from events.store.tables import metadata

# Each policy's language, as created (what its sections are stemmed as), and its newest version: the version
# in force at any time from that one's effective date on, without a look at the versions before it.
search_policies = Table(
    "search_policies", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("language", String(35), nullable=False),
    Column("newest_version", Integer),
    Column("newest_effective_from", String(27)),
)

# Every published version: its title and effective date, what the version in force at a time is read from.
search_versions = Table(
    "search_versions", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("effective_from", String(27), nullable=False),
    Index("ix_search_versions_effective", "policy_id", "effective_from", "version"),
)

# One row per state of a section: the versions from `first_version` to `last_version` (null: still the newest)
# held this label, title and text. `row_id` is the publishing event's position and the section's place in its
# document, so a rebuild gives every row the id it had live.
search_sections = Table(
    "search_sections", metadata,
    Column("row_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("policy_id", String(200), nullable=False),
    Column("section_id", String(64), nullable=False),
    Column("first_version", Integer, nullable=False),
    Column("last_version", Integer),
    Column("language", String(35), nullable=False),
    Column("label", Text),
    Column("body", Text, nullable=False),  # the section's title, then its text
    Column("folded", Text, nullable=False),  # the body as a keyboard without Kyrgyz letters types it
    Index("ix_search_sections_open", "policy_id", "section_id", "last_version"),
)

TABLES = (search_policies, search_versions, search_sections)
ROW_ID_SPAN = 1 << 20  # row ids per publishing event: its position times this, plus the section's place
# What the database's engine keeps over these rows (migrations 0009, 0015): nothing of it is declared above.
ENGINE_TABLE_PREFIX = "search_fts"  # SQLite: the FTS5 table and its shadow tables
ENGINE_COLUMNS = frozenset({"search_vector", "search_written"})  # PostgreSQL: the generated tsvectors
ENGINE_INDEXES = frozenset({"ix_search_sections_vector", "ix_search_sections_written"})  # PostgreSQL: their GIN indexes
