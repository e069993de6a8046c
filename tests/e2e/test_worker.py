"""`policy-ledger worker` as a real process: killed with SIGKILL mid-batch and started again it loses nothing and
sends nobody the same message twice; it stops cleanly on SIGTERM; two workers on one PostgreSQL send each
message once."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter

import pytest
from sqlalchemy import select

from events.store.engine import make_engine
from service.content.demo import load_demo
from service.notifications.tables import notification_cursor
from tests.support.mailbox import DEMO_MESSAGES, smtp_server
from tests.support.servers import COMMAND, environment

TOTAL = sum(DEMO_MESSAGES.values())


def start_worker(database_url: str, port: int, cwd, *more: str) -> subprocess.Popen:
    env = environment(database_url, POLICY_LEDGER_SMTP_HOST="127.0.0.1", POLICY_LEDGER_SMTP_PORT=str(port),
                      POLICY_LEDGER_BASE_URL="https://ledger.oshsu.example")
    process = subprocess.Popen([str(COMMAND), "worker", "--poll", "0.1", "--lease", "2", *more], cwd=cwd, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    for line in process.stderr:  # its signal handlers are in place once it says it started
        if "started" in line:
            return process
    raise AssertionError(f"the worker exited before it started: {process.wait()}")


def wait_for(mailbox, count: int, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while len(mailbox.taken()) < count:
        assert time.monotonic() < deadline, f"{len(mailbox.taken())} of {count} messages after {within} s"
        time.sleep(0.05)


def stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err[-2000:]
    return err


def single_lease(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(select(notification_cursor.c.lease_owner)
                                      .where(notification_cursor.c.name == "sqlite-worker")).scalar()
    finally:
        engine.dispose()


def sent_each_once(mailbox) -> None:
    taken = mailbox.taken()
    assert Counter(m["Message-ID"] for m in taken).most_common(1)[0][1] == 1, "a message went out twice"
    assert Counter((m["To"].split("@")[0], m["X-Policy-Ledger-Notification"]) for m in taken) == DEMO_MESSAGES


def test_a_worker_killed_mid_batch_and_started_again_loses_nothing_and_sends_nothing_twice(database_url, tmp_path):
    load_demo(database_url)
    killed = threading.Event()
    with smtp_server() as (mailbox, port):
        first = start_worker(database_url, port, tmp_path)

        def kill_at_the_eighth(message) -> str | None:
            # The eighth message is on the wire: the worker dies before it hears the answer (nor is it kept).
            if len(mailbox.taken()) == 7 and not killed.is_set():
                os.kill(first.pid, signal.SIGKILL)
                killed.set()
                return "451 4.3.0 try again later"
            return None

        mailbox.before_accept = kill_at_the_eighth
        try:
            assert killed.wait(60), "the worker never reached the eighth message"
        finally:
            if not killed.is_set():
                first.kill()
            first.communicate(timeout=30)  # (and closes its pipes)
        assert first.returncode == -signal.SIGKILL and len(mailbox.taken()) == 7
        second = start_worker(database_url, port, tmp_path)
        try:
            wait_for(mailbox, TOTAL)
            time.sleep(1.0)  # anything sent twice would come now
        finally:
            err = stop(second)
    assert "stopped" in err
    sent_each_once(mailbox)


def test_a_worker_stops_on_sigterm_and_another_starts_at_once(database_url, tmp_path):
    load_demo(database_url)
    with smtp_server() as (mailbox, port):
        first = start_worker(database_url, port, tmp_path, "--lease", "600")
        wait_for(mailbox, TOTAL)
        stop(first)
        second = start_worker(database_url, port, tmp_path, "--lease", "600")
        try:
            if database_url.startswith("sqlite"):  # the one worker's lease, given back on SIGTERM, is taken at once
                deadline = time.monotonic() + 20
                while f":{second.pid}:" not in (single_lease(database_url) or ""):
                    assert time.monotonic() < deadline, single_lease(database_url)
                    time.sleep(0.1)
            assert second.poll() is None
        finally:
            stop(second)
    sent_each_once(mailbox)


@pytest.mark.parametrize("database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True)
def test_two_workers_on_postgresql_send_each_message_once(database_url, tmp_path):
    load_demo(database_url)
    with smtp_server() as (mailbox, port):
        mailbox.before_accept = lambda message: time.sleep(0.05)  # slow enough that both are at work at once
        workers = [start_worker(database_url, port, tmp_path, "--batch", "3") for _ in range(2)]
        try:
            wait_for(mailbox, TOTAL)
            time.sleep(1.5)
        finally:
            for worker in workers:
                stop(worker)
    sent_each_once(mailbox)
