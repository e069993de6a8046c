"""The workspace in a real browser: the story of MISSION.md on the demo, person by person, in Debian's Chromium.

The department head drafts an amendment to provision 5 and adds a provision after it; a reviewer requests
changes; the author amends; both reviewers approve; the QA director and the rector sign with meanings; the
author's forged signature is refused on the page; the rector publishes effective on a future date; the public
page announces the version, then (the service's clock moved on) shows its text; the section's lineage names
everyone. The app runs in this process behind a real HTTP server, so the test can move its clock.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from werkzeug.serving import make_server

from service.content import demo
from tests.support import FakeClock
from tests.support.apps import running_app
from tests.support.browser import axe, shoot, sign_in

PID = demo.POLICY_ID
AMENDED = demo.PROVISION_5.rstrip(";") + ", ошондой эле эмгек рыногунун талаптарын эске алуу;"
ASKED = "Эмгек рыногун да атаңыз."
ADDED = "бүтүрүүчүлөрдүн ишке орношуусуна жыл сайын мониторинг жүргүзүү;"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(databases, tmp_path_factory) -> Iterator[dict]:
    """The demo on SQLite, served over HTTP on a free loopback port by an app whose clock the test holds."""
    with databases.lend("sqlite", tmp_path_factory.mktemp("workspace")) as url:
        loaded = demo.load_demo(url)
        clock = FakeClock(datetime.now(UTC).isoformat())
        with running_app(url, CLOCK=clock, TESTING=False) as app:
            server = make_server("127.0.0.1", 0, app, threaded=True)
            thread = threading.Thread(target=server.serve_forever, daemon=True)
            thread.start()
            try:
                yield {"url": f"http://127.0.0.1:{server.server_port}", "passwords": loaded.passwords,
                       "clock": clock, "draft": loaded.revisions["open_draft"]}
            finally:
                server.shutdown()
                thread.join(5)


class Person:
    """One person in their own browser context, signed in."""

    def __init__(self, browser, served: dict, name: str) -> None:
        self.url = served["url"]
        self.context = browser.new_context(locale="en-GB")
        self.page = self.context.new_page()
        sign_in(self.page, f"{self.url}/sign-in?lang=en", name, served["passwords"][name])
        self.page.wait_for_url(re.compile(r".*/$|.*/\?lang=en$"))

    def open(self, path: str) -> object:
        self.page.goto(self.url + path + ("&" if "?" in path else "?") + "lang=en")
        return self.page

    def open_from_inbox(self, heading: str, summary: str) -> object:
        page = self.open("/inbox")
        page.locator("section", has=page.get_by_role("heading", name=re.compile(heading))).get_by_role(
            "link", name=summary).click()
        return page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def people(browser, served) -> Iterator[dict]:
    signed: dict[str, Person] = {}

    def person(name: str) -> Person:
        if name not in signed:
            signed[name] = Person(browser, served, name)
        return signed[name]

    yield person
    for one in signed.values():
        one.close()


def provision(page, text: str):
    return page.locator("li[data-section-id]", has_text=text).last


def test_the_story_of_a_revision_from_draft_to_the_public_page(browser, served, people):
    summary = "5-жобого эмгек рыногу кошулат"
    author = people("head-of-department")
    page = author.open(f"/policies/{PID}")
    page.get_by_role("link", name="Revisions").click()
    page.get_by_label("What the revision is for").fill(summary)
    page.get_by_role("button", name="Open a revision").click()
    assert page.get_by_role("heading", name=summary).count() == 1
    workspace = page.url.split("?")[0]

    fifth = provision(page, demo.PROVISION_5)
    fifth.get_by_role("link", name=re.compile("^Edit")).click()
    page.get_by_label("Text").fill(AMENDED.replace("эмгек рыногунун", "рыноктун"))
    page.get_by_role("button", name="Save").click()
    fifth = provision(page, "рыноктун талаптарын")
    assert fifth.locator("ins").count() >= 1  # the redline against the version in force, as the author works
    fifth.get_by_role("link", name=re.compile("^Edit")).click()
    page.get_by_role("link", name="Add a section").click()
    page.get_by_label("Text").fill(ADDED)
    page.get_by_role("button", name="Save").click()
    assert provision(page, ADDED).get_attribute("class").endswith("change-added")
    page.get_by_label("Reviewers").select_option(["reviewer1", "reviewer2"])
    page.get_by_role("button", name="Submit for review").click()
    assert page.locator('[data-status="in_review"]').count() == 1

    reviewer = people("reviewer1")
    page = reviewer.open_from_inbox("Waiting for my review", summary)
    page.get_by_label("Comment").fill(ASKED)
    page.get_by_role("button", name="Request changes").click()
    assert page.locator('[data-status="draft"]').count() == 1

    page = author.open_from_inbox("Drafts I am writing", summary)
    assert page.get_by_text(ASKED).count() == 1
    provision(page, "рыноктун талаптарын").get_by_role("link", name=re.compile("^Edit")).click()
    page.get_by_label("Text").fill(AMENDED)
    page.get_by_role("button", name="Save").click()
    assert page.locator('tr[data-void="true"]').count() == 1  # the review saw other content
    page.get_by_role("button", name="Submit for review").click()

    for name in ("reviewer1", "reviewer2"):
        page = people(name).open_from_inbox("Waiting for my review", summary)
        page.get_by_label("Comment").fill("Макулмун.")
        page.get_by_role("button", name="Approve").click()
        assert page.get_by_role("alert").count() == 0

    for name, meaning in (("qa-director", "approved as quality assurance director"), ("rector", "approved as rector")):
        page = people(name).open_from_inbox("Waiting for my signature", summary)
        if name == "qa-director":
            page.locator("section.actions").evaluate("node => node.scrollIntoView()")
            shoot(page, "workspace")
        page.get_by_label("Meaning").select_option(meaning)
        page.get_by_label("Password").fill(served["passwords"][name])
        page.get_by_role("button", name="Sign").click()
        assert page.get_by_role("alert").count() == 0
    assert page.locator('[data-status="approved"]').count() == 1

    page = author.open(workspace.removeprefix(author.url))
    assert page.get_by_role("button", name="Sign").count() == 0  # not offered to the author
    page.evaluate("""password => {
        const form = document.createElement("form");
        form.method = "post";
        form.action = location.pathname + "/sign";
        for (const [name, value] of [["csrf_token", document.querySelector("input[name=csrf_token]").value],
                                     ["meaning", "approved"], ["password", password]]) {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = name; input.value = value;
            form.append(input);
        }
        document.body.append(form);
        form.submit();
    }""", served["passwords"]["head-of-department"])
    page.wait_for_load_state()
    assert "This needs one of the roles" in page.get_by_role("alert").inner_text()

    clock = served["clock"]
    effective = (clock.now + timedelta(days=10)).date()
    page = people("rector").open_from_inbox("Approved, ready to publish", summary)
    page.get_by_label("Effective from").fill(effective.isoformat())
    page.get_by_role("button", name="Publish").click()
    assert page.locator('[data-status="published"]').count() == 1

    visitor = browser.new_context(locale="en-GB")
    try:
        public = visitor.new_page()
        public.goto(f"{served['url']}/policies/{PID}?lang=en")
        assert public.get_by_role("status").filter(has_text="Version 3 takes effect on").count() == 1
        assert public.get_by_text(AMENDED).count() == 0
        clock.advance(days=11)
        public.reload()
        assert public.get_by_text(AMENDED).count() == 1 and public.get_by_text(ADDED).count() == 1
        provision(public, AMENDED).get_by_role("link", name="History of this section").click()
        newest = public.locator("ol.lineage > li").last
        for name in ("Бактыгүл Осмонова", "Елена Петрова", "Гүлнара Жолдошева",
                     "Канатбек Исаков"):
            assert newest.get_by_text(name).count() >= 1, name
    finally:
        visitor.close()


def test_no_workspace_page_has_a_serious_or_critical_accessibility_violation(browser, served, people):
    author = people("dean")
    cookies = author.context.cookies()
    rid = served["draft"]
    author.open(f"/policies/{PID}/revisions/{rid}")
    section = author.page.locator("li[data-section-id]").first.get_attribute("data-section-id")
    shoot(author.open("/inbox"), "inbox")
    paths = ["/inbox?lang=en", f"/policies/{PID}/revisions?lang=en", f"/policies/{PID}/revisions/{rid}?lang=en",
             f"/policies/{PID}/revisions/{rid}?edit={section}&lang=en",
             f"/policies/{PID}/revisions/{rid}?edit={section}&do=add&lang=en",
             f"/policies/{PID}/revisions/{rid}?edit={section}&do=move&lang=en",
             f"/policies/{PID}/history?lang=en", f"/policies/{PID}/responsibilities?lang=ky"]
    found = {path: axe(browser, served["url"] + path, cookies) for path in paths}
    admin = people("quality-office")
    found["admin responsibilities"] = axe(browser, served["url"] + f"/policies/{PID}/responsibilities?lang=en",
                                          admin.context.cookies())
    approver = people("rector")
    found["approver history"] = axe(browser, served["url"] + f"/policies/{PID}/history?lang=ru",
                                     approver.context.cookies())
    campaigns = admin.open(f"/policies/{PID}/campaigns")
    found["admin campaigns"] = axe(browser, campaigns.url, admin.context.cookies())
    campaigns.get_by_label("staff", exact=True).check()
    campaigns.get_by_label("Acknowledge by").fill("2030-01-01")
    campaigns.get_by_role("button", name="Start the campaign").click()
    assert "/campaigns/cmp-" in campaigns.url
    found["admin campaign roster"] = axe(browser, campaigns.url + "?lang=ky", admin.context.cookies())
    found["staff inbox"] = axe(browser, served["url"] + "/inbox?lang=ru", people("lecturer").context.cookies())
    serious = {path: [(v["id"], v["help"], [n["target"] for n in v["nodes"]][:3]) for v in violations]
               for path, violations in found.items() if violations}
    assert serious == {}, json.dumps(serious, ensure_ascii=False, indent=1)


def test_the_workspace_fits_a_narrow_phone_screen(browser, served, people):
    author = people("dean")
    context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
    context.add_cookies(author.context.cookies())
    try:
        narrow = context.new_page()
        for path in ("/inbox?lang=en", f"/policies/{PID}/revisions/{served['draft']}?lang=en"):
            narrow.goto(served["url"] + path)
            width = narrow.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 360, f"{path} is {width}px wide at 360"
    finally:
        context.close()
