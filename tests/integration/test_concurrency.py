"""Several processes appending to one stream: exactly one wins each version, and a poller misses nothing."""
from __future__ import annotations

import multiprocessing
import time

import pytest

from events.domain import types as ev
from events.domain.errors import ConcurrencyError
from events.domain.types import Meta
from events.store import EventStore
from events.store.engine import make_engine

WRITERS, EACH = 4, 15


def _writer(url: str, name: str, stream: str, count: int, results) -> None:
    """Append `count` events to a shared stream, each at the version it last saw, retrying when beaten."""
    store = EventStore(make_engine(url))
    conflicts = 0
    for n in range(count):
        while True:
            version = store.stream_version(stream)
            event = ev.RevisionOpened(revision_id=f"{name}-{n}", base_version=0, summary=f"{name} №{n} ү",
                                      author=name)
            try:
                store.append(stream, version, [event], Meta(actor=name, role="author",
                                                            occurred_at="2024-01-01T00:00:00.000000Z"))
                break
            except ConcurrencyError:
                conflicts += 1
    results.put((name, conflicts))
    store.engine.dispose()


@pytest.mark.slow
def test_concurrent_processes_each_win_distinct_versions_and_nothing_is_lost(engine, database_url):
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=_writer, args=(database_url, f"w{i}", "policy-shared", EACH, results))
               for i in range(WRITERS)]
    # A second stream written by one more process, so the global log interleaves streams.
    workers.append(context.Process(target=_writer, args=(database_url, "other", "policy-other", EACH, results)))
    store = EventStore(engine)
    seen: list[int] = []
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 120
    while (any(w.is_alive() for w in workers) or len(seen) < (WRITERS + 1) * EACH) and time.monotonic() < deadline:
        after = seen[-1] if seen else 0
        seen.extend(e.position for e in store.read_all(after=after))  # the poller under test
        time.sleep(0.005)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    reports = dict(results.get(timeout=5) for _ in workers)
    assert len(reports) == WRITERS + 1

    shared = store.read_stream("policy-shared")
    assert [e.version for e in shared] == list(range(1, WRITERS * EACH + 1))
    ids = [e.data["revision_id"] for e in shared]
    assert sorted(ids) == sorted(f"w{i}-{n}" for i in range(WRITERS) for n in range(EACH))
    for i in range(WRITERS):  # each writer's own events stay in its order
        mine = [x for x in ids if x.startswith(f"w{i}-")]
        assert mine == [f"w{i}-{n}" for n in range(EACH)]
    total = (WRITERS + 1) * EACH
    assert seen == list(range(1, total + 1)), "the poller missed, repeated or reordered a position"
    assert store.verify().ok and store.verify().events_checked == total


def _busy_author(url: str, name: str, policy_id: str, count: int, refusals: list, barrier) -> None:
    """Open a draft on a shared policy and amend it `count` times, without If-Match, on a ledger of its own."""
    from events.application import Context, Ledger
    from events.domain import commands as cmd
    from events.domain.policy import Actor
    engine = make_engine(url)
    ledger = Ledger(EventStore(engine))
    context = Context(actor=Actor(name=name, role="author"))
    try:
        barrier.wait(timeout=30)
        rid = ledger.handle(cmd.OpenRevision(policy_id=policy_id, summary=f"{name} ү"), context).result["revision_id"]
        for n in range(count):
            ledger.handle(cmd.ChangeRevision(policy_id=policy_id, revision_id=rid, changes=(
                cmd.AddSection(kind="paragraph", text=f"{name} №{n}: өзгөртүү"),)), context)
    except ConcurrencyError as error:
        refusals.append((name, error.message))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_eight_writers_without_if_match_on_one_policy_see_no_conflict(engine, database_url):
    import threading

    from events.application import Context, Ledger
    from events.domain import commands as cmd
    from events.domain.policy import Actor
    Ledger(EventStore(engine)).handle(cmd.CreatePolicy(policy_id="shared", title="Жалпы", language="ky",
                                                       review_interval_days=30),
                                      Context(actor=Actor(name="dean", role="author")))
    writers, each = 8, 12
    refusals: list = []
    barrier = threading.Barrier(writers)
    threads = [threading.Thread(target=_busy_author, args=(database_url, f"author{i}", "shared", each, refusals,
                                                           barrier)) for i in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert refusals == [], f"{len(refusals)} writes without If-Match answered a conflict"
    stream = EventStore(engine).read_stream("policy-shared")
    assert len(stream) == 1 + writers * (1 + each)
    assert sum(e.type == "SectionAdded" for e in stream) == writers * each
