"""Webhooks: admins register them (URLs checked), the worker POSTs every event signed, in log order, once per
delivery id, retrying with growing delays, and turns off a webhook that has failed for a day."""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import pytest
from sqlalchemy import func, select

from events.store.tables import events as events_table
from service.notifications.settings import NotifySettings
from service.notifications.worker import Worker
from tests.support import bearer
from tests.support.api import build_published, ok, post
from tests.support.receiver import webhook_receiver

HOOKS = "/api/v1/webhooks"


@pytest.fixture
def app_config(clock):
    return {"CLOCK": clock, "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1"}


def worker(app, clock, **options) -> Worker:
    return Worker(app.extensions["policy_ledger"].engine, NotifySettings.from_config(app.config), clock=clock,
                  **options)


def register(client, tokens, url: str, events=("*",)) -> dict:
    return ok(client.post(HOOKS, json={"url": url, "events": list(events), "description": "сапат бөлүмү"},
                          headers=bearer(tokens["admin"])), 201)


def log_events(app, after: int) -> list[tuple[int, str]]:
    with app.extensions["policy_ledger"].engine.connect() as connection:
        return [tuple(row) for row in connection.execute(
            select(events_table.c.position, events_table.c.type).where(events_table.c.position > after)
            .order_by(events_table.c.position))]


def head(app) -> int:
    with app.extensions["policy_ledger"].engine.connect() as connection:
        return connection.execute(select(func.coalesce(func.max(events_table.c.position), 0))).scalar_one()


def check_signed(received, secret: str) -> dict:
    expected = "sha256=" + hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(received.headers["X-Policy-Ledger-Signature"], expected)
    return json.loads(received.body)


@pytest.mark.parametrize(("url", "why"), [
    ("ftp://hooks.example.org/x", "http or https"),
    ("javascript:alert(1)", "http or https"),
    ("http://10.1.2.3/hook", "private"),
    ("http://192.168.0.10/hook", "private"),
    ("http://169.254.169.254/latest/meta-data", "private"),
    ("http://[::1]:8080/hook", "private"),
    ("http://localhost/hook", "private"),
    ("http://[::1/hook", "not a URL"),
    ("http://user:secret@hooks.example.org/x", "user name or password"),
    ("http://0.0.0.0/hook", "private"),
])
def test_a_webhook_url_that_is_not_http_or_reaches_a_private_address_is_refused_naming_the_url(
        app, client, tokens, url, why):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ""  # the default: no private address allowed
    answer = client.post(HOOKS, json={"url": url, "events": ["*"]}, headers=bearer(tokens["admin"]))
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert why in " ".join(answer.json["errors"]["url"])
    assert ok(client.get(HOOKS, headers=bearer(tokens["admin"])))["items"] == []


def test_an_unknown_event_type_is_refused_naming_the_events_and_only_admins_register(client, tokens):
    answer = client.post(HOOKS, json={"url": "http://127.0.0.1:9/x", "events": ["RevisionSubmited"]},
                         headers=bearer(tokens["admin"]))
    assert answer.status_code == 422 and "RevisionSubmited" in answer.json["errors"]["events"][0]
    assert client.post(HOOKS, json={"url": "http://127.0.0.1:9/x", "events": ["*"]},
                       headers=bearer(tokens["author"])).status_code == 403
    assert client.get(HOOKS).status_code == 401
    assert ok(client.get(HOOKS, headers=bearer(tokens["admin"])))["items"] == []


def test_a_private_address_is_refused_unless_the_deployment_allows_it(app, client, tokens):
    app.config["WEBHOOK_ALLOWED_HOSTS"] = ""
    answer = client.post(HOOKS, json={"url": "http://127.0.0.1:9/x", "events": ["*"]}, headers=bearer(tokens["admin"]))
    assert answer.status_code == 422 and "url" in answer.json["errors"]
    app.config["WEBHOOK_ALLOWED_HOSTS"] = "10.0.0.0/8, 127.0.0.0/8"
    assert register(client, tokens, "http://127.0.0.1:9/x")["url"] == "http://127.0.0.1:9/x"


def test_the_receiver_gets_every_event_once_in_log_order_signed_with_the_secret_shown_once(
        app, client, tokens, clock):
    with webhook_receiver() as receiver:
        hook = register(client, tokens, receiver.url)
        assert len(hook["secret"]) == 64
        listed = ok(client.get(HOOKS, headers=bearer(tokens["admin"])))["items"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0] and listed[0]["active"]
        assert listed[0]["description"] == "сапат бөлүмү" and listed[0]["created_by"] == "quality-office"
        start = head(app)
        build_published(client, tokens, clock)
        worker(app, clock).round()
        received = receiver.taken()
    expected = log_events(app, start)
    bodies = [check_signed(r, hook["secret"]) for r in received]
    assert [(b["position"], b["type"]) for b in bodies] == expected
    assert [r.headers["X-Policy-Ledger-Event"] for r in received] == [t for _, t in expected]
    assert len({r.headers["X-Policy-Ledger-Delivery"] for r in received}) == len(received)
    assert all(b["policy_id"] == "oshsu-quality" and b["stream"] == "policy-oshsu-quality" for b in bodies)
    assert "ОшМУнун миссиясы:" in received[2].body.decode("utf-8")  # Kyrgyz as written, not escaped


def test_only_the_event_types_asked_for_are_delivered(app, client, tokens, clock):
    with webhook_receiver() as receiver:
        register(client, tokens, receiver.url, events=["RevisionSubmitted", "RevisionPublished"])
        build_published(client, tokens, clock)
        worker(app, clock).round()
        types = [r.headers["X-Policy-Ledger-Event"] for r in receiver.taken()]
    assert types == ["RevisionSubmitted", "RevisionPublished"]


def test_a_receiver_failing_for_a_while_gets_every_delivery_afterwards_in_order_with_the_same_delivery_ids(
        app, client, tokens, clock):
    with webhook_receiver() as receiver:
        receiver.answer = lambda n: 503 if n <= 4 else 200
        hook = register(client, tokens, receiver.url)
        start = head(app)
        build_published(client, tokens, clock)
        pending = worker(app, clock)
        for _ in range(8):
            pending.round()
            clock.advance(minutes=5)  # past each growing delay (10 s, 20 s, 40 s, 80 s)
        received = receiver.taken()
    expected = log_events(app, start)
    first_id = received[0].headers["X-Policy-Ledger-Delivery"]
    assert [r.headers["X-Policy-Ledger-Delivery"] for r in received[:5]] == [first_id] * 5  # the first, 5 times
    delivered = [check_signed(r, hook["secret"]) for r in received[4:]]
    assert [(b["position"], b["type"]) for b in delivered] == expected
    attempts = ok(client.get(f"{HOOKS}/{hook['id']}/deliveries?limit=500", headers=bearer(tokens["admin"])))["items"]
    assert [a["status_code"] for a in attempts[:5]] == [503, 503, 503, 503, 200]
    assert all(a["next_retry"] for a in attempts[:4]) and attempts[4]["next_retry"] is None
    waits = [a["next_retry"] > a["at"] for a in attempts[:4]]
    assert all(waits)
    assert {a["delivery_id"] for a in attempts[:5]} == {first_id}
    assert ok(client.get(HOOKS, headers=bearer(tokens["admin"])))["items"][0]["failing_since"] is None


def test_a_receiver_that_times_out_is_tried_again(app, client, tokens, clock):
    with webhook_receiver() as receiver:
        receiver.answer = lambda n: (time.sleep(1.0), 200)[1] if n == 1 else 200
        hook = register(client, tokens, receiver.url, events=["PolicyCreated"])
        build_published(client, tokens, clock)
        slow = worker(app, clock, webhook_timeout=0.3)
        slow.round()
        clock.advance(minutes=1)
        slow.round()
        received = receiver.taken()
    assert len(received) == 2 and received[0].headers["X-Policy-Ledger-Delivery"] == \
        received[1].headers["X-Policy-Ledger-Delivery"]
    attempts = ok(client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=bearer(tokens["admin"])))["items"]
    assert attempts[0]["status_code"] is None and "timed out" in attempts[0]["error"].lower()
    assert attempts[1]["status_code"] == 200


def test_a_webhook_failing_for_a_day_is_turned_off_and_shown_so(app, client, tokens, clock):
    with webhook_receiver() as receiver:
        receiver.answer = lambda n: 500
        register(client, tokens, receiver.url, events=["PolicyCreated"])
        build_published(client, tokens, clock)
        failing = worker(app, clock)
        for _ in range(30):
            failing.round()
            clock.advance(hours=1)
        tried = len(receiver.taken())
        failing.round()
        clock.advance(hours=2)
        failing.round()
        assert len(receiver.taken()) == tried, "nothing is sent to a webhook turned off"
    shown = ok(client.get(HOOKS, headers=bearer(tokens["admin"])))["items"][0]
    assert shown["active"] is False and shown["disabled_at"] and shown["failing_since"]
    assert metric(client, "policy_ledger_webhooks_disabled") == 1
    assert metric(client, 'policy_ledger_notifications{channel="webhook",status="failed"}') == 1
    assert metric(client, 'policy_ledger_notifications{channel="webhook",status="pending"}') == 0
    assert 20 <= tried <= 27  # hourly at most, for a day


def test_a_removed_webhook_gets_nothing_more_and_its_attempts_stay_readable(app, client, tokens, clock):
    with webhook_receiver() as receiver:
        hook = register(client, tokens, receiver.url, events=["PolicyCreated", "RevisionOpened"])
        build_published(client, tokens, clock)
        worker(app, clock).round()
        assert client.delete(f"{HOOKS}/{hook['id']}", headers=bearer(tokens["admin"])).status_code == 204
        ok(post(client, tokens["author"], "/oshsu-quality/revisions", {"summary": "жаңы"}), 201)
        worker(app, clock).round()
        assert len(receiver.taken()) == 2
    assert client.get(f"{HOOKS}/{hook['id']}/deliveries", headers=bearer(tokens["admin"])).status_code == 404
    assert client.delete(f"{HOOKS}/{hook['id']}", headers=bearer(tokens["admin"])).status_code == 404


def metric(client, name: str) -> float:
    found = re.search(rf"^{re.escape(name)} (\S+)$", client.get("/metrics").get_data(as_text=True), re.M)
    assert found, name
    return float(found.group(1))


def test_metrics_show_deliveries_sent_failed_and_pending_and_the_workers_lag_behind_the_log(
        app, client, tokens, clock):
    with webhook_receiver() as receiver:
        receiver.answer = lambda n: 500 if n == 3 else 200
        register(client, tokens, receiver.url)
        build_published(client, tokens, clock)
        events = len(log_events(app, 0))
        assert metric(client, "policy_ledger_notification_lag_events") == events
        worker(app, clock).round()
        assert metric(client, "policy_ledger_notification_lag_events") == 0
        sent = 'policy_ledger_notifications{channel="webhook",status="sent"}'
        pending = 'policy_ledger_notifications{channel="webhook",status="pending"}'
        assert metric(client, sent) == 2 and metric(client, pending) == events - 2  # the third waits to retry
        clock.advance(minutes=1)
        worker(app, clock).round()
    assert metric(client, sent) == events and metric(client, pending) == 0
    assert metric(client, 'policy_ledger_notifications{channel="mail",status="failed"}') == 0
    assert metric(client, "policy_ledger_webhooks_disabled") == 0
