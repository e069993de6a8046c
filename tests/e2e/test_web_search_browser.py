"""Search in a real browser: Debian's Chromium driven by Playwright, on the demo under gunicorn, checked by axe-core."""
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
    with demo_site(tmp_path_factory.mktemp("search-browser"), workers=1) as site:
        yield site


def test_a_visitor_searches_from_the_header_and_opens_the_section_found(browser, site):
    server, _ = site
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        page.goto(server.url + "/?lang=en")
        page.get_by_role("search", name="Search").get_by_role("searchbox", name="Search the policies").fill(
            "иш берүүчүлөрдүн пикирин")
        page.get_by_role("button", name="Search").click()
        assert "/search?q=" in page.url
        found = page.locator("ol.results > li")
        assert found.count() >= 1
        assert found.first.locator("mark").all_inner_texts() == ["иш", "берүүчүлөрдүн", "пикирин"]
        shoot(page, "search")
        section = found.first.get_attribute("data-section-id")
        found.first.get_by_role("link").click()
        assert page.url.endswith(f"/policies/{PID}#{section}")
        assert page.locator(f'[data-section-id="{section}"]', has_text=demo.PROVISION_ADDED).count() == 1
    finally:
        context.close()


def test_a_search_typed_without_kyrgyz_letters_finds_them_with_javascript_off(browser, site):
    server, _ = site
    context = browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(server.url + f"/policies/{PID}?lang=en")
        page.get_by_label("Search the policies").fill("иш беруучулордун")
        page.get_by_role("button", name="Search").click()
        assert page.locator("ol.results mark", has_text="берүүчүлөрдүн").count() >= 1
        page.get_by_label("Words, or a phrase in quotes").fill('"иш берүүчүлөр')
        page.get_by_role("button", name="Search").click()
        assert page.get_by_role("alert").inner_text() == (
            "A quotation mark is not closed: put a phrase between two of them.")
    finally:
        context.close()


def test_staff_search_every_version_and_see_which_held_the_text(browser, site):
    server, passwords = site
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        sign_in(page, server.url + "/sign-in?lang=en", "auditor", passwords["auditor"])
        page.goto(server.url + "/search?lang=en")
        page.get_by_label("Words, or a phrase in quotes").fill('"илим менен интеграциялоо"')
        page.get_by_label("Where").select_option("all")
        page.get_by_role("button", name="Search").click()
        old = page.locator('ol.results > li[data-in-force="false"]')
        assert old.count() == 1 and "Version 1, not in force" in old.inner_text()
        old.get_by_role("link").click()
        assert re.search(r"/policies/[^?]+\?version=1#", page.url)
        assert page.get_by_role("status").filter(has_text="This is version 1").count() == 1
    finally:
        context.close()


def test_the_search_page_fits_a_narrow_phone_screen(browser, site):
    server, _ = site
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    try:
        narrow = context.new_page()
        for path in ("/?lang=en", "/search?q=%D1%81%D0%B0%D0%BF%D0%B0%D1%82&lang=en"):
            narrow.goto(server.url + path)
            width = narrow.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width}px wide at 360"
    finally:
        context.close()


def test_no_search_page_has_a_serious_or_critical_accessibility_violation(browser, site):
    server, passwords = site
    pages = ["/search?lang=en", "/search?q=сапат&lang=en", "/search?q=сапат&lang=ky", "/search?q=плагиат&lang=ru",
             '/search?q="сапат&lang=en']
    found = {path: axe(browser, server.url + path) for path in pages}
    context = browser.new_context(locale="en-GB")
    try:
        page = context.new_page()
        sign_in(page, server.url + "/sign-in?lang=en", "auditor", passwords["auditor"])
        path = "/search?q=интеграциялоо&in=all&lang=en"
        found[path] = axe(browser, server.url + path, context.cookies())
    finally:
        context.close()
    serious = {path: [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
               for path, violations in found.items() if violations}
    assert serious == {}, json.dumps(serious, ensure_ascii=False, indent=1)
