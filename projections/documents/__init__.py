"""Documents: every published version (its outline over section states) and every revision's preview as it stands.

Versions and previews are one read model because a preview starts from a version: one writer takes the
log's events in order, so a revision opened on a version published in the same batch finds it.
"""
from __future__ import annotations

from .outline import ProjectionMismatch, load_document, outline
from .reads import (
                    IN_FORCE,
                    acknowledgement_due,
                    document,
                    get,
                    in_force,
                    in_force_many,
                    page,
                    preview,
                    scheduled,
                    section_history,
                    section_published,
                    touched_after,
)
from .tables import (
                    TABLES,
                    policy_versions,
                    preview_sections,
                    preview_touched,
                    revision_previews,
                    section_changes,
                    section_states,
                    version_drafts,
                    version_policies,
)
from .writer import on_appended, on_committed

__all__ = [
    "IN_FORCE", "TABLES", "ProjectionMismatch", "acknowledgement_due", "document", "get", "in_force", "in_force_many",
    "load_document", "on_appended", "on_committed", "outline", "page", "policy_versions", "preview", "preview_sections",
    "preview_touched", "revision_previews", "scheduled", "section_changes", "section_history", "section_published",
    "section_states", "touched_after", "version_drafts", "version_policies",
]
