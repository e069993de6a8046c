"""The worker reads the log and tells people: the demo's story makes exactly the messages it should, each to the
right people, in their language, with links that open the page where they act; reminders when a review comes due."""
from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from events.store.engine import make_engine
from service.content.demo import PEOPLE, load_demo
from service.notifications.outbox import expand
from service.notifications.settings import NotifySettings
from service.notifications.tables import notifications
from service.notifications.worker import Worker
from tests.support.apps import running_app
from tests.support.mailbox import smtp_server, text_of
from tests.support.pages import sign_in

BASE = "https://ledger.oshsu.example"
LINK = re.compile(re.escape(BASE) + r"(/\S*)")

# Who the demo's story concerns, event by event (the actor of each is never told of their own doing).
EXPECTED = Counter({
    # 2019: version 1 adopted by the quality office: everyone else must acknowledge it, but the teacher
    # acknowledged version 2 since, so is not asked to read version 1.
    **{(name, "acknowledgement_needed"): 1 for name in
       ("dean", "head-of-department", "reviewer1", "reviewer2", "qa-director", "rector", "auditor")},
    # 2021: submitted twice to two reviewers; one asks for changes; when both approve, both approvers must sign.
    ("reviewer1", "review_requested"): 2, ("reviewer2", "review_requested"): 3,  # the third: 2024's submission
    ("head-of-department", "changes_requested"): 1,
    ("qa-director", "signature_needed"): 1, ("rector", "signature_needed"): 1,
    # published by the QA director: its author is told, and everyone but the two (and the teacher) must read it
    ("head-of-department", "published"): 1,
    **{(name, "acknowledgement_needed"): 2 for name in ("dean", "reviewer1", "reviewer2", "rector", "auditor")},
    ("quality-office", "acknowledgement_needed"): 1,
    # 2024: the rector rejects the proposal; its author is told.
    ("head-of-department", "rejected"): 1,
    # the 2022 review's next date (2023) has passed: the owner is reminded.
    ("quality-office", "review_overdue"): 1,
})
WORDS = {"ky": "Бул жерден", "ru": "документа «", "en": "“"}  # in every text of that language, and in no other


@pytest.fixture
def demo(database_url):
    return load_demo(database_url)


def settings(port: int, **more) -> NotifySettings:
    return NotifySettings(smtp_host="127.0.0.1", smtp_port=port, base_url=BASE, mail_from="ledger@oshsu.example",
                          **more)


def test_the_demo_story_sends_each_person_exactly_the_messages_it_concerns_them_with_in_their_language(
        database_url, demo):
    engine = make_engine(database_url)
    try:
        with smtp_server() as (mailbox, port):
            worker = Worker(engine, settings(port))
            worker.round()
            assert worker.round() == 0, "a second round finds nothing new to send"
            taken = mailbox.taken()
    finally:
        engine.dispose()
    got = Counter((m["To"].split("@")[0], m["X-Policy-Ledger-Notification"]) for m in taken)
    assert got == EXPECTED
    for message in taken:
        person = message["To"].split("@")[0]
        language = PEOPLE[person][1]
        assert message["Content-Language"] == language
        text, html = text_of(message), text_of(message, "html")
        assert [word for word in WORDS.values() if word in text] == [WORDS[language]], text
        assert "Ош мамлекеттик университетинин" in str(message["Subject"])  # the title, spaces and ү ө ң kept
        links = LINK.findall(text)
        assert len(links) == 1 and f'href="{BASE}{links[0]}"'.replace("&", "&amp;") in html
    assert len({m["Message-ID"] for m in taken}) == len(taken)


def test_every_link_in_the_messages_opens_its_page_for_the_person_it_was_sent_to(database_url, demo):
    engine = make_engine(database_url)
    try:
        with smtp_server() as (mailbox, port):
            Worker(engine, settings(port)).round()
            taken = mailbox.taken()
    finally:
        engine.dispose()
    links: dict[str, set[str]] = {}
    for message in taken:
        links.setdefault(message["To"].split("@")[0], set()).update(LINK.findall(text_of(message)))
    with running_app(database_url) as app:
        for person, paths in links.items():
            client = app.test_client()
            assert sign_in(client, person, demo.passwords[person]).status_code == 303
            for path in paths:
                answer = client.get(path.split("#")[0])
                assert answer.status_code == 200, (person, path)
                if path.startswith("/policies/") and "/revisions/" in path:
                    assert path.rsplit("/", 1)[1] in answer.get_data(as_text=True)


def test_a_restarted_worker_reads_on_from_where_it_stopped_and_queues_nothing_twice(database_url, demo):
    engine = make_engine(database_url)
    try:
        with smtp_server() as (mailbox, port):
            first = Worker(engine, settings(port))
            expand(engine, first.store, first.settings, datetime.now(UTC), limit=10)
            expand(engine, first.store, first.settings, datetime.now(UTC), limit=10)
            Worker(engine, settings(port)).round()
            Worker(engine, settings(port)).round()
            taken = mailbox.taken()
        with engine.connect() as connection:
            queued = connection.execute(select(func.count()).select_from(notifications)).scalar_one()
    finally:
        engine.dispose()
    assert Counter((m["To"].split("@")[0], m["X-Policy-Ledger-Notification"]) for m in taken) == EXPECTED
    assert queued == sum(EXPECTED.values())
