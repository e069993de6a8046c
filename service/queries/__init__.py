"""Reads that combine read models, shared by the API and the pages: each read model answers for its own tables."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection

from events.store.engine import read_transaction
from projections import audit, catalog, documents, revisions
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
    content_hash = preview["content_hash"]
    ids = [revision_id]
    return {
        **found,
        "changes": revisions.changes(connection, ids)[revision_id],
        "reviews": [{**r, "void": r["content_hash"] != content_hash}
                    for r in revisions.reviews(connection, ids)[revision_id]],
        "approvals": [{**a, "void": a["content_hash"] != content_hash}
                      for a in revisions.approvals(connection, ids)[revision_id]],
        "conflicts": preview["conflicts"], "content_hash": content_hash,
        "preview": {"title": preview["title"], "sections": preview["sections"]},
    }


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
