"""The auditor's log endpoints over one history, built once per database for the module: raw events, the
global feed, replay, verification, and the refusals of bad requests.

Every test here only reads (`nothing_written` fails one that writes); tests that write (checkpoints, the bundle,
tampering, racing writers) are in test_ledger.py.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from events.domain.streams import stream_for
from projections.documents import policy_versions
from service.evidence.checkpoints import generate_key_file
from tests.support import DATABASES, FakeClock, bearer
from tests.support.apps import add_tokens, running_app
from tests.support.lifecycle import ledger_on, run_interleaved_lifecycle

PID = "oshsu-quality"
LIBRARY_TITLE = "Китепкана эрежеси"

pytestmark = pytest.mark.usefixtures("nothing_written")


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request, databases, tmp_path_factory) -> str:
    with databases.lend(request.param, tmp_path_factory.mktemp("ledger")) as url:
        yield url


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def app(database_url):
    with running_app(database_url) as app:
        yield app


@pytest.fixture(scope="module")
def tokens(app) -> dict[str, str]:
    return add_tokens(app)


@pytest.fixture(scope="module")
def key_file(app, tmp_path_factory):
    path = tmp_path_factory.mktemp("key") / "ledger-key.pem"
    generate_key_file(path)
    app.config["SIGNING_KEY_FILE"] = str(path)
    return path


@pytest.fixture(scope="module")
def history(database_url, clock) -> dict:
    """The lifecycle policy, with another policy's events before, inside and after its own."""
    with ledger_on(database_url, clock) as ledger:
        return run_interleaved_lifecycle(ledger, clock, PID, library_title=LIBRARY_TITLE)


def _auditor(tokens) -> dict[str, str]:
    return bearer(tokens["auditor"])


# ---- one policy's stream ------------------------------------------------------------------------

def test_a_policys_events_come_whole_in_stream_order_page_by_page(client, tokens, history, store):
    expected = [e.to_json() for e in store.read_stream(stream_for(PID))]
    seen, cursor = [], None
    while True:
        query = {"limit": 7} | ({"cursor": cursor} if cursor else {})
        body = client.get(f"/api/v1/policies/{PID}/events", query_string=query, headers=_auditor(tokens)).json
        seen += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert seen[0]["type"] == "PolicyCreated" and seen[0]["data"]["title"] == "Билим берүүнүн сапаты саясаты"


def test_kyrgyz_goes_out_unescaped(client, tokens, history):
    response = client.get(f"/api/v1/policies/{PID}/events", headers=_auditor(tokens))
    assert "Билим берүүнүн сапаты саясаты".encode() in response.get_data()


@pytest.mark.parametrize("path", ["events", "replay", "bundle"])
def test_an_unknown_policy_is_a_404(client, tokens, history, key_file, path):
    response = client.get(f"/api/v1/policies/no-such-policy/{path}", headers=_auditor(tokens))
    assert response.status_code == 404
    assert response.json["errors"] == {"policy_id": ["no policy 'no-such-policy'"]}


@pytest.mark.parametrize("path,query,field", [
    (f"/api/v1/policies/{PID}/events", "limit=0", "limit"),
    (f"/api/v1/policies/{PID}/events", "limit=501", "limit"),
    (f"/api/v1/policies/{PID}/events", "limit=many", "limit"),
    (f"/api/v1/policies/{PID}/events", "cursor=garbage!", "cursor"),
    (f"/api/v1/policies/{PID}/events", "cursor=InRleHQi", "cursor"),  # a cursor holding a string
    (f"/api/v1/policies/{PID}/events", "colour=blue", "colour"),
    ("/api/v1/events", "after=-1", "after"),
    ("/api/v1/events", "after=1&cursor=Mg", "cursor"),
    ("/api/v1/events", "format=xml", "format"),
    ("/api/v1/events", "up_to=0", "up_to"),
    (f"/api/v1/policies/{PID}/replay", "position=0", "position"),
    (f"/api/v1/policies/{PID}/replay", "position=9999", "position"),
    (f"/api/v1/policies/{PID}/replay", "at=2021-01-01T00:00:00Z", "at"),
    ("/api/v1/ledger/verify", "deep=1", "deep"),
    ("/api/v1/ledger/checkpoints", "limit=-3", "limit"),
    (f"/api/v1/policies/{PID}/bundle", "format=zip", "format"),
])
def test_a_bad_query_parameter_is_a_422_naming_it(client, tokens, history, key_file, path, query, field):
    response = client.get(f"{path}?{query}", headers=_auditor(tokens))
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


# ---- the global log -----------------------------------------------------------------------------

def test_the_global_log_pages_in_position_order_and_says_where_to_poll_on(client, tokens, history, store):
    head = store.head()[0]
    positions, after = [], 0
    while True:
        body = client.get("/api/v1/events", query_string={"after": after, "limit": 5}, headers=_auditor(tokens)).json
        positions += [item["position"] for item in body["items"]]
        assert body["last_position"] == (body["items"][-1]["position"] if body["items"] else after)
        if not body["items"]:
            break
        after = body["last_position"]
    assert positions == list(range(1, head + 1))


def test_the_next_cursor_continues_the_global_log(client, tokens, history, store):
    first = client.get("/api/v1/events?limit=4", headers=_auditor(tokens)).json
    second = client.get(f"/api/v1/events?limit=4&cursor={first['next_cursor']}", headers=_auditor(tokens)).json
    assert [i["position"] for i in first["items"] + second["items"]] == list(range(1, 9))
    last = client.get(f"/api/v1/events?after={store.head()[0]}", headers=_auditor(tokens)).json
    assert last == {"items": [], "next_cursor": None, "last_position": store.head()[0]}


def test_json_lines_stream_any_range_of_the_log(client, tokens, history, store):
    response = client.get("/api/v1/events?format=jsonl", headers=_auditor(tokens))
    assert response.mimetype == "application/x-ndjson" and response.is_streamed
    lines = response.get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == [e.to_json() for e in store.read_all()]
    assert "Китепкана эрежеси" in lines[0]
    window = client.get("/api/v1/events?format=jsonl&after=3&up_to=9", headers=_auditor(tokens))
    assert [json.loads(line)["position"] for line in window.get_data(as_text=True).splitlines()] == list(range(4, 10))


# ---- replay -------------------------------------------------------------------------------------

def _publications(store) -> list[tuple[int, int]]:
    return [(e.data["version"], e.position) for e in store.read_stream(stream_for(PID))
            if e.type == "RevisionPublished"]


def test_replay_at_each_publication_gives_the_projected_versions_content_hash(client, tokens, history, store):
    with store.engine.connect() as connection:
        projected = dict(connection.execute(select(policy_versions.c.version, policy_versions.c.content_hash)
                                            .where(policy_versions.c.policy_id == PID)).all())
    for version, position in _publications(store):
        body = client.get(f"/api/v1/policies/{PID}/replay?position={position}", headers=_auditor(tokens)).json
        assert body["latest"]["version"] == version
        assert body["latest"]["content_hash"] == projected[version]
        assert [v["content_hash"] for v in body["versions"]] == [projected[n] for n in range(1, version + 1)]


def test_replay_answers_the_document_in_force_at_the_positions_record_time(client, tokens, history, store):
    (_, first), (_, second) = _publications(store)
    body = client.get(f"/api/v1/policies/{PID}/replay?position={second}", headers=_auditor(tokens)).json
    # Version 2 was recorded on 2021-08-20 but takes effect on 2021-09-01: version 1 was still in force.
    assert body["recorded_at"].startswith("2021-08-20")
    assert body["in_force"]["version"] == 1 and body["latest"]["version"] == 2
    assert body["latest"]["document"]["sections"][0]["children"][0]["text"] == \
        "билим берүүнүн сапатын кепилдөөнү камсыздоо;"
    statuses = {r["summary"]: r["status"] for r in body["revisions"]}
    assert statuses == {"Initial text": "published", "Миссияны тактоо": "published"}
    before = client.get(f"/api/v1/policies/{PID}/replay?position={first - 1}", headers=_auditor(tokens)).json
    assert before["in_force"] is None and before["versions"] == []
    assert before["revisions"][0]["status"] == "draft"


def test_replay_without_a_position_is_the_head_and_shows_final_revision_states(client, tokens, history, store):
    body = client.get(f"/api/v1/policies/{PID}/replay", headers=_auditor(tokens)).json
    assert body["position"] == store.head()[0]
    assert body["in_force"]["version"] == 2
    assert sorted(r["status"] for r in body["revisions"]) == ["draft", "published", "published", "rejected"]


def test_replay_before_a_policy_existed_says_so(client, tokens, history, store):
    body = client.get(f"/api/v1/policies/{PID}/replay?position=1", headers=_auditor(tokens)).json
    assert body["exists"] is False and body["stream_version"] == 0 and body["latest"] is None


def test_attested_reads_replay_gives_the_live_reads_content_hash_for_every_version(client, tokens, history, store):
    for version, position in _publications(store):
        replayed = client.get(f"/api/v1/policies/{PID}/replay?position={position}", headers=_auditor(tokens)).json
        live = client.get(f"/api/v1/policies/{PID}?version={version}")
        assert live.status_code == 200, live.json
        assert live.json["content_hash"] == replayed["latest"]["content_hash"]
        assert live.json["log_position"] >= position


# ---- verification -------------------------------------------------------------------------------

def test_verify_says_the_chain_is_whole(client, tokens, history, store):
    body = client.get("/api/v1/ledger/verify", headers=_auditor(tokens)).json
    assert body == {"ok": True, "events_checked": store.head()[0], "first_bad_position": None, "problem": None,
                    "checkpoints_checked": 0, "checked_up_to": None}
