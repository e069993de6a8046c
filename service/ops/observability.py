"""What operators see: JSON logs with a request id per request, and Prometheus metrics at /metrics."""
from __future__ import annotations

import logging
import os
import re
import sys
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy import Connection, Engine, event, func, select
from werkzeug.exceptions import Forbidden

from events.store import EventStore, StoredEvent, VerifyResult
from events.store.signals import appended
from events.store.tables import events as events_table
from projections.catalog import policies
from service.bootstrap import services
from service.evidence import verification
from service.evidence.checkpoints import signing_key
from service.evidence.verification import Verification
from service.http.problems import refusal
from service.http.security import require
from service.notifications import metrics as notification_metrics

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,100}")
_PENDING = "policy_ledger_pending_event_types"  # key in Connection.info: appended, not yet committed

request_log = logging.getLogger("policy_ledger.requests")
log = logging.getLogger(__name__)

# Metric objects live for the process; under gunicorn prometheus-client keeps them in per-worker files
# (PROMETHEUS_MULTIPROC_DIR, set by deploy/gunicorn.conf.py) that /metrics adds up.
REQUEST_SECONDS = Histogram("policy_ledger_http_request_duration_seconds",
                            "Time to answer a request, by URL rule and status.", ["method", "route", "status"])
EVENTS_APPENDED = Counter("policy_ledger_events_appended", "Events committed to the log, by type.", ["type"])
LOG_HEAD = Gauge("policy_ledger_log_head_position", "Position of the newest event in the log.",
                 multiprocess_mode="mostrecent")
PROJECTION_LAG = Gauge("policy_ledger_projection_lag_events",
                       "Log head position minus the newest position the read models reflect.",
                       multiprocess_mode="mostrecent")
VERIFICATIONS = Counter("policy_ledger_chain_verifications", "Hash-chain verifications, by outcome.", ["outcome"])
EVENTS_VERIFIED = Gauge("policy_ledger_chain_events_checked", "Events checked by the latest verification.",
                        multiprocess_mode="mostrecent")
VERIFIED_AT = Gauge("policy_ledger_chain_verified_timestamp_seconds", "When the latest verification finished.",
                    multiprocess_mode="mostrecent")


# ---- logs --------------------------------------------------------------------------------------

class _StderrHandler(logging.StreamHandler):
    """Write to whatever sys.stderr is when a record is written (test runners swap it)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def configure_logging(level: str) -> None:
    """Send every log record to stderr as one JSON object per line (idempotent)."""
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                                           rename_fields={"asctime": "time", "levelname": "level",
                                                          "name": "logger"},
                                           json_ensure_ascii=False))
        root.addHandler(handler)
    root.setLevel(level.upper())
    # The lines carry no thread or process name, so the logging module need not look them up for every
    # record (the logging HOWTO's "Optimization" section). The process id stays: gunicorn's own lines print it.
    logging.logThreads = logging.logMultiprocessing = False


# ---- requests ----------------------------------------------------------------------------------

def request_id_from(header: str | None) -> str:
    """Return the caller's request id when it is sane, else a new one."""
    if header and _SANE_REQUEST_ID.fullmatch(header):
        return header
    return os.urandom(16).hex()  # 128 random bits, as a version-4 UUID's hex would carry, without the UUID


def _start_request() -> None:
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
    g.request_started = time.perf_counter()


def _finish_request(response: Response) -> Response:
    started = g.get("request_started", time.perf_counter())
    elapsed = time.perf_counter() - started
    request_id = g.get("request_id") or request_id_from(None)
    # The URL rule, not the raw path: one series per endpoint however many policies there are.
    route = request.url_rule.rule if request.url_rule is not None else "unmatched"
    response.headers[REQUEST_ID_HEADER] = request_id
    principal = g.get("principal")  # a token's holder, on the API
    signed_in = g.get("web_user")  # a signed-in person, on the pages
    who = principal.name if principal is not None else (signed_in.name if signed_in is not None else None)
    record_request(request.method, request.path, route, response.status_code, elapsed, request_id, who)
    return response


def record_request(method: str, path: str, route: str, status: int, elapsed: float, request_id: str,
                   user: str | None) -> None:
    """Count a request in the metrics and write its log line."""
    REQUEST_SECONDS.labels(method, route, str(status)).observe(elapsed)
    request_log.info("request", extra={
        "method": method, "path": path, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 3),
        "request_id": request_id, "user": user})


# ---- events ------------------------------------------------------------------------------------

def count_appended(sender: Any, *, connection: Connection, events: list[StoredEvent],
                   replaying: bool = False, memo: dict[str, Any] | None = None) -> None:
    """Note appended events on their transaction; they are counted only if it commits."""
    if replaying:
        return  # a rebuild replays old events; it appends nothing
    connection.info.setdefault(_PENDING, []).extend(stored.type for stored in events)


def _committed(connection: Connection) -> None:
    for type_name in connection.info.pop(_PENDING, ()):
        EVENTS_APPENDED.labels(type_name).inc()


def _rolled_back(connection: Connection) -> None:
    connection.info.pop(_PENDING, None)


# ---- the chain ---------------------------------------------------------------------------------

def record_verification(result: VerifyResult | Verification) -> None:
    """Count a verification's outcome and keep how many events it checked."""
    VERIFICATIONS.labels("ok" if result.ok else "broken").inc()
    EVENTS_VERIFIED.set(result.events_checked)
    VERIFIED_AT.set(time.time())


def verify(store: EventStore, progress: Callable[[int], None] | None = None) -> Verification:
    """Walk the hash chain, hold every signed checkpoint against it, and record the outcome in the metrics."""
    result = verification.verify(store, _public_keys, progress=progress)
    record_verification(result)
    return result


def _public_keys() -> dict[str, Ed25519PublicKey]:
    key = signing_key()
    return {key.key_id: key.private.public_key()}


# ---- /metrics ----------------------------------------------------------------------------------

metrics = Blueprint("metrics", __name__)


def _refresh_log_gauges(engine: Engine) -> None:
    # Read from the database, not this process's memory: appends made by other workers and hosts count too.
    with engine.connect() as connection:
        head = connection.execute(select(func.coalesce(func.max(events_table.c.position), 0))).scalar_one()
        projected = connection.execute(select(func.coalesce(func.max(policies.c.last_position), 0))).scalar_one()
    LOG_HEAD.set(head)
    PROJECTION_LAG.set(head - projected)


METRICS_ACCESS = ("local", "token", "open", "off")
LOOPBACK = ("127.0.0.1", "::1")


def _may_scrape() -> None:
    """Let through only who POLICY_LEDGER_METRICS names: loopback callers (the default, which the nginx example
    also enforces), holders of an admin or auditor token, anyone, or no one (404)."""
    access = current_app.config.get("METRICS", "local")
    if access == "off":
        abort(404)
    if access == "token":
        require("admin", "auditor")
    elif access != "open" and request.remote_addr not in LOOPBACK:
        raise refusal(Forbidden, "metrics are served only to this host (POLICY_LEDGER_METRICS=local)")


@metrics.get("/metrics")
def scrape() -> Response:
    """Expose the metrics of every worker in the Prometheus text format."""
    _may_scrape()
    try:
        _refresh_log_gauges(services().engine)
        notification_metrics.refresh(services().engine)
    except Exception as error:  # noqa: BLE001  the request and chain metrics are still worth serving without the database
        log.warning("log gauges not refreshed: %s", type(error).__name__)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


def init_app(app: Flask) -> None:
    """Install JSON logging, the request id and timing hooks, the event counter and /metrics."""
    configure_logging(app.config.get("LOG_LEVEL", "INFO"))
    access = app.config.setdefault("METRICS", "local")
    if access not in METRICS_ACCESS:
        raise ValueError(f"POLICY_LEDGER_METRICS must be one of {', '.join(METRICS_ACCESS)}, not {access!r}")
    app.before_request(_start_request)
    app.after_request(_finish_request)
    appended.connect(count_appended)
    if not event.contains(Engine, "commit", _committed):
        event.listen(Engine, "commit", _committed)
        event.listen(Engine, "rollback", _rolled_back)
    app.register_blueprint(metrics)
