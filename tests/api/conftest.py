"""Histories that several API modules start from."""
from __future__ import annotations

import pytest

from tests.support.api import build_published


@pytest.fixture
def published(client, tokens, clock) -> dict:
    """A small Kyrgyz policy with version 1 in force since 2024-02-01; the clock stands at 2024-03-01.
    (For modules whose app runs on the test's clock: see their `app_config`.)"""
    return build_published(client, tokens, clock)
