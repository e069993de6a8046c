"""Reads that combine read models, shared by the API and the pages: each read model answers for its own tables."""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from events.domain.errors import NotFound
from events.domain.rules import Route, Signature, route_progress, signed_hash
from events.store.engine import read_transaction
from projections import audit, catalog, documents, revisions
from service import accounts
from service.bootstrap import services


@contextmanager
def snapshot() -> Iterator[Connection]:
    """Open one consistent snapshot of the read models for a read."""
    with read_transaction(services().engine) as connection:
        yield connection


def catalogue(connection: Connection, after: str | None, limit: int, at: str) -> list[dict[str, Any]]:
    """Return up to `limit` policies by id after a given id, each with the version in force at `at`."""
    rows = catalog.page(connection, after, limit)
    in_force = documents.in_force_many(connection, [row["policy_id"] for row in rows], at)
    return [{**row, "version": None, "effective_from": None,
             **({} if row["retired_from"] is not None and at >= row["retired_from"]
                else in_force.get(row["policy_id"], {}))} for row in rows]


def revision(connection: Connection, policy_id: str, revision_id: str) -> dict[str, Any] | None:
    """Return a revision with its changes, reviews and signatures (each marked void once the content moved
    on), the conflicts a publication would meet, its content hash and its preview document."""
    found = revisions.get(connection, revision_id)
    if found is None or found["policy_id"] != policy_id:
        return None
    preview = documents.preview(connection, revision_id, final=found["final"])
    assert preview is not None, f"revision {revision_id} has no preview"
    ids = [revision_id]
    changes = revisions.changes(connection, ids)[revision_id]
    proposed = next((c["approval_rule"] for c in reversed(changes) if c["op"] == "route"), None)
    content_hash = signed_hash(preview["content_hash"], proposed)  # what reviews and signatures pin
    recalled = found["recalled_position"] or 0

    def void(row: dict[str, Any]) -> bool:
        return row["content_hash"] != content_hash or row["position"] < recalled

    approvals = [{**a, "void": void(a)} for a in revisions.approvals(connection, ids)[revision_id]]
    policy = catalog.get(connection, policy_id)
    assert policy is not None
    return {
        **found,
        "changes": changes,
        "reviews": [{**r, "void": void(r)} for r in revisions.reviews(connection, ids)[revision_id]],
        "approvals": approvals,
        "route": route(Route.from_data(json.loads(policy["approval_rule"])), approvals, content_hash,
                       found["status"]),
        "proposed_route": proposed,
        "conflicts": preview["conflicts"], "content_hash": content_hash,
        "preview": {"title": preview["title"], "sections": preview["sections"]},
    }


def policy_route(connection: Connection, policy_id: str) -> Route:
    """Return the approval route in force for a policy (the simple rule when it has one step)."""
    policy = catalog.get(connection, policy_id)
    if policy is None:
        raise NotFound(f"no policy {policy_id!r}", field="pid")
    return Route.from_data(json.loads(policy["approval_rule"]))


def route(policy_route: Route, approvals: list[dict[str, Any]], content_hash: str,
          status: str) -> list[dict[str, Any]]:
    """Return each step of the route with its status (done, waiting, pending) and who signed it, as a
    revision read shows them; only a revision in review waits on a step."""
    signatures = [Signature(approver=a["approver"], role=a["role"], meaning=a["meaning"],
                            content_hash=a["content_hash"], step=a["step"], on_behalf_of=a["on_behalf_of"])
                  for a in approvals if not a["void"]]
    steps = []
    for item, step in zip(route_progress(policy_route, signatures, content_hash), policy_route.steps, strict=True):
        state = item.status
        if state == "waiting" and status != "in_review":
            state = "pending"
        steps.append({"step": item.step, "status": state, "signers": list(item.signers),
                      "approvals": step.approvals, "users": list(step.users), "roles": list(step.roles),
                      "meanings": sorted(step.counted_meanings)})
    return steps


def section_known(connection: Connection, policy_id: str, section_id: str) -> bool:
    """Tell whether a section was ever published in the policy or given a responsible party."""
    return (documents.section_published(connection, policy_id, section_id)
            or audit.section_assigned(connection, policy_id, section_id))


def lineage(connection: Connection, policy_id: str, section_id: str) -> list[dict[str, Any]]:
    """Return every published change to one section: its version, revision, author, edits, reviews and signatures."""
    items = documents.section_history(connection, policy_id, section_id)
    revision_ids = [item["revision_id"] for item in items]
    reviews, approvals = revisions.reviews(connection, revision_ids), revisions.approvals(connection, revision_ids)
    edits = revisions.changes(connection, revision_ids)
    found = []
    for item in items:
        counted = item.pop("approvers")
        # Signatures that counted were all given to the approved content; anything given to other content is void.
        approved_hash = counted[0]["content_hash"] if counted else None
        rid = item["revision_id"]

        def void(row: dict[str, Any], approved: str | None = approved_hash) -> bool:
            return approved is not None and row["content_hash"] != approved

        found.append({
            **item, "approvers": [s["approver"] for s in counted],
            "edits": [{"position": e["position"], "type": e["type"], "actor": e["actor"], "at": e["at"],
                       "data": e["data"]} for e in edits[rid] if e.get("section_id") == section_id],
            "reviews": [{**r, "void": void(r)} for r in reviews[rid]],
            "approvals": [{**a, "void": void(a)} for a in approvals[rid]],
        })
    return found


def copy_stamp(connection: Connection, policy_id: str, version: dict[str, Any], printed_at: str) -> dict[str, Any]:
    """Return what a controlled copy of a published version names: policy, version, effective date, its
    approvers with the meanings they signed, its content hash and when the copy was printed."""
    signed = revisions.approvals(connection, [version["revision_id"]])[version["revision_id"]]
    people = {name: accounts.find(connection, name) for name in {a["approver"] for a in signed}}
    return {
        "policy_id": policy_id, "title": version["title"], "language": version["language"],
        "version": version["version"], "effective_from": version["effective_from"],
        "content_hash": version["content_hash"], "revision_id": version["revision_id"],
        "adopted": bool(version.get("adopted")), "printed_at": printed_at,
        "approvers": [{"name": _full_name(people[a["approver"]], a["approver"]), "role": a["role"],
                       "meaning": a["meaning"],
                       "at": a["at"]} for a in signed if a["content_hash"] == version["content_hash"]],
    }


def _full_name(user: accounts.User | None, name: str) -> str:
    return f"{user.full_name} ({name})" if user is not None and user.full_name not in ("", name) else name
