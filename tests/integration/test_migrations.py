"""Alembic migrations: an empty database to head, older databases up to it, and the log untouched on the way."""
from __future__ import annotations

import json

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, insert, inspect, select
from sqlalchemy.exc import DBAPIError

from events.application import Ledger
from events.domain import commands as cmd
from events.domain.canonical import canonical_json, parse_time
from events.store import EventStore
from events.store.engine import make_engine, write_transaction
from events.store.tables import create_all, events, metadata
from projections import documents as versions
from projections import register, tables
from projections.documents import version_drafts
from projections.rebuild import rebuild, snapshot
from service import db as schema
from tests.support import FakeClock, SequentialIds
from tests.support.lifecycle import AUTHOR, QA, RECTOR, run_lifecycle


def _history(store: EventStore) -> list[tuple]:
    with store.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(events).order_by(events.c.position))]


def _fill(engine) -> EventStore:
    clock = FakeClock()
    store = EventStore(engine, clock=clock)
    run_lifecycle(Ledger(store=store, clock=clock, ids=SequentialIds()), clock)
    return store


def test_an_empty_database_is_upgraded_to_the_newest_revision(empty_database_url):
    engine = make_engine(empty_database_url)
    assert schema.current_revision(engine) is None
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    present = set(inspect(engine).get_table_names())
    assert {table.name for table in schema.full_metadata().sorted_tables} <= present
    engine.dispose()


def test_the_migrated_schema_is_exactly_what_the_code_declares(app):
    # create_app imported every module that owns tables, so the metadata is complete here.
    with app.extensions["policy_ledger"].engine.connect() as connection:
        assert schema.differences(connection) == []


def test_upgrading_again_changes_nothing_and_keeps_the_log(engine):
    store = _fill(engine)
    before, read_models = _history(store), snapshot(store)
    schema.upgrade(engine)
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    assert _history(store) == before
    assert snapshot(store) == read_models


def test_the_migrated_log_refuses_update_and_delete(engine):
    _fill(engine)
    for statement in ("UPDATE events SET type = 'Forged' WHERE position = 1", "DELETE FROM events WHERE position = 1"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)
    if engine.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE events")
    with engine.connect() as connection:
        assert connection.execute(select(events.c.type).where(events.c.position == 1)).scalar_one() == "PolicyCreated"


def test_a_database_at_the_first_revision_is_upgraded_with_its_log_intact(empty_database_url, tmp_path):
    revisions = list(ScriptDirectory.from_config(schema.alembic_config()).walk_revisions())
    assert len(revisions) >= 2, "this test needs a revision after the first"
    # A log written by today's code, copied row by row into a database the first revision built.
    source = make_engine(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    schema.upgrade(source)
    _fill(source)
    with source.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(select(events).order_by(events.c.position))]
    source.dispose()
    engine = make_engine(empty_database_url)
    with write_transaction(engine) as connection:
        command.upgrade(schema.alembic_config(connection), schema.INITIAL_REVISION)
    assert schema.current_revision(engine) == schema.INITIAL_REVISION
    with engine.begin() as connection:
        connection.execute(insert(events), rows)

    schema.upgrade(engine)

    store = EventStore(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    assert [row[-1] for row in _history(store)] == [row["hash"] for row in rows]
    result = store.verify()
    assert result.ok and result.events_checked == len(rows) > 0
    assert rebuild(store) == len(rows)  # the old database's read models come back from its log
    engine.dispose()


def test_a_database_made_before_migrations_is_adopted_without_touching_it(empty_database_url):
    engine = make_engine(empty_database_url)
    import projections
    projections.register()
    create_all(engine)  # how `policy-ledger init` built databases before there were migrations
    store = _fill(engine)
    before = _history(store)

    schema.upgrade(engine)

    assert schema.current_revision(engine) == schema.head_revision()
    assert _history(store) == before and store.verify().ok
    engine.dispose()


def test_migrations_refuse_to_be_undone_and_drop_the_log(engine):
    store = _fill(engine)
    count = len(_history(store))
    with (
        pytest.raises(RuntimeError, match=r"evidence|never dropped|refused"),
        write_transaction(engine) as connection,
    ):
        command.downgrade(schema.alembic_config(connection), "base")
    assert len(_history(store)) == count
    assert schema.current_revision(engine) == schema.head_revision()


def test_init_upgrades_to_the_newest_revision_and_can_run_again(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["init"])
        assert result.exit_code == 0, result.output
        assert "schema ready" in result.output
    with app.extensions["policy_ledger"].engine.connect() as connection:
        assert schema.current_revision(connection) == schema.head_revision()


def test_readiness_refuses_a_schema_behind_the_code(app, client):
    assert client.get("/health/ready").status_code == 200
    with app.extensions["policy_ledger"].engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{schema.INITIAL_REVISION}'")
    response = client.get("/health/ready")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.json["schema_revision"] == schema.INITIAL_REVISION
    assert response.json["expected_revision"] == schema.head_revision()
    assert "policy-ledger init" in response.json["detail"]


def test_readiness_refuses_a_database_without_a_schema(tmp_path):
    from service import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"})
    response = app.test_client().get("/health/ready")
    assert response.status_code == 503
    assert response.json["type"].endswith("schema_missing")
    app.extensions["policy_ledger"].engine.dispose()


def test_open_drafts_come_through_0003_knowing_where_in_the_log_they_began(empty_database_url, tmp_path):
    # Today's log, with two drafts left open, in a database at 0002 whose drafts table has the old shape.
    source = make_engine(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    schema.upgrade(source)
    clock = FakeClock()
    ledger = Ledger(store=EventStore(source, clock=clock), clock=clock, ids=SequentialIds())
    run_lifecycle(ledger, clock)
    open_drafts = [
        ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary=summary), AUTHOR).result["revision_id"]
        for summary in ("биринчи", "экинчи")]
    with source.connect() as connection:
        rows = [dict(row._mapping) for row in connection.execute(select(events).order_by(events.c.position))]
    source.dispose()
    engine = make_engine(empty_database_url)
    with write_transaction(engine) as connection:
        command.upgrade(schema.alembic_config(connection), "0002")
    with engine.begin() as connection:
        connection.execute(insert(events), rows)
        for rid in open_drafts:
            connection.exec_driver_sql(
                "INSERT INTO version_drafts (revision_id, policy_id, author, summary, changes, signatures) "
                f"VALUES ('{rid}', 'oshsu-quality', 'dean', '', '[]', '[]')")

    schema.upgrade(engine)

    with engine.connect() as connection:
        migrated = sorted(tuple(row) for row in connection.execute(select(version_drafts)))
    opened = {row["version"] for row in rows if row["type"] == "RevisionOpened" and
              json.loads(row["data"])["revision_id"] in open_drafts}
    assert {row[2] for row in migrated} == opened and len(opened) == 2
    store = EventStore(engine)
    rebuild(store)
    with engine.connect() as connection:
        assert sorted(tuple(row) for row in connection.execute(select(version_drafts))) == migrated
    engine.dispose()


def snapshot_tables(engine, names: tuple[str, ...]) -> dict[str, list[tuple]]:
    """Return some read-model tables' rows as `snapshot` gives them (columns in the order the code declares),
    of the columns the database has so far (later migrations add some)."""
    with engine.connect() as connection:
        return {table.name: sorted((tuple(r) for r in connection.execute(select(*kept_columns(engine, table)))),
                                   key=repr)
                for table in tables() if table.name in names}


def kept_columns(engine, table: Table) -> list:
    """Return a table's columns as the code declares them, but only those the database has so far."""
    then = inspect(engine).get_columns(table.name)
    return [column for column in table.c if column.name in {c["name"] for c in then}]


def as_of_then(engine, rows: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """Return today's snapshot rows of some tables cut down to the columns the database has so far."""
    found = {}
    for table in tables():
        if table.name in rows:
            keep = [i for i, column in enumerate(table.c) if column in kept_columns(engine, table)]
            found[table.name] = sorted((tuple(row[i] for i in keep) for row in rows[table.name]), key=repr)
    return found


def as_then(engine, table: Table, rows: list[dict]) -> tuple:
    """Return an insert of today's rows into a table as an older schema has it (later columns left out, columns
    dropped since given an empty value: the upgrade's rebuild of the read models writes them anew)."""
    then = Table(table.name, MetaData(), autoload_with=engine)
    dropped = {column.name: "" for column in then.c if column.name not in table.c}
    return insert(then), [{**dropped, **{k: v for k, v in row.items() if k in then.c}} for row in rows]


def test_versions_come_through_0005_as_outlines_naming_each_section_state_once(empty_database_url, tmp_path):
    # Today's read models (three versions: adds, amends, a move, a removal and a retitle), and a database at
    # 0004 holding the same log and the versions as they were kept then, each with its whole section tree.
    register()
    source = make_engine(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    schema.upgrade(source)
    clock = FakeClock()
    ledger = Ledger(store=EventStore(source, clock=clock), clock=clock, ids=SequentialIds())
    ids = run_lifecycle(ledger, clock)
    clock.set("2025-01-10T09:00:00+00:00")
    rid = ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="Түзөтүү"), AUTHOR).result["revision_id"]
    ledger.handle(cmd.ChangeRevision(policy_id="oshsu-quality", revision_id=rid, changes=(
        cmd.MoveSection(section_id=ids["closing"], parent_id=None, after_id=None),
        cmd.RemoveSection(section_id=ids["first_item"]),
        cmd.RetitlePolicy(title="Сапат саясаты"),
    )), AUTHOR)
    ledger.handle(cmd.SubmitRevision(policy_id="oshsu-quality", revision_id=rid, reviewers=()), AUTHOR)
    for approver in (QA, RECTOR):
        ledger.handle(cmd.ApproveRevision(policy_id="oshsu-quality", revision_id=rid, meaning="approved"), approver)
    ledger.handle(cmd.PublishRevision(policy_id="oshsu-quality", revision_id=rid,
                                      effective_from=parse_time("2025-02-01T00:00:00Z")), RECTOR)
    today = snapshot(EventStore(source))
    with source.connect() as connection:
        trees = {n: versions.get(connection, "oshsu-quality", n) for n in (1, 2, 3)}
        log = [dict(row._mapping) for row in connection.execute(select(events).order_by(events.c.position))]
        copies = {table.name: [dict(row._mapping) for row in connection.execute(select(table))]
                  for table in tables() if table.name not in ("policy_versions", "section_states")}
    source.dispose()
    assert trees[3]["title"] == "Сапат саясаты" and trees[3]["sections"][0]["id"] == ids["closing"]

    engine = make_engine(empty_database_url)
    with write_transaction(engine) as connection:
        command.upgrade(schema.alembic_config(connection), "0004")
    old_versions = Table("policy_versions", MetaData(), autoload_with=engine)
    assert "sections" in old_versions.c and "outline" not in old_versions.c
    at_0004 = set(inspect(engine).get_table_names())
    with engine.begin() as connection:
        connection.execute(insert(events), log)
        for table in tables():
            if table.name in copies and copies[table.name] and table.name in at_0004:
                connection.execute(*as_then(engine, table, copies[table.name]))
        connection.execute(insert(old_versions), [
            {**{k: v for k, v in trees[n].items() if k in old_versions.c},
             "approvers": json.dumps(trees[n]["approvers"], ensure_ascii=False),
             "touched": json.dumps(trees[n]["touched"]), "sections": canonical_json(trees[n]["sections"])}
            for n in (1, 2, 3)])

    with write_transaction(engine) as connection:
        command.upgrade(schema.alembic_config(connection), "0005")
    store = EventStore(engine)
    converted = snapshot_tables(engine, ("policy_versions", "section_states"))
    # the same outlines and states written today
    assert converted == as_of_then(engine, {name: today[name] for name in converted})
    schema.upgrade(engine)  # on to the head: 0006 rebuilds the read models from the log
    assert snapshot(store) == today
    with engine.connect() as connection:
        assert {n: versions.get(connection, "oshsu-quality", n) for n in (1, 2, 3)} == trees
        for n in (1, 2, 3):  # the reader's tree and the document the read model replays from agree
            assert versions.document(connection, "oshsu-quality", n)[0].tree() == trees[n]["sections"]
        states = connection.execute(select(versions.section_states.c.version, versions.section_states.c.section_id)
                                    ).all()
    # Version 1 sets every section's state; 2 amends one and adds one; 3 only moves, removes and retitles.
    assert sorted(v for v, _ in states) == [1, 1, 1, 1, 2, 2]
    rebuild(store)
    assert snapshot(store) == today
    engine.dispose()


def test_open_revisions_get_their_previews_through_0006_as_the_live_model_writes_them(empty_database_url, tmp_path):
    # Today's log with two revisions left open (one edited in several ways, one in review), and a database at
    # 0005 holding the same log and every read model of then: 0006 must give each revision its preview.
    register()
    source = make_engine(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    schema.upgrade(source)
    clock = FakeClock()
    ledger = Ledger(store=EventStore(source, clock=clock), clock=clock, ids=SequentialIds())
    ids = run_lifecycle(ledger, clock)
    clock.set("2025-03-01T09:00:00+00:00")
    pid = "oshsu-quality"
    edited = ledger.handle(cmd.OpenRevision(policy_id=pid, summary="Түзөтүү ү ө ң"), AUTHOR).result["revision_id"]
    ledger.handle(cmd.ChangeRevision(policy_id=pid, revision_id=edited, changes=(
        cmd.AmendSection(section_id=ids["mission"], text="Жаңы миссия: сапат ү ө ң"),
        cmd.AddSection(kind="paragraph", parent_id=None, after_id=ids["closing"], text="Кошулган абзац"),
        cmd.MoveSection(section_id=ids["closing"], parent_id=None, after_id=None),
        cmd.RemoveSection(section_id=ids["first_item"]))), AUTHOR)
    ledger.handle(cmd.ChangeRevision(policy_id=pid, revision_id=edited, changes=(
        cmd.RetitlePolicy(title="Сапат саясаты"),)), AUTHOR)
    in_review = ledger.handle(cmd.OpenRevision(policy_id=pid, summary="Экинчи"), AUTHOR).result["revision_id"]
    ledger.handle(cmd.ChangeRevision(policy_id=pid, revision_id=in_review, changes=(
        cmd.AmendSection(section_id=ids["closing"], text="Жыйынтык"),)), AUTHOR)
    ledger.handle(cmd.SubmitRevision(policy_id=pid, revision_id=in_review, reviewers=()), AUTHOR)
    today = snapshot(EventStore(source))
    with source.connect() as connection:
        log = [dict(row._mapping) for row in connection.execute(select(events).order_by(events.c.position))]
        previews = {rid: versions.preview(connection, rid) for rid in (edited, in_review)}
        copies = {table.name: [dict(row._mapping) for row in connection.execute(select(table))] for table in tables()}
    source.dispose()
    assert previews[edited]["title"] == "Сапат саясаты" and previews[edited]["sections"][0]["id"] == ids["closing"]

    engine = make_engine(empty_database_url)
    with write_transaction(engine) as connection:
        command.upgrade(schema.alembic_config(connection), "0005")
    at_0005 = set(inspect(engine).get_table_names())
    assert "revision_previews" not in at_0005 and "rebuild_requests" not in at_0005
    with engine.begin() as connection:
        connection.execute(insert(events), log)
        for table in tables():
            if table.name in at_0005 and copies[table.name]:
                connection.execute(*as_then(engine, table, copies[table.name]))

    schema.upgrade(engine)  # 0006 asks for a rebuild, which runs in the upgrade's own transaction

    store = EventStore(engine)
    assert snapshot(store) == today
    with engine.connect() as connection:
        assert {rid: versions.preview(connection, rid) for rid in (edited, in_review)} == previews
        assert connection.exec_driver_sql("SELECT count(*) FROM rebuild_requests").scalar() == 0
    engine.dispose()


def test_through_0008_read_models_get_signature_steps_signed_hashes_and_reviews_due_from_the_effective_date(
        empty_database_url, tmp_path):
    # Today's log, and a database at 0007 holding the same log and the read models as they were kept then
    # (next review counted from the publication): 0008_routes must rebuild them as the live model writes them.
    register()
    source = make_engine(f"sqlite:///{tmp_path / 'source.sqlite3'}")
    schema.upgrade(source)
    clock = FakeClock()
    ledger = Ledger(store=EventStore(source, clock=clock), clock=clock, ids=SequentialIds())
    run_lifecycle(ledger, clock)
    today = snapshot(EventStore(source))
    with source.connect() as connection:
        log = [dict(row._mapping) for row in connection.execute(select(events).order_by(events.c.position))]
        copies = {table.name: [dict(row._mapping) for row in connection.execute(select(table))] for table in tables()}
    source.dispose()
    for row in copies["policies"]:
        row["next_review_due"] = "2099-01-01T00:00:00.000000Z"  # as 0007 could not have known it

    engine = make_engine(empty_database_url)
    with write_transaction(engine) as connection:
        command.upgrade(schema.alembic_config(connection), "0007")
    then = set(inspect(engine).get_table_names())
    assert "delegations" not in then
    with engine.begin() as connection:
        connection.execute(insert(events), log)
        for table in tables():
            if copies[table.name] and table.name in then:  # read models added after 0007 are built by their migration
                connection.execute(*as_then(engine, table, copies[table.name]))
    schema.upgrade(engine)
    store = EventStore(engine)
    assert snapshot(store) == today
    assert {"delegations", "signing_failures"} <= set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        due = connection.execute(select(metadata.tables["policies"].c.next_review_due)).scalar()
        signed = connection.execute(select(metadata.tables["revision_approvals"].c.full_name)).scalars().all()
    assert due != "2099-01-01T00:00:00.000000Z" and signed and all(signed)
    engine.dispose()


def test_0015_indexes_the_text_as_written_apart_and_takes_it_away_again(engine):
    # PostgreSQL gets the text as written in a column of its own (SQLite's FTS5 table has it already); the
    # revision goes down to 0014 and up again, and search finds the same sections before and after.
    from projections import search
    store = _fill(engine)

    def found() -> list[dict]:
        with engine.connect() as connection:
            return search.find(connection, search.parse("саясат"), at="2030-01-01T00:00:00.000000Z",
                               every_version=True)[0]

    def engine_columns() -> set[str]:
        return {column["name"] for column in inspect(engine).get_columns("search_sections")} & {
            "search_vector", "search_written"}

    postgres = engine.dialect.name == "postgresql"
    before, read_models = found(), snapshot(store)
    assert before and engine_columns() == ({"search_vector", "search_written"} if postgres else set())
    with write_transaction(engine) as connection:
        command.downgrade(schema.alembic_config(connection), "0014_previews_hash_on_read")
    assert schema.current_revision(engine) == "0014_previews_hash_on_read"
    assert engine_columns() == ({"search_vector"} if postgres else set())
    schema.upgrade(engine)
    assert schema.current_revision(engine) == schema.head_revision()
    assert engine_columns() == ({"search_vector", "search_written"} if postgres else set())
    assert found() == before and snapshot(store) == read_models
