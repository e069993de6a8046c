"""The responsibility audit trail: one row per action, plus assignments, periodic reviews and acknowledgements."""
from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, String, Table, Text, bindparam, insert, or_, select, update

from events.domain import types as ev
from events.domain.rules import canonical_route
from events.domain.streams import policy_of
from events.store import StoredEvent
from events.store.prepared import Prepared
from events.store.tables import Position, metadata

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


# What each event did, as the trail names it, with a short detail.
_ACTIONS: dict[type, Callable[[Any], tuple[str, str | None]]] = {
    ev.PolicyCreated: lambda e: ("policy_created", e.title),
    ev.RevisionOpened: lambda e: ("revision_opened", e.summary),
    ev.SectionAdded: lambda e: ("section_added", e.text),
    ev.SectionAmended: lambda e: ("section_amended", e.text),
    ev.SectionMoved: lambda e: ("section_moved", None),
    ev.SectionRemoved: lambda e: ("section_removed", None),
    ev.PolicyRetitled: lambda e: ("policy_retitled", e.title),
    ev.RevisionSubmitted: lambda e: ("revision_submitted", ", ".join(e.reviewers)),
    ev.RevisionReviewed: lambda e: (f"review_{e.verdict}", e.comment),
    ev.RevisionApproved: lambda e: ("approval_signed",
                                    f"{e.meaning} (for {e.on_behalf_of})" if e.on_behalf_of else e.meaning),
    ev.RevisionApprovalCompleted: lambda e: ("approval_completed", ", ".join(e.approvers)),
    ev.RevisionPublished: lambda e: ("revision_published", f"version {e.version} effective {e.effective_from}"),
    ev.RevisionRejected: lambda e: ("revision_rejected", None),
    ev.RevisionWithdrawn: lambda e: ("revision_withdrawn", None),
    ev.ResponsibilityAssigned: lambda e: ("responsibility_assigned", f"{e.party} ({e.party_kind}): {e.duty}"),
    ev.ResponsibilityRevoked: lambda e: ("responsibility_revoked", e.assignment_id),
    ev.PeriodicReviewRecorded: lambda e: ("periodic_review", e.outcome),
    ev.AcknowledgementRecorded: lambda e: ("acknowledged", e.content_hash),
    ev.ApprovalRouteChanged: lambda e: ("route_proposed", canonical_route(e.approval_rule)),
    ev.RevisionRecalled: lambda e: ("revision_recalled", None),
    ev.ReviewersChanged: lambda e: ("reviewers_changed", ", ".join(e.reviewers)),
}

_ACTIONS.update({
    ev.CampaignStarted: lambda e: ("campaign_started", f"version {e.version} due {e.due}: {', '.join(e.people)}"),
    ev.RetirementProposed: lambda e: ("retirement_proposed", None),
    ev.PolicyRetired: lambda e: ("policy_retired", f"retired from {e.effective_from}"),
})

_INSERT_TRAIL = Prepared(insert(audit_trail))
_INSERT_ASSIGNED = Prepared(insert(responsibilities))
_INSERT_REVIEW = Prepared(insert(periodic_reviews))
_INSERT_ACK = Prepared(insert(acknowledgements))
_REVOKE = Prepared(update(responsibilities).where(responsibilities.c.assignment_id == bindparam("key")).values(
    valid_to=bindparam("new_valid_to"), revoked_by=bindparam("new_revoked_by"),
    revoked_recorded_at=bindparam("new_revoked_recorded_at")))


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False,
                memo: dict[str, Any] | None = None) -> None:
    """Add one trail row per event and keep assignments, reviews and acknowledgements."""
    trail, assigned, reviews, acks = [], [], [], []
    for stored in events:
        event, meta, pid = stored.event, stored.meta, policy_of(stored.stream)
        action, detail = _ACTIONS[type(event)](event)
        trail.append({
            "position": stored.position, "policy_id": pid, "occurred_at": meta["occurred_at"],
            "recorded_at": stored.recorded_at, "actor": meta["actor"], "role": meta["role"], "action": action,
            "revision_id": getattr(event, "revision_id", None), "section_id": getattr(event, "section_id", None),
            "version": getattr(event, "version", None), "detail": detail,
            "reason": getattr(event, "reason", None) or meta.get("reason"),
            "correlation_id": meta.get("correlation_id")})
        if isinstance(event, ev.ResponsibilityAssigned):
            assigned.append({
                "assignment_id": event.assignment_id, "policy_id": pid, "section_id": event.section_id,
                "party": event.party, "party_kind": event.party_kind, "duty": event.duty,
                "valid_from": event.valid_from, "valid_to": None, "assigned_by": meta["actor"],
                "assigned_recorded_at": stored.recorded_at, "revoked_by": None, "revoked_recorded_at": None,
                "reason": meta.get("reason")})
        elif isinstance(event, ev.ResponsibilityRevoked):
            _INSERT_ASSIGNED.execute_many(connection, assigned)  # one revoked in the same batch must exist first
            assigned = []
            _REVOKE.execute(connection, {"key": event.assignment_id, "new_valid_to": event.valid_to,
                                         "new_revoked_by": meta["actor"],
                                         "new_revoked_recorded_at": stored.recorded_at})
        elif isinstance(event, ev.PeriodicReviewRecorded):
            reviews.append({"review_id": event.review_id, "policy_id": pid, "outcome": event.outcome,
                            "notes": event.notes, "version": event.version, "reviewer": meta["actor"],
                            "at": meta["occurred_at"], "next_review_due": event.next_review_due,
                            "position": stored.position})
        elif isinstance(event, ev.AcknowledgementRecorded):
            acks.append({"policy_id": pid, "person": event.person, "version": event.version,
                         "content_hash": event.content_hash, "at": meta["occurred_at"], "position": stored.position})
    for statement, rows in ((_INSERT_TRAIL, trail), (_INSERT_ASSIGNED, assigned), (_INSERT_REVIEW, reviews),
                            (_INSERT_ACK, acks)):
        statement.execute_many(connection, rows)


# ---- reads -------------------------------------------------------------------------------------

# Every action name _ACTIONS gives, for validating filters.
ACTIONS: tuple[str, ...] = (
    "policy_created", "revision_opened", "section_added", "section_amended", "section_moved", "section_removed",
    "policy_retitled", "revision_submitted", "review_approve", "review_request_changes", "approval_signed",
    "approval_completed", "revision_published", "revision_rejected", "revision_withdrawn",
    "responsibility_assigned", "responsibility_revoked", "periodic_review", "acknowledged",
    "route_proposed", "revision_recalled", "reviewers_changed",
)
ACTIONS += ("campaign_started", "retirement_proposed", "policy_retired")


def trail_page(connection: Connection, policy_id: str, *, after: int | None, limit: int, actor: str | None = None,
               action: str | None = None, since: str | None = None, until: str | None = None,
               as_of: str | None = None) -> list[dict[str, Any]]:
    """Return up to `limit` trail rows of a policy in log order, filtered by actor, action, occurred and record time."""
    t = audit_trail
    query = select(t).where(t.c.policy_id == policy_id).order_by(t.c.position).limit(limit)
    filters = ((t.c.position, operator.gt, after), (t.c.actor, operator.eq, actor),
               (t.c.action, operator.eq, action), (t.c.occurred_at, operator.ge, since),
               (t.c.occurred_at, operator.le, until), (t.c.recorded_at, operator.le, as_of))
    for column, compare, value in filters:
        if value is not None:
            query = query.where(compare(column, value))
    return [dict(row) for row in connection.execute(query).mappings()]


def log_page(connection: Connection, *, before: int | None, limit: int, policy_id: str | None = None,
             actor: str | None = None, action: str | None = None, since: str | None = None,
             until: str | None = None) -> list[dict[str, Any]]:
    """Return up to `limit` trail rows of every policy, newest first, before a position, filtered."""
    t = audit_trail
    query = select(t).order_by(t.c.position.desc()).limit(limit)
    filters = ((t.c.position, operator.lt, before), (t.c.policy_id, operator.eq, policy_id),
               (t.c.actor, operator.eq, actor), (t.c.action, operator.eq, action),
               (t.c.recorded_at, operator.ge, since), (t.c.recorded_at, operator.le, until))
    for column, compare, value in filters:
        if value is not None:
            query = query.where(compare(column, value))
    return [dict(row) for row in connection.execute(query).mappings()]


def responsibilities_at(connection: Connection, policy_id: str, *, at: str, as_of: str,
                        section_id: str | None = None) -> list[dict[str, Any]]:
    """Return who was responsible at effective time `at`, as recorded by `as_of` (a section's and policy-wide)."""
    r = responsibilities
    query = (select(r).where(
        r.c.policy_id == policy_id, r.c.assigned_recorded_at <= as_of, r.c.valid_from <= at,
        # A revocation counts only once it was recorded; until then the assignment stood open-ended.
        or_(r.c.revoked_recorded_at.is_(None), r.c.revoked_recorded_at > as_of, r.c.valid_to > at))
        .order_by(r.c.valid_from, r.c.assignment_id))
    if section_id is not None:
        query = query.where(or_(r.c.section_id == section_id, r.c.section_id.is_(None)))
    rows = []
    for row in connection.execute(query).mappings():
        found = dict(row)
        if found["revoked_recorded_at"] is not None and found["revoked_recorded_at"] > as_of:
            found.update(valid_to=None, revoked_by=None, revoked_recorded_at=None)
        rows.append(found)
    return rows


def assignments_at(connection: Connection, policy_id: str, at: str, section_id: str | None,
                     after: tuple[str, str] | None, limit: int) -> list[dict[str, Any]]:
    """Return up to `limit` assignments valid at `at` (of one section, if given), by start then id."""
    r = responsibilities
    query = (select(r).where(r.c.policy_id == policy_id, r.c.valid_from <= at,
                             (r.c.valid_to.is_(None)) | (r.c.valid_to > at))
             .order_by(r.c.valid_from, r.c.assignment_id).limit(limit))
    if section_id is not None:
        query = query.where(r.c.section_id == section_id)
    if after is not None:
        start, last_id = after
        query = query.where((r.c.valid_from > start) | ((r.c.valid_from == start) & (r.c.assignment_id > last_id)))
    return [dict(row) for row in connection.execute(query).mappings()]


def section_assigned(connection: Connection, policy_id: str, section_id: str) -> bool:
    """Tell whether anyone was ever made responsible for this section of the policy."""
    r = responsibilities
    return connection.execute(select(r.c.section_id).where(r.c.policy_id == policy_id, r.c.section_id == section_id)
                              .limit(1)).first() is not None


def acknowledged(connection: Connection, policy_id: str, person: str) -> list[dict[str, Any]]:
    """Return the versions one person has acknowledged, oldest first, each with the content hash it was bound to."""
    a = acknowledgements
    query = (select(a.c.version, a.c.content_hash, a.c.at, a.c.position)
             .where(a.c.policy_id == policy_id, a.c.person == person).order_by(a.c.version))
    return [dict(row) for row in connection.execute(query).mappings()]


def assignment(connection: Connection, policy_id: str, assignment_id: str) -> dict[str, Any] | None:
    """Return one responsibility assignment of a policy."""
    r = responsibilities
    row = connection.execute(select(r).where(r.c.policy_id == policy_id, r.c.assignment_id == assignment_id)
                             ).mappings().first()
    return dict(row) if row else None


def periodic_review(connection: Connection, policy_id: str, review_id: str) -> dict[str, Any] | None:
    """Return one recorded periodic review of a policy."""
    p = periodic_reviews
    row = connection.execute(select(p).where(p.c.policy_id == policy_id, p.c.review_id == review_id)
                             ).mappings().first()
    return dict(row) if row else None


def periodic_reviews_of(connection: Connection, policy_id: str) -> list[dict[str, Any]]:
    """Return every periodic review of a policy, newest first."""
    p = periodic_reviews
    query = select(p).where(p.c.policy_id == policy_id).order_by(p.c.position.desc())
    return [dict(row) for row in connection.execute(query).mappings()]


def acknowledgements_by(connection: Connection, policy_id: str, people: list[str],
                        versions: list[int]) -> list[dict[str, Any]]:
    """Return the acknowledgements of any of `versions` by any of `people`, oldest first (a campaign's roster)."""
    a = acknowledgements
    query = (select(a.c.person, a.c.version, a.c.at)
             .where(a.c.policy_id == policy_id, a.c.person.in_(people), a.c.version.in_(versions))
             .order_by(a.c.position))
    return [dict(row) for row in connection.execute(query).mappings()]
