"""The small findings an attacker or a careless client meets: who is asked first, /metrics, one rule for bad
tokens, methods the API does not answer, and an admin's signature under a rule for approvers."""
from __future__ import annotations

import pytest

from tests.support.api import API, PID, create, ok, post, signing
from tests.support.apps import running_app

PROBLEM = "application/problem+json"
BAD = {"Authorization": "Bearer not-a-token"}


WRITES = [("post", f"{API}"), ("post", f"{API}/{PID}/revisions"), ("post", f"{API}/{PID}/revisions/rev-1/changes"),
          ("post", f"{API}/{PID}/revisions/rev-1/approvals"), ("post", "/api/v1/ledger/checkpoints"),
          ("post", f"{API}/{PID}/acknowledgements")]


@pytest.mark.parametrize("method, path", WRITES)
@pytest.mark.parametrize("body", [{}, [], "not json"])
def test_a_write_without_a_token_is_a_401_whatever_its_body(client, method, path, body):
    response = client.post(path, json=body) if body != "not json" else client.post(path, data=body)
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM and "WWW-Authenticate" in response.headers


@pytest.mark.parametrize("path", ["/health", "/health/ready", "/api/v1/ledger/public-key", f"{API}",
                                  "/api/v1/openapi.json", "/metrics"])
def test_a_garbage_token_is_a_401_on_every_endpoint_even_one_anyone_may_call(client, path):
    response = client.get(path, headers=BAD)
    assert response.status_code == 401, (path, response.status_code)
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize("path", ["/health", "/api/v1/ledger/public-key", f"{API}"])
def test_the_same_endpoints_answer_without_a_token(client, path):
    assert client.get(path).status_code in (200, 404)


@pytest.mark.parametrize("path", [f"{API}", "/health", "/api/v1/ledger/verify"])
def test_trace_is_a_405_naming_the_methods_allowed(client, path):
    response = client.open(path, method="TRACE")
    assert response.status_code == 405
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert "GET" in allowed and "TRACE" not in allowed


def test_the_openapi_document_names_problem_json_for_every_refusal_it_lists(client):
    document = client.get("/api/v1/openapi.json").json
    missing = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    resolved = response
                    if "$ref" in response:
                        resolved = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]
                    if PROBLEM not in (resolved.get("content") or {}):
                        missing.append(f"{method.upper()} {path} {status}")
    assert not missing, missing


def test_an_admins_signature_under_a_rule_for_approvers_is_refused_and_records_nothing(client, tokens, clock, store):
    draft = create(client, tokens)
    ok(post(client, tokens["author"], f"/{PID}/revisions/{draft}/submit", {"reviewers": ["reviewer1"]}))
    ok(post(client, tokens["reviewer"], f"/{PID}/revisions/{draft}/reviews", {"verdict": "approve"}), 201)
    before = store.head()[0]
    refused = post(client, tokens["admin"], f"/{PID}/revisions/{draft}/approvals", signing("approved"))
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    assert "step 1 of the approval route waits on any approver" in refused.json["detail"]
    assert store.head()[0] == before


def test_metrics_answer_only_this_host_by_default(client):
    assert client.get("/metrics").status_code == 200  # the test client calls from 127.0.0.1
    away = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert away.status_code == 403 and away.mimetype == PROBLEM
    assert "POLICY_LEDGER_METRICS" in away.json["detail"]


def test_metrics_behind_a_token_need_an_admin_or_an_auditor(app, client, tokens):
    app.config["METRICS"] = "token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {tokens['author']}"}).status_code == 403
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {tokens['auditor']}"},
                         environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert scraped.status_code == 200 and b"policy_ledger_" in scraped.data


def test_metrics_open_or_off(app, client):
    app.config["METRICS"] = "open"
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 200
    app.config["METRICS"] = "off"
    assert client.get("/metrics").status_code == 404


def test_an_unknown_metrics_setting_stops_the_app_from_starting(database_url):
    with (pytest.raises(ValueError, match="POLICY_LEDGER_METRICS must be one of local, token, open, off"),
          running_app(database_url, METRICS="everyone")):
        pass
