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


def _amend(ledger, policy_id, revision_id, section_id, text):
    ledger.handle(cmd.ChangeRevision(policy_id=policy_id, revision_id=revision_id,
                                     changes=(cmd.AmendSection(section_id=section_id, text=text),)), AUTHOR)


def _open_draft(ledger, clock):
    run_lifecycle(ledger, clock)
    revision_id = ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="Тактоо"),
                                AUTHOR).result["revision_id"]
    section_id = next(iter(ledger.load("oshsu-quality").revisions[revision_id].preview.sections))
    return revision_id, section_id


def _another_process_adds(ledger, clock, store, engine, monkeypatch, revision_id, text):
    """Append as another process would: its own memory of previews, its own ledger on the same database."""
    from events.application import Ledger
    from projections.documents import writer
    from tests.support import SequentialIds
    ours = writer._PREVIEWS
    monkeypatch.setattr(writer, "_PREVIEWS", writer._Memo())
    ids = SequentialIds()
    ids.count = 10_000  # ids of its own
    other = Ledger(store=type(store)(engine, clock=clock), clock=clock, ids=ids)
    other.handle(cmd.ChangeRevision(policy_id="oshsu-quality", revision_id=revision_id, changes=(
        cmd.AddSection(kind="paragraph", text=text),)), AUTHOR)
    monkeypatch.setattr(writer, "_PREVIEWS", ours)


def _preview_texts(engine, revision_id):
    with engine.connect() as conn:
        return set(conn.execute(select(versions.preview_sections.c.text).where(
            versions.preview_sections.c.revision_id == revision_id)).scalars())


def _preview_equals_the_fold(ledger, engine, store, revision_id):
    folded = ledger.load("oshsu-quality").revisions[revision_id].preview
    with engine.connect() as conn:
        stored = versions.preview(conn, revision_id)
    assert stored["content_hash"] == folded.content_hash("oshsu-quality", "ky")
    live = snapshot(store)
    rebuild(store)
    assert snapshot(store) == live


def test_a_preview_kept_in_memory_by_an_append_that_rolled_back_is_never_used(
        ledger, clock, store, engine, monkeypatch):
    from events.store.signals import appended
    from projections.documents import writer
    revision_id, section_id = _open_draft(ledger, clock)
    _amend(ledger, "oshsu-quality", revision_id, section_id, "Биринчи өзгөртүү")
    pending_at_failure = []

    def fails_after_the_documents_wrote(sender, *, connection, events, replaying=False, memo=None):
        pending_at_failure.extend(writer._pending())
        raise RuntimeError("a later read model failed")

    appended.connect(fails_after_the_documents_wrote)  # connected last: runs after the read models
    try:
        with pytest.raises(RuntimeError):
            _amend(ledger, "oshsu-quality", revision_id, section_id, "Кайтарылган өзгөртүү")
    finally:
        appended.disconnect(fails_after_the_documents_wrote)
    assert [key[1] for key, _ in pending_at_failure] == [revision_id]  # the rolled-back preview was pending
    # Another process takes the stream version the rolled-back append had used.
    _another_process_adds(ledger, clock, store, engine, monkeypatch, revision_id, "Башка процесс кошкон пункт")
    _amend(ledger, "oshsu-quality", revision_id, section_id, "Экинчи өзгөртүү ң")
    texts = _preview_texts(engine, revision_id)
    assert texts == {"Экинчи өзгөртүү ң", "Башка процесс кошкон пункт"}
    _preview_equals_the_fold(ledger, engine, store, revision_id)


def test_a_preview_another_process_changed_is_read_again_not_taken_from_memory(
        ledger, clock, store, engine, monkeypatch):
    from projections.documents import writer
    revision_id, section_id = _open_draft(ledger, clock)
    _amend(ledger, "oshsu-quality", revision_id, section_id, "Бул процесстин өзгөртүүсү")
    assert (str(engine.url), revision_id) in writer._PREVIEWS.kept  # this process keeps the preview it wrote
    _another_process_adds(ledger, clock, store, engine, monkeypatch, revision_id, "Башка процесс кошкон пункт")
    _amend(ledger, "oshsu-quality", revision_id, section_id, "Кайра бул процесс")
    assert _preview_texts(engine, revision_id) == {"Башка процесс кошкон пункт", "Кайра бул процесс"}
    _preview_equals_the_fold(ledger, engine, store, revision_id)


def test_a_change_to_a_draft_hashes_no_whole_document_and_its_read_gives_the_folds_hash(
        ledger, clock, store, engine, monkeypatch):
    from events.domain.document import Document
    revision_id, section_id = _open_draft(ledger, clock)
    hashed = []
    real = Document.content_hash
    monkeypatch.setattr(Document, "content_hash", lambda self, *args: hashed.append(1) or real(self, *args))
    _amend(ledger, "oshsu-quality", revision_id, section_id, "Өзгөртүү ү ө ң")
    assert hashed == []  # the cost of a change follows the change, not the document
    monkeypatch.undo()
    _preview_equals_the_fold(ledger, engine, store, revision_id)
