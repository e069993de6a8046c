"""Approval rules, signature meanings and verdicts: the vocabulary of sign-off."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from .errors import InvalidInput

ROLES = ("author", "reviewer", "approver", "auditor", "admin")
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


@dataclass(frozen=True, kw_only=True)
class ApprovalRule:
    """How many distinct approvals, from which roles, publication needs."""

    approvals: int = 1
    roles: tuple[str, ...] = ("approver",)

    @classmethod
    def parse(cls, raw: dict[str, Any] | None) -> ApprovalRule:
        """Validate a rule given as JSON, naming the bad field."""
        if raw is None:
            return cls()
        approvals = raw.get("approvals", 1)
        roles = raw.get("roles", ["approver"])
        if not isinstance(approvals, int) or isinstance(approvals, bool) or not 1 <= approvals <= 20:
            raise InvalidInput("approvals must be a whole number from 1 to 20", field="approval_rule.approvals")
        if not isinstance(roles, list) or not roles or any(r not in ("approver", "admin") for r in roles):
            raise InvalidInput("roles must be a non-empty list drawn from approver, admin",
                               field="approval_rule.roles")
        return cls(approvals=approvals, roles=tuple(dict.fromkeys(roles)))

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
