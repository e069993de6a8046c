"""The auditor's log endpoints: raw events, the global feed, replay, verification, checkpoints and the bundle.

Tests that only read one history share it: see test_ledger_reads.py."""
from __future__ import annotations

import json
import threading

import pytest

from events.application import Context
from events.domain import commands as cmd
from events.domain.policy import Actor
from events.domain.streams import stream_for
from service.evidence.checkpoints import generate_key_file, load_key, load_public_key, verify_checkpoint
from tests.support import bearer
from tests.support.databases import tamper
from tests.support.lifecycle import run_interleaved_lifecycle

PID = "oshsu-quality"
LIBRARY_TITLE = "Китепкана эрежеси"


@pytest.fixture
def key_file(app, tmp_path):
    path = tmp_path / "ledger-key.pem"
    generate_key_file(path)
    app.config["SIGNING_KEY_FILE"] = str(path)
    return path


@pytest.fixture
def history(ledger, clock) -> dict:
    """The lifecycle policy, with another policy's events before, inside and after its own."""
    return run_interleaved_lifecycle(ledger, clock, PID, library_title=LIBRARY_TITLE)


def _auditor(tokens) -> dict[str, str]:
    return bearer(tokens["auditor"])


# ---- who may read the log ------------------------------------------------------------------------


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


# ---- the global log while writers race ----------------------------------------------------------


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
            services.ledger.handle(
                cmd.CreatePolicy(policy_id=pid, title=f"Саясат {n}", language="ky", review_interval_days=30), author)
            for round_ in range(rounds):
                services.ledger.handle(cmd.OpenRevision(policy_id=pid, summary=f"өзгөртүү {round_}"), author)
        except BaseException as error:  # noqa: BLE001 - whatever a writer thread raises is surfaced by the assertion below
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


# ---- verification -------------------------------------------------------------------------------


def test_verify_names_the_first_altered_position_and_still_answers_200(client, tokens, history, store):
    tamper(store.engine, "UPDATE events SET data = replace(data, 'ок', 'OK') WHERE position = 17")
    response = client.get("/api/v1/ledger/verify", headers=_auditor(tokens))
    assert response.status_code == 200
    assert response.json["ok"] is False
    assert response.json["first_bad_position"] == 17 and response.json["events_checked"] == 16
    assert "does not match its hash" in response.json["problem"]


def test_verify_holds_the_log_to_its_signed_checkpoints_and_says_up_to_which(client, tokens, history, store,
                                                                            key_file):
    before = client.get("/api/v1/ledger/verify", headers=_auditor(tokens)).json
    assert before["ok"] and before["checkpoints_checked"] == 0 and before["checked_up_to"] is None
    made = client.post("/api/v1/ledger/checkpoints", headers=_auditor(tokens)).json
    checked = client.get("/api/v1/ledger/verify", headers=_auditor(tokens)).json
    assert checked["ok"] and checked["checkpoints_checked"] == 1
    assert checked["checked_up_to"] == {"id": made["id"], "position": made["position"], "signed_at": made["signed_at"]}
    if store.engine.dialect.name == "sqlite":
        with store.engine.begin() as connection:
            connection.exec_driver_sql("DROP TRIGGER events_no_delete")
    tamper(store.engine, f"DELETE FROM events WHERE position = {made['position']}")
    cut = client.get("/api/v1/ledger/verify", headers=_auditor(tokens))
    assert cut.status_code == 200
    assert cut.json["ok"] is False and cut.json["first_bad_position"] == made["position"]
    assert "tail was cut off" in cut.json["problem"] and cut.json["checked_up_to"] is None


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
