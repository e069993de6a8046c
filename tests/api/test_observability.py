"""Request ids, JSON request logs and Prometheus metrics, through Flask's test client."""
from __future__ import annotations

import json
import logging
import os

import pytest
from flask import g, jsonify
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, func, select

from events.application import Ledger
from events.domain import commands as cmd
from events.domain.rules import ApprovalRule
from events.store import EventStore
from events.store.signals import appended
from events.store.tables import events
from projections.catalog import policies
from projections.rebuild import rebuild
from service.bootstrap import services
from service.http.security import require
from service.http.writes import context
from service.ops import observability
from tests.support import FakeClock, SequentialIds, bearer
from tests.support.lifecycle import AUTHOR, run_lifecycle


def new_policy(policy_id: str) -> cmd.CreatePolicy:
    """A one-paragraph policy that one approver's signature publishes."""
    return cmd.CreatePolicy(policy_id=policy_id, title="Билим берүүнүн сапаты саясаты", language="ky",
                            review_interval_days=365, approval_rule=ApprovalRule(approvals=1, roles=("approver",)),
                            sections=(cmd.SectionDraft(kind="paragraph",
                                                       text="Ар бир кызматкер өз иши үчүн жооп берет."),))


def sample(client, name: str, **labels: str) -> float:
    """Return one sample's value from /metrics (0 when the series does not exist yet)."""
    text = client.get("/metrics").get_data(as_text=True)
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and all(found.labels.get(k) == v for k, v in labels.items()):
                return found.value
    return 0.0


def request_lines(captured: str) -> list[dict]:
    lines = [json.loads(line) for line in captured.splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("logger") == "policy_ledger.requests"]


@pytest.fixture
def probe_app(app):
    """The app with two small views: one saying who is asking, one creating a policy through the ledger."""

    def whoami():
        return jsonify(name=require().name, request_id=g.request_id)

    def create(policy_id):
        outcome = services().ledger.handle(new_policy(policy_id), context("author"))
        return jsonify(outcome.result), 201

    app.add_url_rule("/probe/whoami", view_func=whoami)
    app.add_url_rule("/probe/policies/<policy_id>", view_func=create, methods=["POST"])
    return app


def test_a_sane_request_id_is_kept_and_sent_back(client):
    response = client.get("/health", headers={"X-Request-ID": "lb-2024.06_01-abc"})
    assert response.headers["X-Request-ID"] == "lb-2024.06_01-abc"


@pytest.mark.parametrize("offered", ["x" * 101, "has space", "ке-ң", "a;b", ""])
def test_an_unfit_request_id_is_replaced_by_a_new_one(client, offered):
    response = client.get("/health", headers={"X-Request-ID": offered})
    returned = response.headers["X-Request-ID"]
    assert returned != offered and len(returned) == 32 and returned.isalnum()


def test_every_response_gets_its_own_request_id_even_errors(client):
    first, second = client.get("/nowhere"), client.get("/nowhere")
    assert first.status_code == 404
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_each_request_is_logged_as_one_json_line_naming_the_user(probe_app, tokens, capsys):
    client = probe_app.test_client()
    capsys.readouterr()
    response = client.get("/probe/whoami", headers={**bearer(tokens["author"]), "X-Request-ID": "req-42"})
    assert response.json == {"name": "dean", "request_id": "req-42"}
    [line] = request_lines(capsys.readouterr().err)
    assert line["method"] == "GET" and line["path"] == "/probe/whoami" and line["status"] == 200
    assert line["request_id"] == "req-42" and line["user"] == "dean" and line["level"] == "INFO"
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0


def test_an_anonymous_request_is_logged_without_a_user(client, capsys):
    capsys.readouterr()
    client.get("/health/ready")
    [line] = request_lines(capsys.readouterr().err)
    assert line["user"] is None and line["status"] == 200 and line["path"] == "/health/ready"


def test_the_request_id_becomes_the_events_correlation_id(probe_app, tokens):
    client = probe_app.test_client()
    response = client.post("/probe/policies/sapat", headers={**bearer(tokens["author"]), "X-Request-ID": "corr-7"})
    assert response.status_code == 201
    with services_of(probe_app).engine.connect() as connection:
        metas = connection.execute(select(events.c.meta)).scalars().all()
    assert metas and all(json.loads(meta)["correlation_id"] == "corr-7" for meta in metas)


def services_of(app):
    return app.extensions["policy_ledger"]


def lifecycle(app) -> None:
    """Write the shared realistic history into the app's database, on a controlled clock."""
    clock = FakeClock()
    store = EventStore(services_of(app).engine, clock=clock)
    run_lifecycle(Ledger(store=store, clock=clock, ids=SequentialIds()), clock)


def test_request_latency_is_recorded_by_url_rule_and_status(probe_app, tokens):
    client = probe_app.test_client()
    name = "policy_ledger_http_request_duration_seconds_count"
    created = sample(client, name, route="/probe/policies/<policy_id>", status="201")
    unmatched = sample(client, name, route="unmatched", status="404")
    for policy_id in ("birinchi", "ekinchi"):
        assert client.post(f"/probe/policies/{policy_id}", headers=bearer(tokens["author"])).status_code == 201
    client.get("/no/such/path")
    assert sample(client, name, route="/probe/policies/<policy_id>", status="201") == created + 2
    assert sample(client, name, route="unmatched", status="404") == unmatched + 1
    text = client.get("/metrics").get_data(as_text=True)
    assert "birinchi" not in text  # raw paths never become labels


def test_committed_events_are_counted_by_type(app, client):
    name = "policy_ledger_events_appended_total"
    before = {t: sample(client, name, type=t) for t in ("PolicyCreated", "RevisionPublished")}
    lifecycle(app)
    with services_of(app).engine.connect() as connection:
        published = connection.execute(select(func.count()).where(events.c.type == "RevisionPublished")).scalar_one()
    assert sample(client, name, type="PolicyCreated") == before["PolicyCreated"] + 1
    assert sample(client, name, type="RevisionPublished") == before["RevisionPublished"] + published


def failing_read_model(sender, *, connection, events, replaying=False, memo=None):
    raise RuntimeError("read model failed")


def test_an_append_rolled_back_is_not_counted_and_a_rebuild_counts_nothing(app, client):
    name = "policy_ledger_events_appended_total"
    lifecycle(app)
    before = sample(client, name, type="PolicyCreated")
    appended.connect(failing_read_model)
    try:
        with pytest.raises(RuntimeError, match="read model failed"):
            services_of(app).ledger.handle(new_policy("bashka"), AUTHOR)
    finally:
        appended.disconnect(failing_read_model)
    rebuild(services_of(app).store)
    assert sample(client, name, type="PolicyCreated") == before


def test_projection_lag_shows_read_models_behind_the_log(app, client):
    lifecycle(app)
    assert sample(client, "policy_ledger_projection_lag_events") == 0
    head = services_of(app).store.head()[0]
    assert sample(client, "policy_ledger_log_head_position") == head
    with services_of(app).engine.begin() as connection:
        connection.execute(delete(policies))  # a read model emptied behind the service's back
    assert sample(client, "policy_ledger_projection_lag_events") == head
    rebuild(services_of(app).store)
    assert sample(client, "policy_ledger_projection_lag_events") == 0


def _tamper(engine) -> None:
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        else:
            connection.exec_driver_sql("DROP TRIGGER events_no_update")
        connection.exec_driver_sql("UPDATE events SET data = REPLACE(data, 'dean', 'mallory') WHERE position = 1")


def test_chain_verification_is_counted_by_outcome(app, client):
    store = services_of(app).store
    lifecycle(app)
    ok, broken = (sample(client, "policy_ledger_chain_verifications_total", outcome=o) for o in ("ok", "broken"))
    result = observability.verify(store)
    assert result.ok
    assert sample(client, "policy_ledger_chain_verifications_total", outcome="ok") == ok + 1
    assert sample(client, "policy_ledger_chain_events_checked") == result.events_checked == store.head()[0]
    _tamper(store.engine)
    result = observability.verify(store)
    assert not result.ok
    assert sample(client, "policy_ledger_chain_verifications_total", outcome="broken") == broken + 1
    assert sample(client, "policy_ledger_chain_events_checked") == result.events_checked
    assert sample(client, "policy_ledger_chain_verified_timestamp_seconds") > 0


def test_metrics_are_served_in_the_prometheus_text_format(client):
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    names = {family.name for family in text_string_to_metric_families(response.get_data(as_text=True))}
    assert {"policy_ledger_http_request_duration_seconds", "policy_ledger_events_appended",
            "policy_ledger_projection_lag_events", "policy_ledger_chain_verifications"} <= names


def test_log_records_keep_the_process_id_that_gunicorns_own_lines_print():
    from gunicorn.glogging import Logger

    observability.configure_logging("INFO")
    record = logging.getLogger("gunicorn.error").makeRecord(
        "gunicorn.error", logging.INFO, __file__, 1, "Worker exiting (pid: %s)", (os.getpid(),), None)
    assert record.process == os.getpid()
    line = logging.Formatter(Logger.error_fmt, Logger.datefmt).format(record)
    assert f"[{os.getpid()}] [INFO] Worker exiting (pid: {os.getpid()})" in line
