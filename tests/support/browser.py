"""Pages in a real browser: Debian's Chromium driven by Playwright, axe-core for accessibility, screenshots.

axe-core is vendored from its npm package in tests/e2e/vendor/axe-core. Screenshots go to
$POLICY_LEDGER_SCREENSHOTS when it is set (the README's come from there).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.support import REPO

CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "tests" / "e2e" / "vendor" / "axe-core" / "axe.min.js"
REQUIRE_BROWSER = os.environ.get("POLICY_LEDGER_REQUIRE_BROWSER") == "1"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


def why_no_browser() -> str | None:
    """Return why no browser can be driven here, or None when one can."""
    if not CHROMIUM.exists():
        return f"no browser at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def axe(browser: Any, url: str, cookies: list[dict] | None = None) -> list[dict]:
    """Return axe-core's serious and critical violations on a page (in a context that lets axe's script in)."""
    context = browser.new_context(bypass_csp=True, locale="en-GB")
    if cookies:
        context.add_cookies(cookies)
    try:
        checked = context.new_page()
        checked.goto(url)
        checked.add_script_tag(path=str(AXE))
        found = checked.evaluate("async () => (await axe.run(document)).violations")
    finally:
        context.close()
    return [v for v in found if v["impact"] in ("serious", "critical")]


def shoot(page: Any, name: str) -> None:
    """Save a screenshot of the page's viewport when $POLICY_LEDGER_SCREENSHOTS names a folder."""
    target = os.environ.get("POLICY_LEDGER_SCREENSHOTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(target) / f"{name}.png"), full_page=False)


def sign_in(page: Any, url: str, name: str, password: str) -> None:
    """Fill in the sign-in form at `url` (the sign-in page, or a page that asks for it) as `name`, and send it."""
    page.goto(url)
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
