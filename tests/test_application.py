"""Use cases: commands in, events out; cached folds stay current; If-Match and idempotency keys."""
from __future__ import annotations

import pytest

from events.application import Context, Ledger
from events.errors import ConcurrencyError, IdempotencyMismatch
from events.policy import Actor

from .lifecycle import AUTHOR, run_lifecycle
from .support import SequentialIds


def test_a_cached_fold_catches_up_with_events_another_ledger_appended(ledger, clock, store):
    run_lifecycle(ledger, clock)
    other = Ledger(store=store, clock=clock, ids=SequentialIds())
    other.ids.count = 1000
    rid = other.handle("open_revision", "oshsu-quality", AUTHOR, {"summary": "from elsewhere"}).result["revision_id"]
    # `ledger` has the policy cached from before; its next command must see the other's revision.
    ledger.handle("change_revision", "oshsu-quality", AUTHOR, {"revision_id": rid, "changes": [
        {"op": "retitle", "title": "Жаңы аталыш"}]})
    assert ledger.load("oshsu-quality").revisions[rid].preview.title == "Жаңы аталыш"
    cached = ledger._checkout("oshsu-quality")
    fresh = ledger.load("oshsu-quality")
    assert cached.version == fresh.version
    assert {k: v.status for k, v in cached.revisions.items()} == {k: v.status for k, v in fresh.revisions.items()}


def test_a_refused_command_leaves_no_half_applied_state_behind(ledger, clock):
    run_lifecycle(ledger, clock)
    rid = ledger.handle("open_revision", "oshsu-quality", AUTHOR, {"summary": "x"}).result["revision_id"]
    with pytest.raises(Exception):
        ledger.handle("change_revision", "oshsu-quality", AUTHOR, {"revision_id": rid, "changes": [
            {"op": "retitle", "title": "бир"}, {"op": "remove", "section_id": "s-nope"}]})
    assert ledger._checkout("oshsu-quality").revisions[rid].changes == []


def test_a_stale_if_match_is_refused_without_appending(ledger, clock, store):
    run_lifecycle(ledger, clock)
    version = store.stream_version("policy-oshsu-quality")
    head = store.head()[0]
    stale = Context(actor=AUTHOR.actor, expected_version=version - 1)
    with pytest.raises(ConcurrencyError):
        ledger.handle("open_revision", "oshsu-quality", stale, {"summary": "x"})
    assert store.head()[0] == head
    fresh = Context(actor=AUTHOR.actor, expected_version=version)
    ledger.handle("open_revision", "oshsu-quality", fresh, {"summary": "x"})


def test_an_idempotency_key_answers_a_retry_once_and_refuses_another_request(ledger, clock, store):
    run_lifecycle(ledger, clock)
    keyed = Context(actor=Actor(name="dean", role="author"), idempotency_key="dean:k1")
    first = ledger.handle("open_revision", "oshsu-quality", keyed, {"summary": "бир жолу"})
    head = store.head()[0]
    again = ledger.handle("open_revision", "oshsu-quality", keyed, {"summary": "бир жолу"})
    assert again.replayed and again.result == first.result
    assert store.head()[0] == head
    with pytest.raises(IdempotencyMismatch):
        ledger.handle("open_revision", "oshsu-quality", keyed, {"summary": "башка"})
    assert store.head()[0] == head
