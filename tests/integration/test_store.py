"""The event store on a real database: appends, concurrency, idempotency, reads, the chain and immutability."""
from __future__ import annotations

import pytest
import sqlalchemy
from sqlalchemy import text

from events.domain import types as ev
from events.domain.canonical import GENESIS_HASH, canonical_json
from events.domain.errors import ConcurrencyError, IdempotencyMismatch
from events.domain.types import Meta
from tests.support.databases import tamper

META = Meta(actor="dean", role="author", occurred_at="2024-01-10T09:00:00.000000Z", reason="тест ү ө ң",
            correlation_id="req-1")


def opened(n: int) -> ev.RevisionOpened:
    return ev.RevisionOpened(revision_id=f"rev-{n}", base_version=0, summary=f"Өзгөртүү {n}", author="dean")


def test_appends_number_positions_and_versions_and_chain_the_hashes(store):
    first = store.append("policy-a", 0, [opened(1), opened(2)], META)
    second = store.append("policy-b", 0, [opened(3)], META)
    assert (first.first_position, first.last_position, first.to_version) == (1, 2, 2)
    assert (second.first_position, second.to_version) == (3, 1)
    log = list(store.read_all())
    assert [e.position for e in log] == [1, 2, 3]
    assert log[0].prev_hash == GENESIS_HASH
    assert [e.prev_hash for e in log[1:]] == [e.hash for e in log[:-1]]
    assert log[0].meta == {"actor": "dean", "role": "author", "occurred_at": "2024-01-10T09:00:00.000000Z",
                           "reason": "тест ү ө ң", "correlation_id": "req-1", "idempotency_key": None}
    assert log[0].data["summary"] == "Өзгөртүү 1"


def test_a_stale_expected_version_is_refused_and_appends_nothing(store):
    store.append("policy-a", 0, [opened(1)], META)
    with pytest.raises(ConcurrencyError) as refused:
        store.append("policy-a", 0, [opened(2)], META)
    assert (refused.value.expected, refused.value.actual) == (0, 1)
    assert len(list(store.read_all())) == 1


def test_the_same_idempotency_key_returns_the_first_result_and_appends_nothing(store):
    first = store.append("policy-a", 0, [opened(1)], META, idempotency_key="k-1", result={"revision_id": "rev-1"})
    again = store.append("policy-a", 0, [opened(1)], META, idempotency_key="k-1")
    assert again.replayed and again.first_position == first.first_position
    assert again.result == {"revision_id": "rev-1"}
    assert len(list(store.read_all())) == 1
    with pytest.raises(IdempotencyMismatch):
        store.append("policy-a", 1, [opened(2)], META, idempotency_key="k-1")
    assert len(list(store.read_all())) == 1


def test_reads_cover_a_stream_up_to_a_version_and_the_log_after_a_position(store):
    store.append("policy-a", 0, [opened(1), opened(2)], META)
    store.append("policy-b", 0, [opened(3)], META)
    store.append("policy-a", 2, [opened(4)], META)
    assert [e.version for e in store.read_stream("policy-a")] == [1, 2, 3]
    assert [e.version for e in store.read_stream("policy-a", 2)] == [1, 2]
    assert [e.position for e in store.read_stream("policy-a", up_to_position=3)] == [1, 2]
    assert [e.position for e in store.read_all(after=2)] == [3, 4]
    assert [e.position for e in store.read_all(after=0, limit=2)] == [1, 2]
    assert [e.position for e in store.read_all(up_to=3)] == [1, 2, 3]
    assert store.stream_version("policy-a") == 3 and store.stream_version("nothing") == 0


def test_reading_the_log_streams_in_batches_past_the_batch_size(store, monkeypatch):
    import events.store as module
    monkeypatch.setattr(module, "BATCH", 3)
    for n in range(10):
        store.append(f"policy-{n}", 0, [opened(n)], META)
    assert [e.position for e in store.read_all()] == list(range(1, 11))
    assert [e.position for e in store.read_all(after=4, limit=5)] == [5, 6, 7, 8, 9]
    assert store.verify().events_checked == 10


def test_record_time_never_runs_backwards(store, clock):
    store.append("policy-a", 0, [opened(1)], META)
    clock.advance(days=-3)
    store.append("policy-a", 1, [opened(2)], META)
    first, second = store.read_all()
    assert second.recorded_at >= first.recorded_at
    assert store.position_at(first.recorded_at) == 2


def test_the_position_recorded_by_a_time_is_found_for_any_time(store, clock):
    for n, hours in enumerate((0, 5, 0, -2, 1, 30, 0, -40, 3, 2, 0, 1, 7)):
        clock.advance(hours=hours)
        store.append(f"policy-{n % 3}", n // 3, [opened(n)], META)
    log = list(store.read_all())
    probes = sorted({e.recorded_at for e in log} | {"2000-01-01T00:00:00.000000Z", "2999-01-01T00:00:00.000000Z"}
                    | {e.recorded_at[:-2] + "0Z" for e in log})
    for moment in probes:
        assert store.position_at(moment) == max((e.position for e in log if e.recorded_at <= moment), default=0)


def test_verify_walks_a_good_chain(store):
    for n in range(5):
        store.append("policy-a", n, [opened(n)], META)
    result = store.verify()
    assert result.ok and result.events_checked == 5 and result.first_bad_position is None


def test_the_database_refuses_update_and_delete_on_events_whoever_asks(store, engine):
    store.append("policy-a", 0, [opened(1)], META)
    for statement in ("UPDATE events SET data = '{}' WHERE position = 1", "DELETE FROM events WHERE position = 1"):
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text(statement))
    if engine.dialect.name == "postgresql":
        with pytest.raises(sqlalchemy.exc.DatabaseError, match="append-only"), engine.begin() as connection:
            connection.execute(text("TRUNCATE events CASCADE"))
    assert store.verify().ok


@pytest.mark.parametrize("statement, bad, problem", [
    ("UPDATE events SET data = replace(data, 'Өзгөртүү 3', 'Өзгөртүү 9') WHERE position = 3", 3, "content"),
    ("UPDATE events SET meta = replace(meta, 'dean', 'rector') WHERE position = 2", 2, "content"),
    ("DELETE FROM events WHERE position = 4", 4, "missing"),
    ("UPDATE events SET prev_hash = hash WHERE position = 5", 5, "link"),
])
def test_a_row_altered_behind_the_triggers_back_is_caught_by_verify(store, engine, statement, bad, problem):
    for n in range(1, 7):
        store.append("policy-a", n - 1, [opened(n)], META)
    tamper(engine, statement)
    result = store.verify()
    assert not result.ok
    assert result.first_bad_position == bad
    assert problem in result.problem


def test_stored_payloads_are_canonical_json_with_unescaped_kyrgyz(store, engine):
    store.append("policy-a", 0, [opened(1)], META)
    with engine.connect() as connection:
        data = connection.execute(text("SELECT data FROM events")).scalar_one()
    assert data == canonical_json(opened(1).to_data())
    assert "Өзгөртүү" in data


def test_a_thread_gives_its_write_connection_back_to_the_pool_when_it_ends(store):
    import threading
    store.append("policy-main", 0, [opened(0)], META)  # this thread's writer connection, kept
    kept = store.engine.pool.checkedout()
    worker = threading.Thread(target=store.append, args=("policy-t", 0, [opened(1)], META))
    worker.start()
    worker.join()
    assert store.engine.pool.checkedout() == kept
    assert store.stream_version("policy-t") == 1


def test_an_append_after_the_database_dropped_the_idle_write_connection_just_takes_a_new_one(store):
    if store.engine.dialect.name != "postgresql":
        pytest.skip("a SQLite file has no server to drop an idle connection")
    first = store.append("policy-drop", 0, [opened(1)], META)
    with store.engine.connect() as admin:  # what a database restart or an idle timeout does to the kept connection
        admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        admin.commit()
    second = store.append("policy-drop", first.to_version, [opened(2)], META)
    assert second.to_version == 2 and [e.version for e in store.read_stream("policy-drop")] == [1, 2]
