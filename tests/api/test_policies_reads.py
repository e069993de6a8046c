"""Reads of one policy with three versions, built once per database for the module: the version in force at
any time, versions, diffs, section history, caching, and the point-in-time read's query plan.

Every test here only reads (`nothing_written` fails one that writes); tests that write, or move the clock the
app reads, are in test_policies.py.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text

from projections import documents as versions
from tests.support import DATABASES, FakeClock
from tests.support.api import API, PID, PROVISION_5_NEW, build_three_versions, get, ok
from tests.support.apps import add_tokens, running_app

pytestmark = pytest.mark.usefixtures("nothing_written")


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request, databases, tmp_path_factory) -> str:
    with databases.lend(request.param, tmp_path_factory.mktemp("policies")) as url:
        yield url


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def app(database_url, clock):
    """The app, its ledger on the module's fake clock, so effective dates could be crossed."""
    with running_app(database_url, CLOCK=clock) as app:
        yield app


@pytest.fixture(scope="module")
def tokens(app) -> dict[str, str]:
    return add_tokens(app)


@pytest.fixture(scope="module")
def three_versions(app, tokens, clock) -> dict:
    """The seed policy with three versions: v1 from 2024-02-01, v2 (provision 5) from 2024-09-01,
    v3 (moves, a removal, a new title) from 2025-09-01; the clock stands at 2025-10-01."""
    return build_three_versions(app.test_client(), tokens, clock)


# ---- the version in force, at a time -------------------------------------------------------------

@pytest.mark.parametrize("at, version", [
    ("2024-01-31T23:59:59+06:00", None),
    ("2024-02-01T00:00:00+06:00", 1),
    ("2024-08-31T23:59:59.999999Z", 1),
    ("2024-09-01T00:00:00Z", 2),
    ("2025-09-01T05:00:00+05:00", 3),
    ("2030-01-01T00:00:00Z", 3),
])
def test_the_version_in_force_at_a_time_changes_exactly_at_each_effective_date(client, three_versions, at, version):
    response = client.get(f"{API}/{PID}", query_string={"at": at})
    if version is None:
        assert response.status_code == 404
        assert response.json["type"].endswith("nothing_in_force")
    else:
        assert ok(response)["version"] == version


def test_a_version_by_number_is_immutable_and_cached_for_a_year(client, three_versions):
    first = get(client, None, f"/{PID}/versions/1")
    assert ok(first)["sections"] == three_versions["v1"]["sections"]
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert ok(get(client, None, f"/{PID}?version=1")) == ok(first)
    assert get(client, None, f"/{PID}").headers["Cache-Control"] == "public, no-cache"
    assert get(client, None, f"/{PID}/versions/4").status_code == 404
    assert get(client, None, f"/{PID}?version=4").status_code == 404


def test_versions_page_with_a_cursor_and_the_pages_join_up(client, three_versions):
    first = ok(get(client, None, f"/{PID}/versions?limit=2"))
    rest = ok(get(client, None, f"/{PID}/versions?limit=2&cursor={first['next_cursor']}"))
    assert [v["version"] for v in first["items"] + rest["items"]] == [1, 2, 3]
    assert rest["next_cursor"] is None


# ---- diffs and section history -------------------------------------------------------------------

def test_a_diff_between_non_adjacent_versions_shows_every_kind_of_change(client, three_versions):
    diff = ok(get(client, None, f"/{PID}/diff?from=1&to=3"))
    assert (diff["from"]["version"], diff["to"]["version"]) == (1, 3)
    assert diff["title"]["to"] == "ОшМУнун билим берүүнүн сапаты саясаты"
    assert [a["section_id"] for a in diff["added"]] == [three_versions["added"]]
    assert [r["section_id"] for r in diff["removed"]] == [three_versions["closing"]]
    assert [m["section_id"] for m in diff["moved"]] == [three_versions["seventh"]]
    amended = diff["amended"]
    assert [a["section_id"] for a in amended] == [three_versions["provision"]]
    segments = amended[0]["text"]
    assert "".join(s["text"] for s in segments if s["op"] != "delete") == PROVISION_5_NEW
    assert amended[0]["compared"] == "words"
    assert {"op": "insert", "text": "жана өндүрүш "} in segments  # words carry the space after them
    backwards = ok(get(client, None, f"/{PID}/diff?from=3&to=1"))
    assert [a["section_id"] for a in backwards["added"]] == [three_versions["closing"]]
    assert ok(get(client, None, f"/{PID}/diff?from=2&to=2"))["amended"] == []
    assert get(client, None, f"/{PID}/diff?from=1&to=9").status_code == 404


def test_section_history_lists_each_version_that_changed_it_with_its_approvers(client, three_versions):
    history = ok(get(client, None, f"/{PID}/sections/{three_versions['seventh']}/history"))
    assert [(h["version"], h["changes"]) for h in history["items"]] == [(1, ["added"]), (3, ["moved"])]
    third = history["items"][1]
    assert third["revision_id"] == three_versions["revisions"][2]
    assert (third["author"], third["effective_from"]) == ("dean", "2025-09-01T00:00:00.000000Z")
    assert [(a["approver"], a["meaning"]) for a in third["approvers"]] == [
        ("qa-director", "approved as quality assurance director"), ("rector", "approved as rector")]
    removed = ok(get(client, None, f"/{PID}/sections/{three_versions['closing']}/history"))["items"]
    assert [(h["version"], h["changes"], h["text"]) for h in removed][-1] == (3, ["removed"], None)
    paged = ok(get(client, None, f"/{PID}/sections/{three_versions['seventh']}/history?limit=1"))
    assert paged["next_cursor"] and len(paged["items"]) == 1
    assert get(client, None, f"/{PID}/sections/s-nowhere/history").status_code == 404


# ---- caching -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [f"/{PID}", f"/{PID}?at=2024-10-01T00:00:00Z", f"/{PID}/versions",
                                  f"/{PID}/versions/2", f"/{PID}/diff?from=1&to=3", ""])
def test_a_read_carries_an_etag_and_if_none_match_answers_304_without_a_body(client, three_versions, path):
    first = get(client, None, path)
    etag = first.headers["ETag"]
    again = get(client, None, path, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert get(client, None, path, **{"If-None-Match": '"0.stale"'}).status_code == 200


# ---- the point-in-time read is one indexed query -------------------------------------------------

def test_the_point_in_time_read_descends_the_effective_date_index(client, three_versions, engine):
    with engine.connect() as connection:
        found = versions.in_force(connection, PID, "2024-10-01T00:00:00.000000Z")
        assert found["version"] == 2 and found["editorial"] is False
        # The compiled statement in_force runs, with this read's values written in.
        statement = str(versions.IN_FORCE.statement.params(policy_id=PID, at="2024-10-01T00:00:00.000000Z")
                        .compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        if engine.dialect.name == "sqlite":
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement))
        else:
            connection.execute(text("SET LOCAL enable_seqscan = off"))  # a tiny table would be scanned anyway
            plan = " ".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement))
    assert "ix_policy_versions_effective" in plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan  # the index gives the order: nothing is sorted
