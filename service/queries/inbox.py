"""What waits for one person: drafts, reviews, signatures, publications, periodic reviews, acknowledgements."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from events.domain.canonical import format_time, parse_time
from events.domain.rules import SIGNING_ROLES
from projections import audit, catalog, documents, revisions
from service import accounts, delegations
from service.accounts import User

from . import campaigns
from . import revision as revision_detail

REVIEW_SOON = timedelta(days=30)  # periodic reviews shown this long before they fall due


@dataclass
class Inbox:
    """One person's work, each entry a dict a page can link from."""

    drafts: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    signatures: list[dict[str, Any]] = field(default_factory=list)
    publications: list[dict[str, Any]] = field(default_factory=list)
    periodic_reviews: list[dict[str, Any]] = field(default_factory=list)
    acknowledgements: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Tell whether nothing waits."""
        return not any((self.drafts, self.reviews, self.signatures, self.publications, self.periodic_reviews,
                        self.acknowledgements))


def inbox(connection: Connection, user: User, now: str) -> Inbox:
    """Return what waits for a user now, by their name and their roles."""
    found = Inbox()
    policies = {row["policy_id"]: row for row in catalog.page(connection, None, 100_000)}
    absent = [person for name in delegations.delegators(connection, user.name, now)
              if (person := accounts.find(connection, name)) is not None]  # those this user may sign for now
    for rev in revisions.open_revisions(connection):
        policy = policies.get(rev["policy_id"])
        if policy is None:
            continue
        entry = {**rev, "policy_title": policy["title"], "policy_language": policy["language"]}
        if rev["author"] == user.name:
            if rev["status"] == "draft":
                found.drafts.append(entry)
            continue  # separation of duties: nothing else of one's own revision is one's to do
        if rev["status"] == "draft":
            continue
        detail = revision_detail(connection, rev["policy_id"], rev["revision_id"])
        assert detail is not None
        if rev["status"] == "in_review" and "reviewer" in user.roles and (
                not rev["reviewers"] or user.name in rev["reviewers"]):
            verdicts = {r["reviewer"]: r["verdict"] for r in detail["reviews"] if not r["void"]}
            if verdicts.get(user.name) != "approve":
                found.reviews.append(entry)
        waiting = next((step for step in detail["route"] if step["status"] == "waiting"), None)
        if rev["status"] == "in_review" and waiting is not None and any(
                _signs(waiting, person) for person in (user, *absent) if person.name != rev["author"]):
            found.signatures.append({**entry, "step": waiting["step"], "steps": len(detail["route"])})
        if rev["status"] == "approved" and "approver" in user.roles:
            found.publications.append(entry)
    soon = format_time(parse_time(now) + REVIEW_SOON)
    asked = campaigns.waiting_for(connection, user.name, now)
    for policy_id, policy in policies.items():
        if policy["retired_from"] is not None and policy["retired_from"] <= now:
            continue  # in force nowhere: nothing to review or acknowledge
        due = policy["next_review_due"]
        if due is not None and due <= soon and _answers_for(connection, policy, user, now):
            found.periodic_reviews.append({**policy, "overdue": due <= now})
        acknowledged = audit.acknowledged(connection, policy_id, user.name)
        waiting = documents.acknowledgement_due(connection, policy_id,
                                                acknowledged[-1]["version"] if acknowledged else None)
        in_force = documents.in_force_many(connection, [policy_id], now).get(policy_id)
        if waiting is not None and in_force is not None and waiting["version"] <= in_force["version"]:
            # a substantive change since the version last acknowledged is in force: acknowledge what is in force
            campaign = asked.get(policy_id)
            found.acknowledgements.append({**policy, "version": in_force["version"],
                                           "effective_from": in_force["effective_from"],
                                           "due": campaign["due"] if campaign else None,
                                           "overdue": bool(campaign and campaign["overdue"])})
    return found


def _signs(step: dict[str, Any], user: User) -> bool:
    """Tell whether a person is among the signers a step waits on and has not signed it yet."""
    admitted = user.name in step["users"] or any(r in user.roles for r in step["roles"] if r in SIGNING_ROLES)
    return admitted and user.name not in step["signers"]


def _answers_for(connection: Connection, policy: dict[str, Any], user: User, now: str) -> bool:
    """Tell whether a person answers for a policy: its owner, or responsible for it or a section of it now."""
    if policy["owner"] == user.name:
        return True
    assigned = audit.assignments_at(connection, policy["policy_id"], now, None, None, 1000)
    return any(a["party"] in (user.name, user.full_name) for a in assigned)
