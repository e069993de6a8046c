"""The responsibility audit trail: one row per action, plus assignments, periodic reviews and acknowledgements."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, String, Table, Text, insert, update

from events import types as ev
from events.schema import Position, metadata
from events.store import StoredEvent
from events.streams import policy_of

audit_trail = Table(
    "audit_trail", metadata,
    Column("position", Position, primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("occurred_at", String(27), nullable=False),
    Column("recorded_at", String(27), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("action", String(40), nullable=False),
    Column("revision_id", String(64)),
    Column("section_id", String(64)),
    Column("version", Integer),
    Column("detail", Text),
    Column("reason", Text),
    Column("correlation_id", String(100)),
    Index("ix_audit_trail_policy", "policy_id", "position"),
    Index("ix_audit_trail_actor", "actor", "position"),
)

responsibilities = Table(
    "responsibilities", metadata,
    Column("assignment_id", String(64), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("section_id", String(64)),
    Column("party", String(200), nullable=False),
    Column("party_kind", String(10), nullable=False),
    Column("duty", Text, nullable=False),
    Column("valid_from", String(27), nullable=False),
    Column("valid_to", String(27)),
    Column("assigned_by", String(200), nullable=False),
    Column("assigned_recorded_at", String(27), nullable=False),
    Column("revoked_by", String(200)),
    Column("revoked_recorded_at", String(27)),
    Column("reason", Text),
    Index("ix_responsibilities_policy", "policy_id", "section_id"),
)

periodic_reviews = Table(
    "periodic_reviews", metadata,
    Column("review_id", String(64), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("notes", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("reviewer", String(200), nullable=False),
    Column("at", String(27), nullable=False),
    Column("next_review_due", String(27), nullable=False),
    Column("position", Position, nullable=False),
)

acknowledgements = Table(
    "acknowledgements", metadata,
    Column("policy_id", String(200), primary_key=True),
    Column("person", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content_hash", String(80), nullable=False),
    Column("at", String(27), nullable=False),
    Column("position", Position, nullable=False),
)

TABLES = (audit_trail, responsibilities, periodic_reviews, acknowledgements)


def _action(event: ev.Event) -> tuple[str, str | None]:
    """Name what an event did, with a short detail for the trail."""
    match event:
        case ev.PolicyCreated():
            return "policy_created", event.title
        case ev.RevisionOpened():
            return "revision_opened", event.summary
        case ev.SectionAdded():
            return "section_added", event.text
        case ev.SectionAmended():
            return "section_amended", event.text
        case ev.SectionMoved():
            return "section_moved", None
        case ev.SectionRemoved():
            return "section_removed", None
        case ev.PolicyRetitled():
            return "policy_retitled", event.title
        case ev.RevisionSubmitted():
            return "revision_submitted", ", ".join(event.reviewers)
        case ev.RevisionReviewed():
            return f"review_{event.verdict}", event.comment
        case ev.RevisionApproved():
            return "approval_signed", event.meaning
        case ev.RevisionApprovalCompleted():
            return "approval_completed", ", ".join(event.approvers)
        case ev.RevisionPublished():
            return "revision_published", f"version {event.version} effective {event.effective_from}"
        case ev.RevisionRejected():
            return "revision_rejected", None
        case ev.RevisionWithdrawn():
            return "revision_withdrawn", None
        case ev.ResponsibilityAssigned():
            return "responsibility_assigned", f"{event.party} ({event.party_kind}): {event.duty}"
        case ev.ResponsibilityRevoked():
            return "responsibility_revoked", event.assignment_id
        case ev.PeriodicReviewRecorded():
            return "periodic_review", event.outcome
        case ev.AcknowledgementRecorded():
            return "acknowledged", event.content_hash
    raise TypeError(event)


def _reason(stored: StoredEvent) -> str | None:
    event = stored.event
    return getattr(event, "reason", None) or stored.meta.get("reason")


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False) -> None:
    """Add one trail row per event and keep assignments, reviews and acknowledgements."""
    trail, assigned, reviews, acks = [], [], [], []
    for stored in events:
        event, meta, pid = stored.event, stored.meta, policy_of(stored.stream)
        action, detail = _action(event)
        trail.append({
            "position": stored.position, "policy_id": pid, "occurred_at": meta["occurred_at"],
            "recorded_at": stored.recorded_at, "actor": meta["actor"], "role": meta["role"], "action": action,
            "revision_id": getattr(event, "revision_id", None), "section_id": getattr(event, "section_id", None),
            "version": getattr(event, "version", None), "detail": detail, "reason": _reason(stored),
            "correlation_id": meta.get("correlation_id")})
        if isinstance(event, ev.ResponsibilityAssigned):
            assigned.append({
                "assignment_id": event.assignment_id, "policy_id": pid, "section_id": event.section_id,
                "party": event.party, "party_kind": event.party_kind, "duty": event.duty,
                "valid_from": event.valid_from, "valid_to": None, "assigned_by": meta["actor"],
                "assigned_recorded_at": stored.recorded_at, "revoked_by": None, "revoked_recorded_at": None,
                "reason": meta.get("reason")})
        elif isinstance(event, ev.ResponsibilityRevoked):
            if assigned:  # an assignment revoked in the same batch must exist first
                connection.execute(insert(responsibilities), assigned)
                assigned = []
            connection.execute(update(responsibilities)
                               .where(responsibilities.c.assignment_id == event.assignment_id)
                               .values(valid_to=event.valid_to, revoked_by=meta["actor"],
                                       revoked_recorded_at=stored.recorded_at))
        elif isinstance(event, ev.PeriodicReviewRecorded):
            reviews.append({"review_id": event.review_id, "policy_id": pid, "outcome": event.outcome,
                            "notes": event.notes, "version": event.version, "reviewer": meta["actor"],
                            "at": meta["occurred_at"], "next_review_due": event.next_review_due,
                            "position": stored.position})
        elif isinstance(event, ev.AcknowledgementRecorded):
            acks.append({"policy_id": pid, "person": event.person, "version": event.version,
                         "content_hash": event.content_hash, "at": meta["occurred_at"], "position": stored.position})
    for table, rows in ((audit_trail, trail), (responsibilities, assigned), (periodic_reviews, reviews),
                        (acknowledgements, acks)):
        if rows:
            connection.execute(insert(table), rows)
