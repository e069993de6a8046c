"""Fixtures for tests that start real servers and processes."""
from __future__ import annotations

import pytest

from tests.support import DATABASES, create_postgres_database, drop_postgres_database


@pytest.fixture(params=DATABASES)
def served_database(request, tmp_path) -> str:
    """An empty database of its own for a served app: a SQLite file, or a new PostgreSQL database dropped after."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'served.sqlite3'}"
        return
    request.getfixturevalue("postgres")  # skips, saying why, where PostgreSQL is not reachable
    url = create_postgres_database()
    yield url
    drop_postgres_database(url)
