"""The reading room in a real browser: Debian's Chromium driven by Playwright, on the service under gunicorn.

Each page is also checked by axe-core (vendored from its npm package in tests/vendor/axe-core) for
accessibility: no serious or critical violation. Screenshots go to $POLICY_LEDGER_SCREENSHOTS when set
(the README's come from here).
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from service.content import demo
from tests.support.browser import axe, shoot, sign_in
from tests.support.servers import Server, demo_site

PID = demo.POLICY_ID

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[tuple[Server, dict[str, str]]]:
    """The demo under gunicorn on a free port, and the demo users' passwords."""
    with demo_site(tmp_path_factory.mktemp("browser"), workers=2) as site:
        yield site


@pytest.fixture
def page(browser, site) -> Iterator[object]:
    context = browser.new_context(locale="en-GB", accept_downloads=True)
    opened = context.new_page()
    violations: list[str] = []
    opened.on("console", lambda message: violations.append(message.text)
              if "Content Security Policy" in message.text else None)
    opened.csp_violations = violations
    yield opened
    context.close()


def test_a_visitor_reads_a_provision_goes_back_to_2020_and_compares_two_versions(page, site):
    server, _ = site
    page.goto(server.url + "/?lang=en")
    shoot(page, "catalogue")
    page.get_by_role("link", name=re.compile("билим берүүнүн сапаты")).click()
    assert page.url.endswith(f"/policies/{PID}")
    provision = page.locator("li.item", has_text="иш берүүчүлөр жана уюмдар менен байланышты чыңдоо")
    assert provision.count() == 1 and provision.get_attribute("data-section-id")
    assert page.get_by_text("approved as rector").count() >= 1
    shoot(page, "policy")
    page.get_by_label("In force on").fill("2020-01-01")
    page.get_by_role("button", name="Show").click()
    assert page.get_by_role("status").filter(has_text="This is version 1, not the one in force now.").count() == 1
    assert page.get_by_text("иш берүүчүлөр жана уюмдар менен байланышты чыңдоо").count() == 0
    page.get_by_role("link", name="All versions").click()
    page.locator('input[name="from"][value="1"]').check()
    page.locator('input[name="to"][value="2"]').check()
    page.get_by_role("button", name="Compare the two").click()
    inserted = page.locator("ins").all_inner_texts()
    assert ", иш берүүчүлөр" in inserted and demo.PROVISION_ADDED in inserted
    page.locator("li.change-amended").first.evaluate("node => node.scrollIntoView({block: 'center'})")
    shoot(page, "redline")
    assert page.csp_violations == []


def test_a_section_links_to_its_lineage_naming_who_proposed_and_approved(page, site):
    server, _ = site
    page.goto(server.url + f"/policies/{PID}?lang=en")
    page.locator("li.item", has_text="иш берүүчүлөр жана уюмдар менен").get_by_role(
        "link", name="History of this section").click()
    assert page.get_by_role("heading", name="History of a section").count() == 1
    assert page.get_by_text("Гүлнара Жолдошева").count() >= 1 and page.get_by_text("Канатбек Исаков").count() >= 1
    shoot(page, "lineage")


def test_an_auditor_signs_in_verifies_the_chain_and_downloads_the_trail(page, site, tmp_path):
    server, passwords = site
    sign_in(page, server.url + "/audit?lang=en", "auditor", passwords["auditor"])
    assert page.url.endswith("/audit?lang=en")
    page.get_by_role("button", name="Verify the chain").click()
    assert page.locator('[data-verified="true"]').count() == 1
    shoot(page, "audit")
    with page.expect_download() as waiting:
        page.get_by_role("link", name="audit trail (CSV)").first.click()
    saved = tmp_path / "trail.csv"
    waiting.value.save_as(saved)
    text = saved.read_text(encoding="utf-8-sig")
    assert text.startswith("position,") and "Иш берүүчүлөрдү да атаңыз" in text
    page.get_by_role("button", name="Log out").click()
    page.goto(server.url + "/audit")
    assert "/sign-in" in page.url
    assert page.csp_violations == []


def test_the_pages_work_with_javascript_off(browser, site):
    server, _ = site
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        off = context.new_page()
        off.goto(server.url + f"/policies/{PID}?lang=en")
        off.get_by_label("In force on").fill("2020-01-01")
        off.get_by_role("button", name="Show").click()
        assert off.get_by_text("This is version 1, not the one in force now.").count() == 1
    finally:
        context.close()


def test_the_pages_fit_a_narrow_phone_screen(browser, site):
    server, _ = site
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    try:
        narrow = context.new_page()
        for path in ("/?lang=en", f"/policies/{PID}?lang=en", f"/policies/{PID}/versions?lang=en"):
            narrow.goto(server.url + path)
            width = narrow.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width}px wide at 360"
    finally:
        context.close()


def test_no_page_has_a_serious_or_critical_accessibility_violation(browser, site, page):
    server, passwords = site
    pages = ["/?lang=en", "/?lang=ky", f"/policies/{PID}?lang=en", f"/policies/{PID}?lang=ru&at=2020-01-01",
             f"/policies/{PID}/versions?lang=en", f"/policies/{PID}/diff?from=1&to=2&lang=en",
             f"/policies/{PID}/print?version=2&lang=en", "/sign-in?lang=en", "/nowhere?lang=en"]
    page.goto(server.url + f"/policies/{PID}?lang=en")
    section = page.locator("li.item").first.get_attribute("data-section-id")
    pages.append(f"/policies/{PID}/sections/{section}?lang=en")
    found = {path: axe(browser, server.url + path) for path in pages}
    sign_in(page, server.url + "/sign-in?lang=en", "auditor", passwords["auditor"])
    cookies = page.context.cookies()
    for path in ("/audit?lang=en", f"/audit/replay?policy={PID}&position=60&lang=en"):
        found[path] = axe(browser, server.url + path, cookies)
    serious = {path: [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
               for path, violations in found.items() if violations}
    assert serious == {}, json.dumps(serious, ensure_ascii=False, indent=1)


def test_the_api_docs_page_works_offline(page, site):
    server, _ = site
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(server.url + "/api/v1/docs")
    page.wait_for_selector("#swagger-ui-container .information-container", timeout=15_000)
    assert all(url.startswith(server.url) for url in requested), [u for u in requested if not u.startswith(server.url)]
