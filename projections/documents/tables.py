"""The documents read model's tables: published versions as outlines over section states, and revisions' previews."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Index, Integer, String, Table, Text, false

from events.store.tables import Position, metadata

# Each policy's language and first title, kept here so this read model needs no other.
version_policies = Table(
    "version_policies", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("language", String(35), nullable=False),
    Column("created_title", Text, nullable=False),
)

# Where each open revision began in its policy's stream. At its publication this read model replays the
# revision's own events (its changes, signatures and completed approval) from the log.
version_drafts = Table(
    "version_drafts", metadata,
    Column("revision_id", String(64), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("opened_version", Integer, nullable=False),
)

policy_versions = Table(
    "policy_versions", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("revision_id", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("language", String(35), nullable=False),
    Column("effective_from", String(27), nullable=False),
    Column("published_at", String(27), nullable=False),
    Column("recorded_at", String(27), nullable=False),
    Column("position", Position, nullable=False),
    Column("content_hash", String(80), nullable=False),
    Column("outline", Text, nullable=False),  # JSON: [[section id, version of its state, [children]], ...]
    Column("editorial", Boolean, nullable=False),
    Column("backdated", Boolean, nullable=False),
    Column("adopted", Boolean, nullable=False),
    Column("author", String(200), nullable=False),
    Column("publisher", String(200), nullable=False),
    Column("summary", Text, nullable=False),
    Column("approvers", Text, nullable=False),
    Column("touched", Text, nullable=False),
    Column("base_version", Integer),
    Column("signed_content_hash", String(80)),
    Column("rebased", Boolean, nullable=False, server_default=false()),
    Index("ix_policy_versions_effective", "policy_id", "effective_from", "version"),
)

# Each section's kind, label, title and text as one version set them, kept until a later version changes them.
section_states = Table(
    "section_states", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("section_id", String(64), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("label", Text),
    Column("title", Text),
    Column("text", Text, nullable=False),
)

section_changes = Table(
    "section_changes", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("section_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("changes", String(100), nullable=False),
    Column("revision_id", String(64), nullable=False),
    Column("author", String(200), nullable=False),
    Column("approvers", Text, nullable=False),
    Column("effective_from", String(27), nullable=False),
    Column("published_at", String(27), nullable=False),
    Column("position", Position, nullable=False),
    Column("text", Text),
)

# A revision's preview: its base version, its title and content hash as of its latest change, and where
# the revision's stream had got to then.
revision_previews = Table(
    "revision_previews", metadata,
    Column("revision_id", String(64), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("base_version", Integer, nullable=False),
    Column("title", Text, nullable=False),
    Column("last_position", Position, nullable=False),
)

# The sections a preview holds differently from its base version: each as it stands now (its place named by
# its parent and the sibling before it), or removed. A change writes the sections it touched and those whose
# sibling before changed, never the whole document.
preview_sections = Table(
    "preview_sections", metadata,
    Column("revision_id", String(64), primary_key=True),
    Column("section_id", String(64), primary_key=True),
    Column("removed", Boolean, nullable=False),
    Column("parent_id", String(64)),
    Column("after_id", String(64)),
    Column("kind", String(20)),
    Column("label", Text),
    Column("title", Text),
    Column("text", Text),
)

# The section ids (and `title` for a retitle) a revision's changes touched: what a publication on a newer
# base would clash on.
preview_touched = Table(
    "preview_touched", metadata,
    Column("revision_id", String(64), primary_key=True),
    Column("section_id", String(64), primary_key=True),
)

TABLES = (version_policies, version_drafts, policy_versions, section_states, section_changes, revision_previews,
          preview_sections, preview_touched)
