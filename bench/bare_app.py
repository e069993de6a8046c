"""The HTTP baseline: a bare Flask app serving one fixed JSON body, under the same gunicorn settings."""
from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response

BODY_FILE = "POLICY_LEDGER_BENCH_BODY"


def create_app() -> Flask:
    """Build an app whose one route answers with the body read from the file named in the environment."""
    app = Flask(__name__)
    body = Path(os.environ[BODY_FILE]).read_bytes()

    @app.get("/api/v1/policies/<policy_id>")
    def policy(policy_id: str) -> Response:
        return Response(body, mimetype="application/json")

    @app.get("/health")
    def health() -> Response:
        return Response(b'{"status":"ok"}', mimetype="application/json")

    return app
