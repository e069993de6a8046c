"""HTTP conventions every endpoint shares: problems, security, guards, caching, paging, idempotency, writes."""
from __future__ import annotations

from flask import Flask

from . import caching, problems


def init_app(app: Flask) -> None:
    """Install what every response goes through: problem documents for errors, conditional reads."""
    problems.init_app(app)
    caching.init_app(app)
