"""The vocabulary of sign-off, each rule once: roles, statuses, verdicts, meanings, limits and approval rules."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import types as ev
from .errors import InvalidInput

ROLES = ("author", "reviewer", "approver", "auditor", "admin", "staff")  # staff: read and acknowledge, nothing else
VERDICTS = ("approve", "request_changes")
# A signature's meaning comes from this fixed list; "reviewed" is recorded but does not count as approval.
MEANINGS = (
    "reviewed",
    "approved",
    "approved as responsible executive",
    "approved as quality assurance director",
    "approved as rector",
    "approved as chair of the academic council",
    "approved as legal counsel",
)
APPROVING_MEANINGS = frozenset(MEANINGS) - {"reviewed"}
PERIODIC_OUTCOMES = ("no_change", "revision_needed")
PARTY_KINDS = ("person", "unit")
SIGNING_ROLES = ("approver", "admin")  # the roles an approval rule may count

POLICY_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])")
POLICY_ID_RULE = "2 to 100 lowercase letters, digits and hyphens, not starting or ending with a hyphen"
LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")  # a BCP 47 tag: ky, ru, en-GB
REVIEW_INTERVAL_DAYS = (1, 3660)
APPROVALS = (1, 20)


class Status(StrEnum):
    """Where a revision is in its lifecycle."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def final(self) -> bool:
        """Tell whether no command can move a revision on from here."""
        return self in (Status.PUBLISHED, Status.REJECTED, Status.WITHDRAWN)


STATUSES = tuple(status.value for status in Status)


def status_after(event: ev.Event) -> Status | None:
    """Return the status an event moves its revision to, or None when it leaves the status as it is."""
    if isinstance(event, ev.RevisionOpened):
        return Status.DRAFT
    if isinstance(event, ev.RevisionSubmitted):
        return Status.IN_REVIEW
    if isinstance(event, ev.RevisionReviewed) and event.verdict == "request_changes":
        return Status.DRAFT
    if isinstance(event, ev.RevisionApprovalCompleted):
        return Status.APPROVED
    if isinstance(event, ev.RevisionPublished):
        return Status.PUBLISHED
    if isinstance(event, ev.RevisionRejected):
        return Status.REJECTED
    if isinstance(event, ev.RevisionWithdrawn):
        return Status.WITHDRAWN
    if isinstance(event, ev.PolicyRetired):
        return Status.PUBLISHED  # a retirement revision is published by taking effect
    return None


def check_range(value: int, bounds: tuple[int, int], field: str) -> None:
    """Refuse a whole number outside inclusive bounds, naming the field."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field.rsplit('.', 1)[-1]} must be a whole number from {low} to {high}", field=field)


@dataclass(frozen=True, kw_only=True)
class ApprovalRule:
    """How many distinct approvals, from which roles, publication needs."""

    approvals: int = 1
    roles: tuple[str, ...] = ("approver",)

    def __post_init__(self) -> None:
        check_range(self.approvals, APPROVALS, "approval_rule.approvals")
        if not self.roles or any(role not in SIGNING_ROLES for role in self.roles):
            raise InvalidInput(f"roles must be a non-empty list drawn from {', '.join(SIGNING_ROLES)}",
                               field="approval_rule.roles")
        object.__setattr__(self, "roles", tuple(dict.fromkeys(self.roles)))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ApprovalRule:
        """Rebuild a rule as events store it."""
        return cls(approvals=data["approvals"], roles=tuple(data["roles"]))

    def to_data(self) -> dict[str, Any]:
        """Return the rule as stored in events."""
        return {"approvals": self.approvals, "roles": list(self.roles)}


@dataclass(frozen=True, kw_only=True)
class Signature:
    """One approval as the rule sees it."""

    approver: str
    role: str
    meaning: str
    content_hash: str


def counting_approvers(rule: ApprovalRule, signatures: Iterable[Signature], content_hash: str) -> set[str]:
    """Return the distinct approvers whose signature counts: current content, an approving meaning, a rule role."""
    return {
        s.approver for s in signatures
        if s.content_hash == content_hash and s.meaning in APPROVING_MEANINGS and s.role in rule.roles
    }


def rule_met(rule: ApprovalRule, signatures: Iterable[Signature], content_hash: str) -> bool:
    """Tell whether enough valid approvals stand for this content."""
    return len(counting_approvers(rule, signatures, content_hash)) >= rule.approvals
