"""Domain errors: every refusal names the rule that refused."""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A command was refused; `code` is stable, `field` names bad input."""

    code = "domain_error"

    def __init__(self, message: str, *, field: str | None = None, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details or {}


class InvalidInput(DomainError):
    """A value is malformed or out of range (HTTP 422)."""

    code = "invalid_input"


class NotFound(DomainError):
    """A policy, revision, section or version does not exist (HTTP 404)."""

    code = "not_found"


class Forbidden(DomainError):
    """A role or separation-of-duties rule refuses the actor (HTTP 403)."""

    code = "forbidden"


class SeparationOfDuties(Forbidden):
    """The author of a revision tried to review or approve it."""

    code = "separation_of_duties"


class WrongState(DomainError):
    """The command does not fit the revision's or policy's lifecycle state (HTTP 409)."""

    code = "wrong_state"


class AlreadyExists(DomainError):
    """An id is taken (HTTP 409)."""

    code = "already_exists"


class ApprovalRuleNotMet(DomainError):
    """Publishing needs more approvals or completed reviews (HTTP 409)."""

    code = "approval_rule_not_met"


class RevisionConflict(DomainError):
    """A stale revision touches sections changed since its base (HTTP 409)."""

    code = "revision_conflict"

    def __init__(self, message: str, *, sections: list[str]) -> None:
        super().__init__(message, details={"conflicts": sections})
        self.sections = sections


class ConcurrencyError(DomainError):
    """The stream moved past the expected version (HTTP 409, or 412 with If-Match)."""

    code = "concurrency_conflict"

    def __init__(self, message: str, *, expected: int, actual: int) -> None:
        super().__init__(message, details={"expected_version": expected, "actual_version": actual})
        self.expected = expected
        self.actual = actual


class IdempotencyMismatch(DomainError):
    """An idempotency key was reused for a different request (HTTP 422)."""

    code = "idempotency_key_reused"


class EventOrderError(DomainError):
    """An event was applied out of order: the stream is corrupt or misread."""

    code = "event_order"
