"""Fixtures for tests that start real servers and processes."""
from __future__ import annotations

import pytest

from tests.support import DATABASES
from tests.support.browser import CHROMIUM, CHROMIUM_FLAGS, REQUIRE_BROWSER, why_no_browser


@pytest.fixture(params=DATABASES)
def served_database(request, databases, tmp_path) -> str:
    """An empty database of its own for a served app (no schema: the test runs `policy-ledger init`)."""
    with databases.lend(request.param, tmp_path, migrated=False) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium under Playwright, once per test process (skipped, saying why, without one; failed
    instead when POLICY_LEDGER_REQUIRE_BROWSER=1, as in CI)."""
    reason = why_no_browser()
    if reason is not None:
        if REQUIRE_BROWSER:
            pytest.fail(f"POLICY_LEDGER_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()
