"""Liveness and readiness probes."""
from __future__ import annotations

from flask import Blueprint, Flask, Response, jsonify
from sqlalchemy import text

from service.bootstrap import services
from service.db import current_revision, head_revision
from service.http.problems import problem

health = Blueprint("health", __name__)


@health.get("/health")
def live() -> Response:
    """Answer while the process runs."""
    return jsonify(status="ok")


@health.get("/health/ready")
def ready() -> Response:
    """Answer 200 only when the database answers and its schema is at the newest migration."""
    try:
        with services().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            revision = current_revision(connection)
    except Exception as error:  # noqa: BLE001  any failure to reach the database means: not ready
        return problem(503, "Service Unavailable", f"database unreachable: {type(error).__name__}",
                       code="not_ready")
    head = head_revision()
    if revision is None:
        return problem(503, "Service Unavailable", "schema not initialised: run policy-ledger init",
                       code="schema_missing", schema_revision=None, expected_revision=head)
    if revision != head:
        return problem(503, "Service Unavailable",
                       f"schema at revision {revision}, this code needs {head}: run policy-ledger init",
                       code="schema_outdated", schema_revision=revision, expected_revision=head)
    return jsonify(status="ready", database="ok", schema="ok", schema_revision=revision)


def init_app(app: Flask) -> None:
    """Register the probes."""
    app.register_blueprint(health)
