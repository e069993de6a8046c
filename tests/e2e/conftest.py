"""Fixtures for tests that start real servers and processes."""
from __future__ import annotations

import pytest

from tests.support import DATABASES


@pytest.fixture(params=DATABASES)
def served_database(request, databases, tmp_path) -> str:
    """An empty database of its own for a served app (no schema: the test runs `policy-ledger init`)."""
    with databases.lend(request.param, tmp_path, migrated=False) as url:
        yield url
