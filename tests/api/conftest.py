"""Histories that several API modules start from."""
from __future__ import annotations

import pytest

from tests.support.api import PID, build_published, revise


@pytest.fixture
def app_config(clock) -> dict:
    """The app's ledger on the test's fake clock, as the histories these modules start from expect (a module
    adds its own settings by overriding this)."""
    return {"CLOCK": clock}


@pytest.fixture
def published(client, tokens, clock) -> dict:
    """A small Kyrgyz policy with version 1 in force since 2024-02-01; the clock stands at 2024-03-01."""
    return build_published(client, tokens, clock)


@pytest.fixture
def draft(client, tokens, published) -> str:
    """A draft revision by the dean, amending the first mission item."""
    return revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
