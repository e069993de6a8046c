"""Periodic reviews coming due: GET /api/v1/reviews/due, and the worker's reminders as the clock moves past the
reminder day and the due date (once each, then weekly while overdue), to the owner and the people responsible."""
from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import update

from service import accounts
from service.notifications.settings import NotifySettings
from service.notifications.worker import Worker
from tests.support import bearer
from tests.support.api import PID, build_published, ok, post
from tests.support.mailbox import smtp_server, text_of

DUE = "/api/v1/reviews/due"


@pytest.fixture
def app_config(clock):
    return {"CLOCK": clock, "REVIEW_REMINDER_DAYS": 30, "BASE_URL": "https://ledger.example"}


@pytest.fixture
def story(app, client, tokens, clock):
    """Version 1 published 2024-01-10, in force from 2024-02-01 (reviewed every 365 days: due 2025-01-31); the
    head of department answers for it too; both have addresses, the owner (the dean) reads Kyrgyz, the head of
    department Russian."""
    build_published(client, tokens, clock)
    ok(post(client, tokens["admin"], f"/{PID}/responsibilities",
            {"action": "assign", "party": "head-of-department", "party_kind": "person", "duty": "responsible"}), 201)
    ok(post(client, tokens["admin"], f"/{PID}/responsibilities",
            {"action": "assign", "party": "Окуу-методикалык башкармалыгы", "party_kind": "unit",
             "duty": "responsible"}), 201)
    engine = app.extensions["policy_ledger"].engine
    with engine.begin() as connection:
        for name, language in (("dean", "ky"), ("head-of-department", "ru"), ("qa-director", "ky")):
            connection.execute(update(accounts.users).where(accounts.users.c.name == name)
                               .values(email=f"{name}@oshsu.example", language=language))
    return ok(client.get(DUE + "?within_days=3660", headers=bearer(tokens["auditor"])))["items"][0]["next_review_due"]


def reminders(mailbox) -> Counter:
    return Counter((m["To"].split("@")[0], m["X-Policy-Ledger-Notification"]) for m in mailbox.taken()
                   if m["X-Policy-Ledger-Notification"].startswith("review_"))


def test_reviews_due_lists_policies_due_within_the_reminder_days_or_overdue_with_who_answers(
        client, tokens, clock, story):
    assert story.startswith("2025-01-31")
    assert ok(client.get(DUE, headers=bearer(tokens["auditor"])))["items"] == []  # 2024-03-01: not yet
    clock.set("2025-01-06T09:00:00Z")
    (item,) = ok(client.get(DUE, headers=bearer(tokens["author"])))["items"]
    assert item["policy_id"] == PID and item["owner"] == "dean" and item["overdue"] is False
    assert {(p["party"], p["party_kind"]) for p in item["responsible"]} == {
        ("head-of-department", "person"), ("Окуу-методикалык башкармалыгы", "unit")}
    clock.set("2025-02-01T09:00:00Z")
    assert ok(client.get(DUE, headers=bearer(tokens["author"])))["items"][0]["overdue"] is True
    assert client.get(DUE).status_code == 401
    assert client.get(DUE + "?within_days=-1", headers=bearer(tokens["author"])).status_code == 422


def test_moving_the_clock_past_the_reminder_day_and_the_due_date_sends_each_reminder_once(
        app, client, tokens, clock, story):
    with smtp_server() as (mailbox, port):
        worker = Worker(app.extensions["policy_ledger"].engine,
                        NotifySettings.from_config({**app.config, "SMTP_HOST": "127.0.0.1", "SMTP_PORT": port}),
                        clock=clock, reminders_every=timedelta(0))
        worker.round()
        assert reminders(mailbox) == Counter()
        clock.set("2025-01-02T09:00:00Z")  # 29 days before
        worker.round()
        worker.round()
        assert reminders(mailbox) == Counter({("dean", "review_due"): 1, ("head-of-department", "review_due"): 1})
        clock.set("2025-02-01T09:00:00Z")  # a day overdue
        worker.round()
        worker.round()
        clock.advance(days=3)
        worker.round()
        assert reminders(mailbox) == Counter({
            ("dean", "review_due"): 1, ("head-of-department", "review_due"): 1,
            ("dean", "review_overdue"): 1, ("head-of-department", "review_overdue"): 1})
        clock.advance(days=5)  # a week later: again
        worker.round()
        assert reminders(mailbox)[("dean", "review_overdue")] == 2
        ok(post(client, tokens["approver"], f"/{PID}/periodic-reviews", {"outcome": "no_change", "notes": "ok"}), 201)
        clock.advance(days=14)
        worker.round()
        assert reminders(mailbox)[("dean", "review_overdue")] == 2, "a recorded review stops the reminders"
        taken = [m for m in mailbox.taken() if m["X-Policy-Ledger-Notification"] == "review_overdue"]
    russian = next(m for m in taken if m["To"].startswith("head-of-department"))
    assert "просрочен" in text_of(russian)
    assert "https://ledger.example/policies/oshsu-quality/history#periodic-review" in text_of(russian)
    kyrgyz = next(m for m in taken if m["To"].startswith("dean"))
    assert "өтүп кетти" in text_of(kyrgyz) and "2025-ж., 31-январь" in text_of(kyrgyz)


def test_the_catalogue_marks_a_review_due_within_the_reminder_days_and_an_overdue_one(client, clock, story):
    def mark() -> str | None:
        page = client.get("/?lang=en").get_data(as_text=True)
        return "overdue" if 'data-review="overdue"' in page else "due" if 'data-review="due"' in page else None

    assert mark() is None
    clock.set("2025-01-02T09:00:00Z")
    assert mark() == "due"
    page = client.get("/?lang=en").get_data(as_text=True)
    assert re.search(r'data-review="due">due <time datetime="2025-01-31[^>]*>31 January 2025<', page)
    clock.set("2025-02-01T09:00:00Z")
    assert mark() == "overdue"
