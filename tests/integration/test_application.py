"""Use cases: commands in, events out; cached folds stay current; If-Match and idempotency keys."""
from __future__ import annotations

import pytest

from events.application import Context, Ledger
from events.domain import commands as cmd
from events.domain.errors import ConcurrencyError, DomainError, IdempotencyMismatch
from events.domain.policy import Actor
from tests.support import SequentialIds
from tests.support.lifecycle import AUTHOR, REVIEWER, run_lifecycle


def test_a_cached_fold_catches_up_with_events_another_ledger_appended(ledger, clock, store):
    run_lifecycle(ledger, clock)
    other = Ledger(store=store, clock=clock, ids=SequentialIds())
    other.ids.count = 1000
    rid = other.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="from elsewhere"),
                       AUTHOR).result["revision_id"]
    # `ledger` has the policy cached from before; its next command must see the other's revision.
    ledger.handle(cmd.ChangeRevision(policy_id="oshsu-quality", revision_id=rid,
                                     changes=(cmd.RetitlePolicy(title="Жаңы аталыш"),)), AUTHOR)
    assert ledger.load("oshsu-quality").revisions[rid].preview.title == "Жаңы аталыш"
    cached, _ = ledger._checkout("oshsu-quality", catch_up=False)
    fresh = ledger.load("oshsu-quality")
    assert cached.version == fresh.version
    assert {k: v.status for k, v in cached.revisions.items()} == {k: v.status for k, v in fresh.revisions.items()}


def test_a_refused_command_leaves_no_half_applied_state_behind(ledger, clock):
    run_lifecycle(ledger, clock)
    rid = ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="x"), AUTHOR).result["revision_id"]
    with pytest.raises(DomainError):
        ledger.handle(cmd.ChangeRevision(policy_id="oshsu-quality", revision_id=rid,
                                         changes=(cmd.RetitlePolicy(title="бир"),
                                                  cmd.RemoveSection(section_id="s-nope"))),
                      AUTHOR)
    assert ledger._checkout("oshsu-quality", catch_up=False)[0].revisions[rid].changes == []


class CountingStore:
    """The real store, counting how often the ledger reads a stream."""

    def __init__(self, store) -> None:
        self.store, self.stream_reads = store, 0

    def read_stream(self, *args, **kwargs):
        self.stream_reads += 1
        return self.store.read_stream(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_a_command_on_a_current_cached_fold_reads_nothing_from_the_log_before_appending(clock, store):
    counting = CountingStore(store)
    ledger = Ledger(store=counting, clock=clock, ids=SequentialIds())
    ids = run_lifecycle(ledger, clock)
    reads = counting.stream_reads
    ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="x"), AUTHOR)
    assert counting.stream_reads == reads
    assert ledger.load("oshsu-quality").version == store.stream_version("policy-oshsu-quality")
    assert ids


def test_a_refusal_decided_on_a_stale_cache_is_decided_again_on_fresh_state(ledger, clock, store):
    run_lifecycle(ledger, clock)
    rid = ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="x"), AUTHOR).result["revision_id"]
    doc = ledger.load("oshsu-quality").document_at(2)
    first = doc.children[None][0]
    ledger.handle(cmd.ChangeRevision(policy_id="oshsu-quality", revision_id=rid,
                                     changes=(cmd.AmendSection(section_id=first, title="Миссия"),)), AUTHOR)
    ledger.handle(cmd.SubmitRevision(policy_id="oshsu-quality", revision_id=rid, reviewers=("reviewer1",)), AUTHOR)
    # Another process sends the revision back to draft; this ledger's cache still has it in review.
    other = Ledger(store=store, clock=clock, ids=SequentialIds())
    other.handle(cmd.ReviewRevision(policy_id="oshsu-quality", revision_id=rid, verdict="request_changes",
                                    comment="Кыскараак"), REVIEWER)
    outcome = ledger.handle(cmd.ChangeRevision(policy_id="oshsu-quality", revision_id=rid,
                                               changes=(cmd.AmendSection(section_id=first, title="ОшМУнун миссиясы"),)),
                            AUTHOR)
    assert outcome.append is not None and not outcome.replayed
    assert ledger.load("oshsu-quality").revisions[rid].preview.sections[first].title == "ОшМУнун миссиясы"


def test_a_stale_cache_loses_the_race_and_the_command_is_decided_again(ledger, clock, store):
    run_lifecycle(ledger, clock)
    other = Ledger(store=store, clock=clock, ids=SequentialIds())
    other.ids.count = 1000
    first = other.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="a"), AUTHOR).result["revision_id"]
    before = store.stream_version("policy-oshsu-quality")
    second = ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="b"), AUTHOR).result["revision_id"]
    assert store.stream_version("policy-oshsu-quality") == before + 1
    assert set(ledger.load("oshsu-quality").revisions) >= {first, second}


def test_a_stale_if_match_is_refused_without_appending(ledger, clock, store):
    run_lifecycle(ledger, clock)
    version = store.stream_version("policy-oshsu-quality")
    head = store.head()[0]
    stale = Context(actor=AUTHOR.actor, expected_version=version - 1)
    with pytest.raises(ConcurrencyError):
        ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="x"), stale)
    assert store.head()[0] == head
    fresh = Context(actor=AUTHOR.actor, expected_version=version)
    ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="x"), fresh)


def test_an_idempotency_key_answers_a_retry_once_and_refuses_another_request(ledger, clock, store):
    run_lifecycle(ledger, clock)
    keyed = Context(actor=Actor(name="dean", role="author"), idempotency_key="dean:k1")
    first = ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="бир жолу"), keyed)
    head = store.head()[0]
    again = ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="бир жолу"), keyed)
    assert again.replayed and again.result == first.result
    assert store.head()[0] == head
    with pytest.raises(IdempotencyMismatch):
        ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="башка"), keyed)
    assert store.head()[0] == head
