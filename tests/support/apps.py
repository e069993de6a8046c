"""The Flask app for tests: built on a database by the real factory, with a user and token per role."""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from tests.support import PASSWORD, ROLE_USERS


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
    """Add a user per role in ROLE_USERS, each with PASSWORD; return a bearer token per role name (author,
    reviewer, auditor, …)."""
    from sqlalchemy import update

    from service.accounts import add_user, users
    engine = app.extensions["policy_ledger"].engine
    tokens = {key: add_user(engine, name, roles) for key, (name, roles) in ROLE_USERS.items()}
    with engine.begin() as connection:  # one Argon2 hash per test run, not one per user and test
        connection.execute(update(users).where(users.c.name.in_([name for name, _ in ROLE_USERS.values()]))
                           .values(password_hash=_password_hash()))
    return tokens


@functools.cache
def _password_hash() -> str:
    from argon2 import PasswordHasher
    return PasswordHasher().hash(PASSWORD)
