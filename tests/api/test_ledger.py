"""The auditor's log endpoints: raw events, the global feed, replay, verification, checkpoints and the bundle."""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import select

from events.application import Context
from events.domain.policy import Actor
from events.domain.streams import stream_for
from events.domain import commands as cmd
from projections.documents import policy_versions
from service.evidence.checkpoints import generate_key_file, load_key, load_public_key, verify_checkpoint

from tests.support import bearer
from tests.support.lifecycle import AUTHOR, run_lifecycle

PID = "oshsu-quality"


@pytest.fixture
def key_file(app, tmp_path):
    path = tmp_path / "ledger-key.pem"
    generate_key_file(path)
    app.config["SIGNING_KEY_FILE"] = str(path)
    return path


@pytest.fixture
def history(ledger, clock) -> dict:
    """The lifecycle policy, with another policy's events before, inside and after its own."""
    clock.set("2019-06-01T09:00:00+00:00")
    ledger.handle(cmd.CreatePolicy(policy_id="library", title="Китепкана эрежеси", language="ky", review_interval_days=365), AUTHOR)
    ids = run_lifecycle(ledger, clock, PID)
    ledger.handle(cmd.OpenRevision(policy_id="library", summary="Жаңы бөлүм"), AUTHOR)
    ledger.handle(cmd.OpenRevision(policy_id=PID, summary="Акыркы"), AUTHOR)
    ledger.handle(cmd.OpenRevision(policy_id="library", summary="Дагы бир"), AUTHOR)
    return ids


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


@pytest.mark.parametrize("path", [f"/api/v1/policies/{PID}/events", "/api/v1/events", f"/api/v1/policies/{PID}/replay",
                                  "/api/v1/ledger/verify", "/api/v1/ledger/checkpoints",
                                  f"/api/v1/policies/{PID}/bundle"])
def test_only_an_auditor_reads_the_log(client, tokens, history, key_file, path):
    assert client.get(path).status_code == 401
    assert client.get(f"{path}?bogus=1").status_code == 401  # who asks is settled before what is asked
    for role in ("author", "approver", "admin"):
        response = client.get(path, headers=bearer(tokens[role]))
        assert response.status_code == 403, role
        assert response.mimetype == "application/problem+json"
    assert client.get(path, headers=_auditor(tokens)).status_code == 200


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


def test_a_poller_sees_every_position_once_and_in_order_while_writers_race(app, tokens):
    """Writers on their own connections append concurrently; a poller following `after` misses nothing."""
    services = app.extensions["policy_ledger"]
    writers, rounds = 4, 6
    done = threading.Event()
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            pid = f"race-{n}"
            author = Context(actor=Actor(name=f"author-{n}", role="author"))
            services.ledger.handle(cmd.CreatePolicy(policy_id=pid, title=f"Саясат {n}", language="ky", review_interval_days=30), author)
            for round_ in range(rounds):
                services.ledger.handle(cmd.OpenRevision(policy_id=pid, summary=f"өзгөртүү {round_}"), author)
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    seen: list[int] = []

    def poll() -> None:
        client, after = app.test_client(), 0
        while True:
            finished = done.is_set()  # read before polling: one more poll after the writers are done
            body = client.get("/api/v1/events", query_string={"after": after, "limit": 7},
                              headers=_auditor(tokens)).json
            seen.extend(item["position"] for item in body["items"])
            after = body["last_position"]
            if finished and not body["items"]:
                return

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    poller = threading.Thread(target=poll)
    poller.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    poller.join(timeout=120)
    assert not errors
    total = writers * (rounds + 1)
    assert services.store.head()[0] == total
    assert seen == list(range(1, total + 1))


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
    assert body == {"ok": True, "events_checked": store.head()[0], "first_bad_position": None, "problem": None}


def _force(engine, statement: str) -> None:
    """Alter the log behind the database's back (dropping the guard first), as an intruder would."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER USER")
            connection.exec_driver_sql(statement)
            connection.exec_driver_sql("ALTER TABLE events ENABLE TRIGGER USER")
        else:
            connection.exec_driver_sql("DROP TRIGGER events_no_update")
            connection.exec_driver_sql(statement)


def test_verify_names_the_first_altered_position_and_still_answers_200(client, tokens, history, store):
    _force(store.engine, "UPDATE events SET data = replace(data, 'ок', 'OK') WHERE position = 17")
    response = client.get("/api/v1/ledger/verify", headers=_auditor(tokens))
    assert response.status_code == 200
    assert response.json["ok"] is False
    assert response.json["first_bad_position"] == 17 and response.json["events_checked"] == 16
    assert "does not match its hash" in response.json["problem"]


# ---- checkpoints and the public key -------------------------------------------------------------

def test_a_posted_checkpoint_verifies_with_the_published_public_key(client, tokens, history, store, key_file):
    made = client.post("/api/v1/ledger/checkpoints", headers=_auditor(tokens))
    assert made.status_code == 201
    position, head_hash, recorded_at = store.head()
    assert (made.json["position"], made.json["hash"], made.json["recorded_at"]) == (position, head_hash, recorded_at)
    public = load_public_key(client.get("/api/v1/ledger/public-key").get_data())
    assert verify_checkpoint(made.json, public)
    listed = client.get("/api/v1/ledger/checkpoints", headers=_auditor(tokens)).json
    assert listed == {"items": [made.json], "next_cursor": None}


def test_checkpoints_page_with_a_cursor(client, tokens, history, key_file):
    made = [client.post("/api/v1/ledger/checkpoints", headers=_auditor(tokens)).json for _ in range(3)]
    first = client.get("/api/v1/ledger/checkpoints?limit=2", headers=_auditor(tokens)).json
    rest = client.get(f"/api/v1/ledger/checkpoints?limit=2&cursor={first['next_cursor']}",
                      headers=_auditor(tokens)).json
    assert first["items"] + rest["items"] == made and rest["next_cursor"] is None


def test_a_repeated_idempotency_key_answers_the_first_checkpoint(client, tokens, history, key_file):
    headers = _auditor(tokens) | {"Idempotency-Key": "nightly-2024-03-01"}
    first = client.post("/api/v1/ledger/checkpoints", headers=headers)
    again = client.post("/api/v1/ledger/checkpoints", headers=headers)
    assert again.json == first.json
    assert len(client.get("/api/v1/ledger/checkpoints", headers=_auditor(tokens)).json["items"]) == 1


def test_checkpointing_an_empty_log_is_a_conflict(client, tokens, key_file):
    response = client.post("/api/v1/ledger/checkpoints", headers=_auditor(tokens))
    assert response.status_code == 409 and "empty" in response.json["detail"]


# ---- the bundle ---------------------------------------------------------------------------------

def test_the_bundle_downloads_as_one_json_attachment_with_a_fresh_checkpoint(client, tokens, history, store,
                                                                              key_file):
    response = client.get(f"/api/v1/policies/{PID}/bundle", headers=_auditor(tokens))
    assert response.status_code == 200 and response.mimetype == "application/json"
    head = store.head()[0]
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{PID}-evidence-{head}.json"')
    bundle = json.loads(response.get_data(as_text=True))
    assert bundle["checkpoint"]["position"] == head
    assert bundle["manifest"]["counts"]["events"] == store.stream_version(stream_for(PID))
    assert verify_checkpoint(bundle["checkpoint"], load_key(key_file).private.public_key())
    listed = client.get("/api/v1/ledger/checkpoints", headers=_auditor(tokens)).json["items"]
    assert [c["signature"] for c in listed] == [bundle["checkpoint"]["signature"]]


# ---- the contract -------------------------------------------------------------------------------

def test_the_openapi_document_describes_every_auditor_endpoint_with_its_schemas(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in ("/api/v1/policies/{pid}/events", "/api/v1/events", "/api/v1/policies/{pid}/replay",
                 "/api/v1/ledger/verify", "/api/v1/ledger/public-key", "/api/v1/ledger/checkpoints",
                 "/api/v1/policies/{pid}/bundle"):
        assert path in paths, path
    events = paths["/api/v1/events"]["get"]
    assert {p["name"] for p in events["parameters"]} == {"after", "cursor", "limit", "up_to", "format"}
    assert set(events["responses"]["200"]["content"]) == {"application/json", "application/x-ndjson"}
    schemas = spec["components"]["schemas"]
    assert {"position", "hash", "prev_hash", "data", "meta"} <= set(schemas["LedgerEvent"]["properties"])
    assert "last_position" in schemas["LogPage"]["properties"]
    assert {"in_force", "latest", "versions", "revisions"} <= set(schemas["Replay"]["properties"])
    assert "post" in paths["/api/v1/ledger/checkpoints"]
