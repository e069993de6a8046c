"""Read models on a real database: fed live by the append, equal to a rebuild from the log."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import DBAPIError

from events.domain import commands as cmd
from events.domain.types import RevisionOpened
from events.store.prepared import Prepared
from projections import audit, campaigns, catalog, revisions
from projections import documents as versions
from projections.rebuild import rebuild, snapshot
from tests.support.lifecycle import AUTHOR, run_campaign_and_retirement, run_lifecycle


def test_a_full_lifecycle_fills_every_read_model(ledger, clock, engine):
    ids = run_lifecycle(ledger, clock)
    with engine.connect() as conn:
        policy = catalog.get(conn, "oshsu-quality")
        assert policy["latest_version"] == 2
        assert policy["latest_effective_from"] == "2021-09-01T00:00:00.000000Z"
        assert policy["next_review_due"].startswith("2023-06-01")
        rows = conn.execute(
            select(versions.policy_versions).order_by(versions.policy_versions.c.version)).mappings().all()
        assert [r["version"] for r in rows] == [1, 2]
        assert rows[0]["adopted"] and not rows[1]["adopted"]
        sections = versions.get(conn, "oshsu-quality", 2)["sections"]
        assert sections[0]["children"][0]["text"] == "билим берүүнүн сапатын кепилдөөнү камсыздоо;"
        assert sections[0]["children"][1]["text"] == "санариптик чөйрөнү өнүктүрүү;"
        assert [a["approver"] for a in json.loads(rows[1]["approvers"])] == ["qa-director", "rector"]
        history = conn.execute(select(versions.section_changes).where(
            versions.section_changes.c.section_id == ids["first_item"])).mappings().all()
        assert [(h["version"], h["changes"]) for h in history] == [(1, "added"), (2, "amended")]
        statuses = dict(conn.execute(select(revisions.revisions.c.revision_id, revisions.revisions.c.status)).all())
        assert statuses == {ids["draft"]: "published", ids["revision"]: "published", ids["rejected"]: "rejected"}
        moves = conn.execute(select(revisions.revision_transitions.c.to_status).where(
            revisions.revision_transitions.c.revision_id == ids["revision"])
            .order_by(revisions.revision_transitions.c.position)).scalars().all()
        assert moves == ["draft", "in_review", "draft", "in_review", "approved", "published"]
        trail = conn.execute(select(audit.audit_trail).order_by(audit.audit_trail.c.position)).mappings().all()
        rejected = next(t for t in trail if t["action"] == "revision_rejected")
        assert (rejected["actor"], rejected["role"], rejected["reason"]) == ("rector", "approver", "Жобо милдеттүү")
        assert len(trail) == len(list(ledger.store.read_all()))


def test_a_rebuild_gives_exactly_the_live_state(ledger, clock, store):
    run_lifecycle(ledger, clock)
    live = snapshot(store)
    replayed = rebuild(store)
    assert replayed == len(list(store.read_all()))
    assert snapshot(store) == live
    assert any(live.values())


def test_a_rebuild_in_small_batches_gives_the_same_state(ledger, clock, store, monkeypatch):
    run_lifecycle(ledger, clock)
    run_lifecycle(ledger, clock, policy_id="second-policy")
    live = snapshot(store)
    import projections.rebuild as module
    monkeypatch.setattr(module, "REPLAY_BATCH", 1)
    rebuild(store)
    assert snapshot(store) == live


def test_a_failing_read_model_rolls_the_append_back(ledger, clock, store, monkeypatch):
    run_lifecycle(ledger, clock)
    before = len(list(store.read_all()))
    live = snapshot(store)

    def broken(*args, **kwargs):
        raise RuntimeError("read model failed")

    monkeypatch.setitem(audit._ACTIONS, RevisionOpened, broken)
    from events.application import Context
    from events.domain.policy import Actor
    with pytest.raises(RuntimeError):
        ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="x"),
                      Context(actor=Actor(name="dean", role="author")))
    assert len(list(store.read_all())) == before
    assert snapshot(store) == live


def failing_statement(sender, *, connection, events, replaying=False, memo=None):
    # A write the database refuses (the policy's catalogue row again: a duplicate key), sent like every read
    # model's writes (on PostgreSQL, pipelined).
    Prepared(insert(catalog.policies)).execute(connection, catalog.get(connection, "oshsu-quality"))


def test_a_write_the_database_refuses_rolls_the_append_back_and_leaves_the_writer_usable(ledger, clock, store):
    from events.store.signals import appended
    run_lifecycle(ledger, clock)
    before, live = len(list(store.read_all())), snapshot(store)
    appended.connect(failing_statement)
    try:
        with pytest.raises(DBAPIError):
            ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="x"), AUTHOR)
    finally:
        appended.disconnect(failing_statement)
    assert len(list(store.read_all())) == before
    assert snapshot(store) == live
    ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="y"), AUTHOR)  # the same thread's writer again
    assert len(list(store.read_all())) == before + 1


def test_campaigns_and_a_retirement_fill_their_read_models_and_a_rebuild_in_any_batches_gives_the_same(
        ledger, clock, store, engine, monkeypatch):
    run_lifecycle(ledger, clock)
    ids = run_campaign_and_retirement(ledger, clock)
    with engine.connect() as conn:
        first = campaigns.get(conn, "oshsu-quality", ids["campaign"])
        renewed = campaigns.get(conn, "oshsu-quality", ids["renewed"])
        assert first is not None and renewed is not None
        assert (first["version"], first["roles"], first["users"]) == (2, ["staff"], ["teacher"])
        assert first["people"] == renewed["people"] == sorted(["teacher", "lecturer", "Айгүл"])
        assert (renewed["version"], renewed["follows"], renewed["started_by"]) == (3, ids["campaign"], "rector")
        assert [c["campaign_id"] for c in campaigns.of_policy(conn, "oshsu-quality")] == [ids["renewed"],
                                                                                         ids["campaign"]]
        policy = catalog.get(conn, "oshsu-quality")
        assert policy["retired_from"] == "2024-09-01T00:00:00.000000Z" and policy["latest_version"] == 3
        assert policy["retired_reason"] == "Жаңы саясат менен алмаштырылды" and policy["next_review_due"] is None
        retirement = revisions.get(conn, ids["retirement"])
        assert retirement is not None and retirement["retire"] and retirement["status"] == "published"
        assert not revisions.get(conn, ids["revision"])["retire"]
        actions = conn.execute(select(audit.audit_trail.c.action)).scalars().all()
        assert {"campaign_started", "retirement_proposed", "policy_retired"} <= set(actions)
    live = snapshot(store)
    rebuild(store)
    assert snapshot(store) == live
    import projections.rebuild as module
    monkeypatch.setattr(module, "REPLAY_BATCH", 1)
    rebuild(store)
    assert snapshot(store) == live
