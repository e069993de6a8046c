"""The worker reads the log and tells people: the demo's story makes exactly the messages it should, each to the
right people, in their language, with links that open the page where they act; reminders when a review comes due."""
from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from events.application import Context, Ledger
from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.policy import Actor
from events.domain.rules import Route
from events.store import EventStore
from events.store.engine import make_engine
from projections.rebuild import rebuild
from service.content.demo import PEOPLE, load_demo
from service.notifications import mail
from service.notifications.outbox import expand
from service.notifications.reminders import queue_reminders
from service.notifications.settings import NotifySettings
from service.notifications.tables import notifications
from service.notifications.worker import Worker
from tests.support import FakeClock, SequentialIds
from tests.support.apps import running_app
from tests.support.mailbox import DEMO_MESSAGES as EXPECTED
from tests.support.mailbox import certificate, smtp_server, text_of
from tests.support.pages import sign_in

BASE = "https://ledger.oshsu.example"
LINK = re.compile(re.escape(BASE) + r"(/\S*)")

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


def test_a_rebuild_of_the_read_models_sends_nothing_again(database_url, demo):
    engine = make_engine(database_url)
    try:
        with smtp_server() as (mailbox, port):
            Worker(engine, settings(port)).round()
            rebuild(EventStore(engine))
            assert Worker(engine, settings(port)).round() == 0
            assert len(mailbox.taken()) == sum(EXPECTED.values())
    finally:
        engine.dispose()


def test_without_a_mail_server_set_the_messages_wait_queued_and_go_once_it_is(database_url, demo):
    engine = make_engine(database_url)
    try:
        Worker(engine, NotifySettings(base_url=BASE)).round()
        with engine.connect() as connection:
            pending = connection.execute(select(func.count()).select_from(notifications)
                                         .where(notifications.c.status == "pending")).scalar_one()
        assert pending == sum(EXPECTED.values())
        with smtp_server() as (mailbox, port):
            Worker(engine, settings(port)).round()
            assert len(mailbox.taken()) == pending
    finally:
        engine.dispose()


def test_a_mail_server_that_refuses_for_a_while_gets_every_message_later_once(database_url, demo):
    engine = make_engine(database_url)
    try:
        with smtp_server() as (mailbox, port):
            refused = []

            def busy_at_first(message) -> str | None:
                if len(refused) < 3:
                    refused.append(message["Message-ID"])
                    return "451 4.3.2 busy, try later"
                return None

            mailbox.before_accept = busy_at_first
            clock = FakeClock(datetime.now(UTC))
            worker = Worker(engine, settings(port), clock=clock)
            worker.round()
            assert len(mailbox.taken()) == sum(EXPECTED.values()) - 3  # the three put off wait; the rest go
            clock.advance(minutes=5)
            worker.round()
            taken = mailbox.taken()
    finally:
        engine.dispose()
    assert len(taken) == sum(EXPECTED.values()) and len({m["Message-ID"] for m in taken}) == len(taken)
    assert set(refused) <= {m["Message-ID"] for m in taken}


def test_the_worker_command_refuses_a_bad_tls_setting_in_one_line(database_url):
    with running_app(database_url, SMTP_TLS="tls1.0") as app:
        result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code != 0 and "SMTP_TLS must be one of none, starttls, ssl" in result.output


def test_a_mail_server_that_is_down_is_tried_again_later_and_then_gets_everything(database_url, demo):
    engine = make_engine(database_url)
    clock = FakeClock(datetime.now(UTC))
    try:
        with smtp_server() as (mailbox, port):
            pass  # now nothing listens on that port
        Worker(engine, settings(port), clock=clock).round()
        with engine.connect() as connection:
            tried = connection.execute(select(notifications.c.attempts, notifications.c.status,
                                              notifications.c.last_error)).all()
        assert {(attempts, status) for attempts, status, _ in tried} == {(1, "pending")}
        assert all("Connection" in error or "refused" in error for _, _, error in tried)
        with smtp_server() as (mailbox, port):
            Worker(engine, settings(port), clock=clock).round()
            assert mailbox.taken() == [], "not before the retry is due"
            clock.advance(seconds=11)
            Worker(engine, settings(port), clock=clock).round()
            assert Counter((m["To"].split("@")[0], m["X-Policy-Ledger-Notification"]) for m in mailbox.taken()) \
                == EXPECTED
    finally:
        engine.dispose()


def test_a_claim_whose_lease_ran_out_passes_to_another_worker_and_the_first_sends_none_of_it(database_url, demo):
    engine = make_engine(database_url)
    clock = FakeClock(datetime.now(UTC))
    try:
        with smtp_server() as (mailbox, port):
            stalled = Worker(engine, settings(port), clock=clock)
            expand(engine, stalled.store, stalled.settings, clock())
            queue_reminders(engine, stalled.settings, clock())
            claimed = stalled.claim_mail()
            assert len(claimed) == sum(EXPECTED.values())
            other = Worker(engine, settings(port), clock=clock)
            assert other.send_mail() == 0, "a live claim is left alone"
            clock.advance(seconds=61)
            assert other.send_mail() == len(claimed)
            with mail.connection(stalled.settings) as client:  # the stalled worker wakes and would go on
                for row in claimed:
                    if stalled._still_mine(notifications, row["id"], notifications.c.status == "pending"):
                        mail.send(client, stalled.settings, row)
            taken = mailbox.taken()
    finally:
        engine.dispose()
    assert len(taken) == len(claimed) and len({m["Message-ID"] for m in taken}) == len(taken)


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_mail_goes_over_starttls_or_tls_with_a_login_when_the_settings_say_so(database_url, demo, tls, tmp_path,
                                                                               monkeypatch):
    cert = certificate(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # the test server's certificate, trusted as a CA
    engine = make_engine(database_url)
    try:
        with smtp_server(tls, cert, login=("ledger", "пароль-ү")) as (mailbox, port):
            wrong = settings(port, smtp_tls=tls, smtp_user="ledger", smtp_password="wrong")
            Worker(engine, wrong).round()
            assert mailbox.taken() == []
            good = settings(port, smtp_tls=tls, smtp_user="ledger", smtp_password="пароль-ү")
            Worker(engine, good, clock=FakeClock(datetime.now(UTC) + timedelta(minutes=1))).round()
            taken = mailbox.taken()
    finally:
        engine.dispose()
    assert Counter((m["To"].split("@")[0], m["X-Policy-Ledger-Notification"]) for m in taken) == EXPECTED


def test_each_step_of_an_approval_route_is_asked_to_sign_when_it_waits_and_not_before(database_url, demo):
    # A policy whose route is the QA director, then the rector: a revision sent with no reviewers waits on the
    # QA director at once; the rector is asked only once the QA director has signed.
    engine = make_engine(database_url)
    clock = FakeClock()
    clock.set("2026-11-02T09:00:00+00:00")
    ledger = Ledger(store=EventStore(engine, clock=clock), clock=clock, ids=SequentialIds())
    dean = Context(actor=Actor(name="dean", role="author"))
    qa = Context(actor=Actor(name="qa-director", role="approver"))
    route = Route.from_data({"steps": [{"approvals": 1, "users": ["qa-director"]},
                                       {"approvals": 1, "users": ["rector"]}]})
    pid = "route-notice"
    sections = cmd.section_drafts([{"kind": "paragraph", "text": "Саясат үзгүлтүксүз талданат."}])
    draft = ledger.handle(cmd.CreatePolicy(policy_id=pid, title="Маршрут саясаты", language="ky",
                                           review_interval_days=365, approval_rule=route, sections=sections),
                          dean).result["draft_revision_id"]
    ledger.handle(cmd.AdoptRevision(policy_id=pid, revision_id=draft,
                                    effective_from=parse_time("2026-11-01T00:00:00Z")),
                  Context(actor=Actor(name="quality-office", role="admin"), reason="adopted by the council"))
    only = ledger.load(pid).document_at(1).children[None][0]
    rid = ledger.handle(cmd.OpenRevision(policy_id=pid, summary="Тактоо"), dean).result["revision_id"]
    ledger.handle(cmd.ChangeRevision(policy_id=pid, revision_id=rid, changes=(
        cmd.AmendSection(section_id=only, text="Саясат жыл сайын талданат."),)), dean)
    ledger.handle(cmd.SubmitRevision(policy_id=pid, revision_id=rid, reviewers=()), dean)

    def asked() -> list[tuple[str, str]]:
        worker = Worker(engine, settings(port))
        worker.round()
        return sorted((m["To"].split("@")[0], m["X-Policy-Ledger-Notification"]) for m in mailbox.taken()
                      if f"/policies/{pid}/" in text_of(m) and m["X-Policy-Ledger-Notification"] == "signature_needed")

    try:
        with smtp_server() as (mailbox, port):
            assert asked() == [("qa-director", "signature_needed")]
            ledger.handle(cmd.ApproveRevision(policy_id=pid, revision_id=rid, meaning="approved",
                                              full_name="QA Director"), qa)
            assert asked() == [("qa-director", "signature_needed"), ("rector", "signature_needed")]
    finally:
        engine.dispose()
