"""HTTP conventions every endpoint shares: problems, security, guards, caching, paging, idempotency, writes."""
from __future__ import annotations

from flask import Flask

from . import caching, problems, security


def init_app(app: Flask) -> None:
    """Install what every request and response goes through: a sent token checked, problem documents for errors,
    conditional reads."""
    problems.init_app(app)
    caching.init_app(app)
    app.before_request(security.check_sent_token)
