"""Event types: frozen, keyword-only, past tense, each with a stable name, a schema version and upcasters."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every domain event; `type_name` is what the log stores, never the class name."""

    type_name: ClassVar[str] = ""
    schema: ClassVar[int] = 1

    def to_data(self) -> dict[str, Any]:
        """Return the event's payload as plain JSON values (shared with the event: read, never change it)."""
        return {name: getattr(self, name) for name in _field_names(type(self))}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    # dataclasses.asdict deep-copies every value; payloads are JSON scalars and lists of them, read only.
    found = _FIELD_NAMES.get(cls)
    if found is None:
        found = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return found


@dataclass(frozen=True, kw_only=True)
class PolicyCreated(Event):
    type_name: ClassVar[str] = "PolicyCreated"
    policy_id: str
    title: str
    language: str
    owner: str
    review_interval_days: int
    approval_rule: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RevisionOpened(Event):
    type_name: ClassVar[str] = "RevisionOpened"
    revision_id: str
    base_version: int
    summary: str
    author: str


@dataclass(frozen=True, kw_only=True)
class SectionAdded(Event):
    type_name: ClassVar[str] = "SectionAdded"
    revision_id: str
    section_id: str
    parent_id: str | None
    after_id: str | None
    kind: str
    label: str | None
    title: str | None
    text: str


@dataclass(frozen=True, kw_only=True)
class SectionAmended(Event):
    type_name: ClassVar[str] = "SectionAmended"
    revision_id: str
    section_id: str
    text: str
    title: str | None
    label: str | None


@dataclass(frozen=True, kw_only=True)
class SectionMoved(Event):
    type_name: ClassVar[str] = "SectionMoved"
    revision_id: str
    section_id: str
    parent_id: str | None
    after_id: str | None


@dataclass(frozen=True, kw_only=True)
class SectionRemoved(Event):
    type_name: ClassVar[str] = "SectionRemoved"
    revision_id: str
    section_id: str


@dataclass(frozen=True, kw_only=True)
class PolicyRetitled(Event):
    type_name: ClassVar[str] = "PolicyRetitled"
    revision_id: str
    title: str


@dataclass(frozen=True, kw_only=True)
class RevisionSubmitted(Event):
    type_name: ClassVar[str] = "RevisionSubmitted"
    revision_id: str
    reviewers: list[str]
    content_hash: str


@dataclass(frozen=True, kw_only=True)
class RevisionReviewed(Event):
    type_name: ClassVar[str] = "RevisionReviewed"
    revision_id: str
    reviewer: str
    verdict: str
    comment: str
    content_hash: str


@dataclass(frozen=True, kw_only=True)
class RevisionApproved(Event):
    type_name: ClassVar[str] = "RevisionApproved"
    schema: ClassVar[int] = 2
    revision_id: str
    approver: str
    role: str
    meaning: str
    comment: str
    content_hash: str
    step: int  # schema 2: the route's step (0-based) it was given for
    full_name: str  # schema 2: the signer's full name as it stood when signing
    on_behalf_of: str | None  # schema 2: the person a delegate signed for


@dataclass(frozen=True, kw_only=True)
class RevisionApprovalCompleted(Event):
    type_name: ClassVar[str] = "RevisionApprovalCompleted"
    revision_id: str
    content_hash: str
    approvers: list[str]


@dataclass(frozen=True, kw_only=True)
class RevisionPublished(Event):
    type_name: ClassVar[str] = "RevisionPublished"
    schema: ClassVar[int] = 2
    revision_id: str
    version: int
    base_version: int
    effective_from: str
    backdated: bool
    editorial: bool
    adopted: bool
    title: str
    content_hash: str
    signed_content_hash: str | None  # schema 2: what the signers signed (None: not recorded before schema 2)
    rebased: bool  # schema 2: published on a newer version than the base the signers saw
    approval_rule: dict[str, Any] | None  # schema 2: the route the revision brings into force, if it changes it


@dataclass(frozen=True, kw_only=True)
class RevisionRejected(Event):
    type_name: ClassVar[str] = "RevisionRejected"
    revision_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RevisionWithdrawn(Event):
    type_name: ClassVar[str] = "RevisionWithdrawn"
    revision_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ResponsibilityAssigned(Event):
    type_name: ClassVar[str] = "ResponsibilityAssigned"
    assignment_id: str
    party: str
    party_kind: str
    section_id: str | None
    duty: str
    valid_from: str


@dataclass(frozen=True, kw_only=True)
class ResponsibilityRevoked(Event):
    type_name: ClassVar[str] = "ResponsibilityRevoked"
    assignment_id: str
    valid_to: str


@dataclass(frozen=True, kw_only=True)
class PeriodicReviewRecorded(Event):
    type_name: ClassVar[str] = "PeriodicReviewRecorded"
    review_id: str
    outcome: str
    notes: str
    version: int
    next_review_due: str


@dataclass(frozen=True, kw_only=True)
class AcknowledgementRecorded(Event):
    type_name: ClassVar[str] = "AcknowledgementRecorded"
    person: str
    version: int
    content_hash: str


@dataclass(frozen=True, kw_only=True)
class ApprovalRouteChanged(Event):
    type_name: ClassVar[str] = "ApprovalRouteChanged"
    revision_id: str
    approval_rule: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class RevisionRecalled(Event):
    type_name: ClassVar[str] = "RevisionRecalled"
    revision_id: str


@dataclass(frozen=True, kw_only=True)
class ReviewersChanged(Event):
    type_name: ClassVar[str] = "ReviewersChanged"
    revision_id: str
    reviewers: list[str]


REGISTRY: dict[str, type[Event]] = {
    cls.type_name: cls
    for cls in (
        PolicyCreated, RevisionOpened, SectionAdded, SectionAmended, SectionMoved, SectionRemoved,
        PolicyRetitled, RevisionSubmitted, RevisionReviewed, RevisionApproved, RevisionApprovalCompleted,
        RevisionPublished,
        RevisionRejected, RevisionWithdrawn, ResponsibilityAssigned, ResponsibilityRevoked,
        PeriodicReviewRecorded, AcknowledgementRecorded,
        ApprovalRouteChanged, RevisionRecalled, ReviewersChanged,
    )
}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


# (type name, schema it reads) -> function giving the payload at schema + 1. When a type's shape
# changes, its class's `schema` goes up by one and the step from the old shape is added here.
def _approved_v2(data: dict[str, Any]) -> dict[str, Any]:
    # Before routes every rule was one step, and signatures named no full name and no delegation.
    return {**data, "step": 0, "full_name": data["approver"], "on_behalf_of": None}


def _published_v2(data: dict[str, Any]) -> dict[str, Any]:
    # Before schema 2 the signed hash was not recorded; a publication on a newer base was a rebase.
    return {**data, "signed_content_hash": None, "rebased": data["base_version"] != data["version"] - 1,
            "approval_rule": None}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("RevisionApproved", 1): _approved_v2,
    ("RevisionPublished", 1): _published_v2,
}


def upcast(type_name: str, schema: int, data: dict[str, Any], *,
           registry: dict[str, type[Event]] = REGISTRY,
           upcasters: dict[tuple[str, int], Upcaster] = UPCASTERS) -> dict[str, Any]:
    """Bring an old payload up to the current schema of its type, step by step; the log is never rewritten."""
    current = registry[type_name].schema
    if schema > current:
        raise ValueError(f"{type_name} schema {schema} is newer than this code knows ({current})")
    while schema < current:
        data = upcasters[(type_name, schema)](data)
        schema += 1
    return data


def from_record(type_name: str, schema: int, data: dict[str, Any]) -> Event:
    """Rebuild a typed event from the log's type name, schema version and payload."""
    try:
        cls = REGISTRY[type_name]
    except KeyError:
        raise ValueError(f"unknown event type {type_name!r}") from None
    return cls(**upcast(type_name, schema, data))


def from_current(type_name: str, data: dict[str, Any]) -> Event:
    """Rebuild a typed event from a payload already at its type's current schema (as read models keep them)."""
    return REGISTRY[type_name](**data)


@dataclass(frozen=True, kw_only=True)
class Meta:
    """Who did it, in which role, why, when, and under which request."""

    actor: str
    role: str
    occurred_at: str
    reason: str | None = None
    correlation_id: str | None = None
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_data(self) -> dict[str, Any]:
        """Return the metadata as the log stores it."""
        data = {name: getattr(self, name) for name in _field_names(Meta) if name != "extra"}
        data.update(self.extra)
        return data


# ---- acknowledgement campaigns and retirement ---------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class CampaignStarted(Event):
    """People asked to acknowledge a version by a date; `people` is the audience as resolved when asked (the
    named users and the holders of the roles then), `follows` the campaign of an earlier version it renews."""

    type_name: ClassVar[str] = "CampaignStarted"
    campaign_id: str
    version: int
    roles: list[str]
    users: list[str]
    people: list[str]
    due: str
    follows: str | None


@dataclass(frozen=True, kw_only=True)
class RetirementProposed(Event):
    """The revision just opened proposes to retire the policy, not to change its text."""

    type_name: ClassVar[str] = "RetirementProposed"
    revision_id: str


@dataclass(frozen=True, kw_only=True)
class PolicyRetired(Event):
    """A retirement revision took effect: from `effective_from` the policy is in force nowhere."""

    type_name: ClassVar[str] = "PolicyRetired"
    revision_id: str
    effective_from: str
    backdated: bool
    last_version: int
    reason: str


REGISTRY.update({cls.type_name: cls for cls in (CampaignStarted, RetirementProposed, PolicyRetired)})
