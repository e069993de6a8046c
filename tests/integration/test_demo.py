"""The demo: the seed policy's history since 2019, and the command that loads it.

Tests that only read the loaded history share it: see test_demo_reads.py."""
from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select

from events.domain.canonical import parse_time
from events.domain.errors import AlreadyExists
from events.store import EventStore
from projections.rebuild import rebuild, snapshot
from service import accounts as auth
from service.content import demo
from service.content.demo import HistoricalClock, load_demo
from tests.support import bearer

DEMO_USERS = {"dean", "head-of-department", "teacher", "reviewer1", "reviewer2", "qa-director", "rector",
              "auditor", "quality-office", "lecturer"}


def rows(app, query) -> list:
    with app.extensions["policy_ledger"].engine.connect() as connection:
        return connection.execute(query).all()


def store(app) -> EventStore:
    return app.extensions["policy_ledger"].store


@pytest.fixture
def loaded(app) -> demo.DemoResult:
    return load_demo(app.config["DATABASE_URL"])


def test_the_chain_verifies_and_a_rebuild_gives_the_same_read_models(app, loaded):
    assert store(app).verify().ok
    before = snapshot(store(app))
    assert rebuild(store(app)) == loaded.events
    assert snapshot(store(app)) == before


def test_the_demo_refuses_when_its_users_exist_and_appends_nothing(app):
    auth.add_user(app.extensions["policy_ledger"].engine, "rector", ["approver"])
    with pytest.raises(AlreadyExists, match="rector"):
        load_demo(app.config["DATABASE_URL"])
    assert store(app).head()[0] == 0


def test_the_historical_clock_moves_forward_only_and_never_repeats_a_reading():
    clock = HistoricalClock("2019-08-26T09:00:00+00:00")
    first, second = clock(), clock()
    assert first < second and first.year == 2019
    clock.set("2021-05-10T08:15:00+00:00")
    assert clock() > parse_time("2021-05-10T08:15:00Z")
    with pytest.raises(ValueError, match="cannot go back"):
        clock.set("2020-01-01T00:00:00+00:00")


# ---- the command -----------------------------------------------------------------------------------


@pytest.fixture
def tokens_file(tmp_path) -> Path:
    return tmp_path / "instance" / "demo-tokens.txt"


def test_the_command_loads_the_demo_and_saves_the_tokens_for_the_owner_only(runner, app, tokens_file):
    result = runner.invoke(args=["demo", "--tokens-file", str(tokens_file)])
    assert result.exit_code == 0, result.output
    assert "loaded policy oshsu-quality" in result.stdout
    assert stat.S_IMODE(tokens_file.stat().st_mode) == 0o600
    saved = demo.read_tokens(tokens_file)
    assert {name for name, *_ in saved.users} == DEMO_USERS
    for name, _roles, password, token in saved.users:
        assert token in result.stdout and name in result.stdout and password in result.stdout
    assert saved.database == app.extensions["policy_ledger"].engine.url.render_as_string(hide_password=True)


def test_running_it_again_with_if_empty_changes_nothing(runner, app, tokens_file):
    assert runner.invoke(args=["demo", "--tokens-file", str(tokens_file)]).exit_code == 0
    before = (snapshot(store(app)), store(app).head(), tokens_file.read_bytes(),
              rows(app, select(func.count()).select_from(auth.users)))
    result = runner.invoke(args=["demo", "--if-empty", "--tokens-file", str(tokens_file)])
    assert result.exit_code == 0, result.output
    assert "demo not loaded" in result.stdout
    assert all(token in result.stdout for *_, token in demo.read_tokens(tokens_file).users)
    assert (snapshot(store(app)), store(app).head(), tokens_file.read_bytes(),
            rows(app, select(func.count()).select_from(auth.users))) == before


def test_running_it_again_without_if_empty_is_refused_in_one_line(runner, app, tokens_file):
    assert runner.invoke(args=["demo", "--tokens-file", str(tokens_file)]).exit_code == 0
    head = store(app).head()
    result = runner.invoke(args=["demo", "--tokens-file", str(tokens_file)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: the log already holds {head[0]} events; the demo loads only into an empty log"]
    assert store(app).head() == head


def test_tokens_prints_the_saved_tokens_without_loading_anything(runner, app, tokens_file):
    empty = runner.invoke(args=["demo", "--tokens", "--tokens-file", str(tokens_file)])
    assert empty.exit_code == 0 and "no demo tokens saved" in empty.stdout
    assert runner.invoke(args=["demo", "--tokens-file", str(tokens_file)]).exit_code == 0
    head = store(app).head()
    shown = runner.invoke(args=["demo", "--tokens", "--tokens-file", str(tokens_file)])
    assert shown.exit_code == 0
    assert all(token in shown.stdout for *_, token in demo.read_tokens(tokens_file).users)
    assert store(app).head() == head


def test_tokens_saved_for_another_database_are_not_shown(runner, app, tokens_file):
    tokens_file.parent.mkdir(parents=True)
    tokens_file.write_text(f"{demo.DATABASE_LINE}sqlite:///elsewhere.sqlite3\ndean\tauthor\tsecret-token\n",
                           encoding="utf-8")
    shown = runner.invoke(args=["demo", "--tokens", "--tokens-file", str(tokens_file)])
    assert shown.exit_code == 0
    assert "another database" in shown.stdout and "secret-token" not in shown.stdout


def test_replaying_the_log_to_each_versions_position_gives_the_hash_the_live_read_attests(app, loaded, client):
    """Attested reads: every version of the demo policy names a log position and a content hash, and the
    log replayed to that position yields that same hash."""
    from service.accounts import add_user
    token = add_user(app.extensions["policy_ledger"].engine, "external-auditor", ["auditor"])
    numbers = [v["version"] for v in client.get("/api/v1/policies/oshsu-quality/versions").json["items"]]
    assert numbers == [1, 2]
    for number in numbers:
        live = client.get(f"/api/v1/policies/oshsu-quality?version={number}").json
        replayed = client.get(f"/api/v1/policies/oshsu-quality/replay?position={live['log_position']}",
                              headers=bearer(token)).json
        hashes = {v["version"]: v["content_hash"] for v in replayed["versions"]}
        assert hashes[number] == live["content_hash"]
        assert max(hashes) == number  # nothing published after that position leaks into the replay
