"""Liveness and readiness probes."""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify
from sqlalchemy import inspect, text

from .bootstrap import services
from .problems import problem

health = Blueprint("health", __name__)


@health.get("/health")
def live():
    """Answer while the process runs."""
    return jsonify(status="ok")


@health.get("/health/ready")
def ready():
    """Answer 200 only when the database answers and the schema is in place."""
    try:
        with services().engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            present = set(inspect(connection).get_table_names())
    except Exception as error:  # any failure to reach the database means: not ready
        return problem(503, "Service Unavailable", f"database unreachable: {type(error).__name__}",
                       code="not_ready")
    missing = {"events", "policies", "policy_versions"} - present
    if missing:
        return problem(503, "Service Unavailable", "schema not initialised: run policy-ledger init",
                       code="schema_missing")
    return jsonify(status="ready", database="ok", schema="ok")


def init_app(app: Flask) -> None:
    """Register the probes."""
    app.register_blueprint(health)
