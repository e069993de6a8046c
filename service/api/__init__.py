"""The HTTP API v1: one flask-smorest blueprint per resource."""
from __future__ import annotations

from flask_smorest import Api


def register_api(api: Api) -> None:
    """Register every API blueprint."""
