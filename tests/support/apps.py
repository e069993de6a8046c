"""The Flask app for tests: built on a database by the real factory, with a user and token per role."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from tests.support import ROLE_USERS


@contextmanager
def running_app(database_url: str, **config: Any) -> Iterator[Flask]:
    """Build the app on a database (at the newest schema already), and close its engine after."""
    from service import create_app
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, **config})
    try:
        yield app
    finally:
        app.extensions["policy_ledger"].engine.dispose()


def add_tokens(app: Flask) -> dict[str, str]:
    """Add a user per role in ROLE_USERS; return a bearer token per role name (author, reviewer, auditor, …)."""
    from service.accounts import add_user
    engine = app.extensions["policy_ledger"].engine
    return {key: add_user(engine, name, roles) for key, (name, roles) in ROLE_USERS.items()}
