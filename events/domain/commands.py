"""Commands: what a person asks of one policy, as frozen dataclasses; the handler table is keyed by their classes.

Built by the HTTP request schemas, the command line and the demo; who asks, and why, travels beside a
command in the application's `Context`, never inside it.
"""
from __future__ import annotations

import enum
from dataclasses import MISSING, dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from .rules import ApprovalRule, Route


class Keep(enum.Enum):
    """A field an amendment leaves as it is (distinct from None, which clears a title or label)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True, kw_only=True)
class Command:
    """Something asked of one policy."""

    policy_id: str


@dataclass(frozen=True, kw_only=True)
class RevisionCommand(Command):
    """Something asked of one revision of a policy."""

    revision_id: str


# ---- section changes: one revision's change set, op by op ------------------------------------------

@dataclass(frozen=True, kw_only=True)
class SectionDraft:
    """A section to create, with the sections under it (a new policy's text)."""

    kind: str
    label: str | None = None
    title: str | None = None
    text: str = ""
    children: tuple[SectionDraft, ...] = ()


def section_drafts(items: list[dict[str, Any]]) -> tuple[SectionDraft, ...]:
    """Return sections given as nested dicts (kind, label, title, text, children) as drafts."""
    return tuple(SectionDraft(kind=item["kind"], label=item.get("label"), title=item.get("title"),
                              text=item.get("text", ""), children=section_drafts(item.get("children") or []))
                 for item in items)


@dataclass(frozen=True, kw_only=True)
class AddSection:
    """Add a section under a parent (None: the top level), after a sibling (None: first)."""

    op: ClassVar[str] = "add"
    kind: str
    parent_id: str | None = None
    after_id: str | None = None
    label: str | None = None
    title: str | None = None
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class AmendSection:
    """Replace a section's text, title or label; what is not given stays."""

    op: ClassVar[str] = "amend"
    section_id: str
    text: str | Keep = KEEP
    title: str | Keep | None = KEEP
    label: str | Keep | None = KEEP


@dataclass(frozen=True, kw_only=True)
class MoveSection:
    """Place a section (with its subtree) under another parent, after a sibling (None: first)."""

    op: ClassVar[str] = "move"
    section_id: str
    parent_id: str | None = None
    after_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RemoveSection:
    """Remove a section and its subtree."""

    op: ClassVar[str] = "remove"
    section_id: str


@dataclass(frozen=True, kw_only=True)
class RetitlePolicy:
    """Give the policy a new title."""

    op: ClassVar[str] = "retitle"
    title: str


@dataclass(frozen=True, kw_only=True)
class ChangeRoute:
    """Propose a new approval route for the policy; it takes over when the revision is published."""

    op: ClassVar[str] = "route"
    approval_rule: Route


Change = AddSection | AmendSection | MoveSection | RemoveSection | RetitlePolicy | ChangeRoute
CHANGES: dict[str, type[Change]] = {cls.op: cls for cls in (AddSection, AmendSection, MoveSection, RemoveSection,
                                                            RetitlePolicy, ChangeRoute)}


def change_fields(cls: type[Change]) -> tuple[frozenset[str], frozenset[str]]:
    """Return the fields a change op requires and those it may also take (what the API checks per op)."""
    required = frozenset(f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING)
    return required, frozenset(f.name for f in fields(cls)) - required


# ---- the commands ------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CreatePolicy(Command):
    """Create a policy; initial sections become a draft revision."""

    title: str
    language: str
    review_interval_days: int
    approval_rule: ApprovalRule | Route | None = None
    sections: tuple[SectionDraft, ...] = ()
    summary: str = "Initial text"


@dataclass(frozen=True, kw_only=True)
class OpenRevision(Command):
    """Open a draft against a published version (None: the newest)."""

    summary: str
    base_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class ChangeRevision(RevisionCommand):
    """Apply change ops to one's own draft, all or none."""

    changes: tuple[Change, ...]


@dataclass(frozen=True, kw_only=True)
class SubmitRevision(RevisionCommand):
    """Send one's own draft to named reviewers."""

    reviewers: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ReviewRevision(RevisionCommand):
    """A reviewer's verdict on the revision's current content."""

    verdict: str
    comment: str = ""


@dataclass(frozen=True, kw_only=True)
class ApproveRevision(RevisionCommand):
    """An approver's signature, with its meaning, on the revision's current content."""

    meaning: str
    comment: str = ""
    full_name: str = ""  # the signer's full name, from their account (the API never takes it from the body)
    on_behalf_of: str | None = None  # the person whose delegate signs (checked against delegations first)
    on_behalf_of_role: str | None = None  # the role of theirs the signature counts in


@dataclass(frozen=True, kw_only=True)
class PublishRevision(RevisionCommand):
    """Publish an approved revision as the next version, effective from a time (None: now)."""

    effective_from: datetime | None = None
    editorial: bool = False


@dataclass(frozen=True, kw_only=True)
class AdoptRevision(RevisionCommand):
    """Publish a policy's first version as approved before the ledger kept it."""

    effective_from: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RejectRevision(RevisionCommand):
    """Reject a revision for good (the reason travels in the context)."""


@dataclass(frozen=True, kw_only=True)
class WithdrawRevision(RevisionCommand):
    """Withdraw one's own revision for good (the reason travels in the context)."""


@dataclass(frozen=True, kw_only=True)
class AssignResponsibility(Command):
    """Make a person or unit responsible for the policy (section_id None) or one section, from a time."""

    party: str
    duty: str
    party_kind: str = "person"
    section_id: str | None = None
    valid_from: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RevokeResponsibility(Command):
    """End an assignment, at a time (None: now)."""

    assignment_id: str
    valid_to: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class RecordPeriodicReview(Command):
    """Record a periodic review of the version in force, even when nothing needs to change."""

    outcome: str
    notes: str = ""


@dataclass(frozen=True, kw_only=True)
class AcknowledgeVersion(Command):
    """Record that the person acting has read a version."""

    version: int


@dataclass(frozen=True, kw_only=True)
class RecallRevision(RevisionCommand):
    """Take one's own revision back from review to draft; its reviews and signatures are void."""


@dataclass(frozen=True, kw_only=True)
class ChangeReviewers(RevisionCommand):
    """Name other reviewers for one's own revision while it is in review."""

    reviewers: tuple[str, ...]


# ---- acknowledgement campaigns and retirement ---------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class StartCampaign(Command):
    """Ask people (by role or by name) to acknowledge a version by a date.

    `audience` is who that is when asked: the named users and the holders of the roles, resolved by the caller
    from the accounts (the domain knows no accounts)."""

    version: int
    due: datetime
    roles: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class OpenRetirement(Command):
    """Open a revision that retires the policy (the summary says why); it is reviewed and signed as any other."""

    summary: str
