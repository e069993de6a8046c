"""Who must act on an event, or on a periodic review coming due: the one place that decides it.

Read from the read models as they stand when the worker reads the event: the reviewers the author named, the
signers of the step of its approval route the revision waits on (and of the next step when one is
completed), the revision's author, everyone who has not yet
acknowledged a new substantive version, the policy's owner and the people responsible for it. Whoever did the
thing is not told of it, and each person is named once per event, for the most specific thing they must do.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection

from events.domain import types as ev
from events.domain.rules import ROLES
from events.domain.streams import policy_of
from events.store import StoredEvent
from projections import audit, revisions
from service import accounts, queries
from service.accounts import User

# What a message asks of its reader; when one person has several reasons for one event, the first one wins.
KINDS = ("review_requested", "signature_needed", "changes_requested", "rejected", "published",
         "acknowledgement_needed", "review_due", "review_overdue")


@dataclass(frozen=True, kw_only=True)
class Duty:
    """One person and what an event asks of them."""

    user: User
    kind: str


def for_event(connection: Connection, stored: StoredEvent) -> list[Duty]:
    """Return whom an event concerns and why, one duty per person, the actor left out."""
    event = stored.event
    found: list[Duty] = []
    if isinstance(event, ev.RevisionSubmitted):
        named = _users(connection, event.reviewers) if event.reviewers else accounts.holders(connection, "reviewer")
        found += [Duty(user=u, kind="review_requested") for u in named]
        if not event.reviewers:  # nobody to wait for: signatures are needed at once
            found += _approvers(connection, stored, event.revision_id)
    elif isinstance(event, ev.RevisionReviewed):
        if event.verdict == "request_changes":
            found += _author(connection, event.revision_id, "changes_requested")
        elif _reviews_completed_by(connection, stored, event):
            found += _approvers(connection, stored, event.revision_id)
    elif isinstance(event, ev.RevisionApproved):
        found += _next_step_signers(connection, stored, event)
    elif isinstance(event, ev.RevisionRejected):
        found += _author(connection, event.revision_id, "rejected")
    elif isinstance(event, ev.RevisionPublished):
        found += _author(connection, event.revision_id, "published")
        if not event.editorial:
            found += [Duty(user=u, kind="acknowledgement_needed")
                      for u in must_acknowledge(connection, _policy_id(stored), event.version)]
    return _once_each(found, leave_out=stored.meta.get("actor"))


def for_review(connection: Connection, policy: dict[str, Any], kind: str, now: str) -> list[Duty]:
    """Return who answers for a policy's periodic review: its owner and the people responsible for it now."""
    names = [policy["owner"]]
    for assignment in audit.assignments_at(connection, policy["policy_id"], now, None, None, 10_000):
        if assignment["party_kind"] == "person":
            names.append(assignment["party"])
    people = _everyone(connection)
    by_full_name = {u.full_name: u for u in people}
    by_name = {u.name: u for u in people}
    found = [by_name.get(name) or by_full_name.get(name) for name in names]
    return _once_each([Duty(user=u, kind=kind) for u in found if u is not None], leave_out=None)


def must_acknowledge(connection: Connection, policy_id: str, version: int) -> list[User]:
    """Return the people who must acknowledge a version: everyone who has not acknowledged it or a later one."""
    return [u for u in _everyone(connection)
            if not any(a["version"] >= version for a in audit.acknowledged(connection, policy_id, u.name))]


def _policy_id(stored: StoredEvent) -> str:
    return policy_of(stored.stream)


def _everyone(connection: Connection) -> list[User]:
    seen: dict[str, User] = {}
    for role in ROLES:
        for user in accounts.holders(connection, role):
            seen.setdefault(user.name, user)
    return sorted(seen.values(), key=lambda u: u.name)


def _users(connection: Connection, names: Iterable[str]) -> list[User]:
    return [u for u in (accounts.find(connection, name) for name in names) if u is not None]


def _author(connection: Connection, revision_id: str, kind: str) -> list[Duty]:
    found = revisions.get(connection, revision_id)
    return [Duty(user=u, kind=kind) for u in _users(connection, [found["author"]] if found else [])]


def _approvers(connection: Connection, stored: StoredEvent, revision_id: str) -> list[Duty]:
    """The signers the revision's route waits on now: the users its waiting step names and the holders of its
    roles who have not signed that step yet, never the revision's author."""
    return [Duty(user=u, kind="signature_needed") for u in _waiting_signers(connection, stored, revision_id)]


def _next_step_signers(connection: Connection, stored: StoredEvent, event: ev.RevisionApproved) -> list[Duty]:
    """When a signature completes its step of the route, the signers of the step that waits next."""
    steps = _route_then(connection, stored, event.revision_id)
    if steps is None or not 0 <= event.step < len(steps[1]) or steps[1][event.step]["status"] != "done":
        return []
    return _approvers(connection, stored, event.revision_id)


def _route_then(connection: Connection, stored: StoredEvent,
                revision_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
    """The revision and its route as they stood just after the event: only the signatures given until then."""
    detail = queries.revision(connection, _policy_id(stored), revision_id)
    if detail is None:
        return None
    given = [a for a in detail["approvals"] if a["position"] <= stored.position]
    return detail, queries.route(queries.policy_route(connection, _policy_id(stored)), given, detail["content_hash"],
                                 "in_review")


def _waiting_signers(connection: Connection, stored: StoredEvent, revision_id: str) -> list[User]:
    found = _route_then(connection, stored, revision_id)
    if found is None:
        return []
    detail, steps = found
    waiting = next((step for step in steps if step["status"] == "waiting"), None)
    if waiting is None:
        return []
    people: dict[str, User] = {u.name: u for u in _users(connection, waiting["users"])}
    for role in waiting["roles"]:
        people.update((u.name, u) for u in accounts.holders(connection, role))
    return [u for name, u in sorted(people.items()) if name != detail["author"] and name not in waiting["signers"]]


def _reviews_completed_by(connection: Connection, stored: StoredEvent, event: ev.RevisionReviewed) -> bool:
    """Tell whether this approving review is the one that made every named reviewer approve the content."""
    found = revisions.get(connection, event.revision_id)
    if found is None:
        return False
    named = found["reviewers"] if isinstance(found["reviewers"], list) else json.loads(found["reviewers"])
    if not named:
        return False  # signatures were asked for when it was submitted
    reviews = [r for r in revisions.reviews(connection, [event.revision_id])[event.revision_id]
               if r["content_hash"] == event.content_hash and r["position"] <= stored.position]

    def complete(upto: int) -> bool:
        verdicts = {r["reviewer"]: r["verdict"] for r in reviews if r["position"] <= upto}
        return all(verdicts.get(name) == "approve" for name in named)

    return complete(stored.position) and not complete(stored.position - 1)


def _once_each(duties: list[Duty], leave_out: str | None) -> list[Duty]:
    chosen: dict[str, Duty] = {}
    for duty in sorted(duties, key=lambda d: KINDS.index(d.kind)):
        if duty.user.name != leave_out:
            chosen.setdefault(duty.user.name, duty)
    return sorted(chosen.values(), key=lambda d: d.user.name)
