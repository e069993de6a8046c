"""The worker: reads the log into the outbox, queues reminders, sends e-mail and webhook deliveries, until stopped.

Several workers on one PostgreSQL share the work: each claims rows (e-mails) or whole webhooks (so one
webhook's deliveries keep their log order) with `FOR UPDATE SKIP LOCKED` and a lease; a claim whose worker
died is taken over when its lease runs out. On SQLite one worker runs at a time (a lease on the database);
another one started waits for it. SIGTERM lets the item in hand finish, gives back the rest, and stops.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, exists, insert, or_, select, update

from events.domain.canonical import format_time, parse_time, utcnow
from events.store import EventStore

from . import mail, reminders
from . import webhooks as hooks
from .outbox import expand, worker_transaction
from .settings import NotifySettings
from .tables import notification_cursor, notifications, webhook_attempts, webhooks

log = logging.getLogger(__name__)

MAIL_ATTEMPTS = 12  # then the message is given up as failed
WEBHOOK_GIVE_UP = timedelta(days=1)  # a webhook failing this long is turned off
SINGLE = "sqlite-worker"


def retry_delay(attempts: int) -> timedelta:
    """Return how long to wait after the n-th failed attempt: 10 s, 20 s, 40 s, … at most an hour."""
    return timedelta(seconds=min(10 * 2 ** max(attempts - 1, 0), 3600))


class Worker:
    """One worker process's loop and its steps (each step is also callable alone, as tests do)."""

    def __init__(self, engine: Engine, settings: NotifySettings, *, clock: Callable[[], datetime] = utcnow,
                 lease: timedelta = timedelta(seconds=60), batch: int = 50,
                 webhook_timeout: float = hooks.TIMEOUT, reminders_every: timedelta = timedelta(minutes=1)) -> None:
        self.engine = engine
        self.store = EventStore(engine, clock=clock)
        self.settings = settings
        self.clock = clock
        self.lease = lease
        self.batch = batch
        self.webhook_timeout = webhook_timeout
        self.reminders_every = reminders_every
        self.reminded_at: datetime | None = None
        self.warned: set[str] = set()
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.stopping = threading.Event()

    # ---- the loop ---------------------------------------------------------------------------------

    def run(self, poll: float = 2.0) -> None:
        """Work until stop() (or SIGTERM, when installed): each round reads the log, then sends what is due."""
        while not self.stopping.is_set():
            try:
                if self.engine.dialect.name == "sqlite" and not self.hold_single():
                    self._once("single", "another worker holds this SQLite database; waiting for it to stop")
                    self.stopping.wait(poll)
                    continue
                busy = self.round()
            except Exception:  # the database away for a moment must not end the worker
                log.exception("worker round failed; trying again")
                self.stopping.wait(poll * 5)
                continue
            if not busy:
                self.stopping.wait(poll)
        if self.engine.dialect.name == "sqlite":
            self.release_single()

    def round(self) -> int:
        """Do one round of every step; return how much was done (0: nothing waits)."""
        done = 0
        while not self.stopping.is_set():
            expanded = expand(self.engine, self.store, self.settings, self.clock())
            done += expanded
            if expanded < 500:
                break
        now = self.clock()
        if not self.stopping.is_set() and (self.reminded_at is None or not
                                           self.reminded_at <= now < self.reminded_at + self.reminders_every):
            done += reminders.queue_reminders(self.engine, self.settings, now)
            self.reminded_at = now
        if not self.stopping.is_set():
            done += self.send_mail()
        if not self.stopping.is_set():
            done += self.deliver_webhooks()
        return done

    def _once(self, key: str, message: str) -> None:
        if key not in self.warned:
            self.warned.add(key)
            log.warning(message)

    def stop(self, *_: Any) -> None:
        """Ask the loop to stop after the item in hand."""
        self.stopping.set()

    def install_signals(self) -> None:
        """Stop cleanly on SIGTERM and SIGINT."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)

    # ---- SQLite: one worker at a time -------------------------------------------------------------

    def hold_single(self) -> bool:
        """Take or renew the one worker's lease on a SQLite database; False while another holds it."""
        now = self.clock()
        with worker_transaction(self.engine) as connection:
            row = connection.execute(select(notification_cursor).where(notification_cursor.c.name == SINGLE)).first()
            until = format_time(now + self.lease)
            if row is None:
                connection.execute(insert(notification_cursor).values(name=SINGLE, position=0,
                                                                      lease_owner=self.name, lease_until=until))
                return True
            if row.lease_owner not in (None, self.name) and row.lease_until and row.lease_until > format_time(now):
                return False
            connection.execute(update(notification_cursor).where(notification_cursor.c.name == SINGLE)
                               .values(lease_owner=self.name, lease_until=until))
            return True

    def release_single(self) -> None:
        """Give the SQLite lease back, so another worker may start at once."""
        with worker_transaction(self.engine) as connection:
            c = notification_cursor.c
            connection.execute(update(notification_cursor).where(c.name == SINGLE, c.lease_owner == self.name)
                               .values(lease_owner=None, lease_until=None))

    # ---- e-mail -----------------------------------------------------------------------------------

    def claim_mail(self) -> list[dict[str, Any]]:
        """Claim up to a batch of e-mails due now that no live worker holds; return them."""
        now = format_time(self.clock())
        n = notifications
        with worker_transaction(self.engine) as connection:
            ids = connection.execute(
                select(n.c.id).where(n.c.channel == "mail", n.c.status == "pending", n.c.next_attempt_at <= now,
                                     or_(n.c.lease_until.is_(None), n.c.lease_until < now))
                .order_by(n.c.next_attempt_at, n.c.position, n.c.id).limit(self.batch)
                .with_for_update(skip_locked=True)).scalars().all()
            if not ids:
                return []
            connection.execute(update(n).where(n.c.id.in_(ids)).values(
                lease_owner=self.name, lease_until=format_time(self.clock() + self.lease)))
            rows = connection.execute(select(n).where(n.c.id.in_(ids))
                                      .order_by(n.c.next_attempt_at, n.c.position, n.c.id)).mappings()
            return [dict(row) for row in rows]

    def send_mail(self) -> int:
        """Send the e-mails due now, each marked sent as soon as the server has taken it; return how many."""
        if not self.settings.smtp_host:
            self._once("smtp", "POLICY_LEDGER_SMTP_HOST is not set: e-mails stay queued until it is")
            return 0
        claimed = self.claim_mail()
        if not claimed:
            return 0
        sent = 0
        try:
            with mail.connection(self.settings) as client:
                for index, row in enumerate(claimed):
                    if self.stopping.is_set():
                        self._release(claimed[index:])
                        break
                    if not self._still_mine(notifications, row["id"], notifications.c.status == "pending"):
                        continue  # its lease ran out while earlier ones went, and another worker took it
                    try:
                        mail.send(client, self.settings, row)
                    except (mail.PermanentFailure, mail.TransientFailure) as error:
                        self._mail_failed(row, str(error), permanent=isinstance(error, mail.PermanentFailure))
                        continue
                    self._mail_sent(row)
                    sent += 1
        except Exception as error:  # noqa: BLE001  a server down or a connection lost: every unsent one waits
            log.warning("mail not sent: %s: %s", type(error).__name__, error)
            with worker_transaction(self.engine) as connection:
                left = connection.execute(select(notifications).where(
                    notifications.c.id.in_([r["id"] for r in claimed]), notifications.c.status == "pending",
                    notifications.c.lease_owner == self.name)).mappings().all()
            for found in left:
                self._mail_failed(dict(found), f"{type(error).__name__}: {error}", permanent=False)
        return sent

    def _still_mine(self, table: Any, key: str, *more: Any) -> bool:
        """Renew this worker's lease on a row just before acting on it; False when it is no longer ours."""
        with worker_transaction(self.engine) as connection:
            return bool(connection.execute(
                update(table).where(table.c.id == key, table.c.lease_owner == self.name, *more)
                .values(lease_until=format_time(self.clock() + self.lease))).rowcount)

    def _mail_sent(self, row: dict[str, Any]) -> None:
        with worker_transaction(self.engine) as connection:
            connection.execute(update(notifications).where(notifications.c.id == row["id"]).values(
                status="sent", sent_at=format_time(self.clock()), attempts=row["attempts"] + 1,
                lease_owner=None, lease_until=None, last_error=None))

    def _mail_failed(self, row: dict[str, Any], error: str, *, permanent: bool) -> None:
        tried = row["attempts"] + 1
        given_up = permanent or tried >= MAIL_ATTEMPTS
        with worker_transaction(self.engine) as connection:
            connection.execute(update(notifications).where(notifications.c.id == row["id"]).values(
                status="failed" if given_up else "pending", attempts=tried, last_error=error[:1000],
                next_attempt_at=format_time(self.clock() + retry_delay(tried)), lease_owner=None, lease_until=None))

    def _release(self, rows: list[dict[str, Any]]) -> None:
        with worker_transaction(self.engine) as connection:
            connection.execute(update(notifications).where(notifications.c.id.in_([r["id"] for r in rows]),
                                                           notifications.c.lease_owner == self.name)
                               .values(lease_owner=None, lease_until=None))

    # ---- webhooks ---------------------------------------------------------------------------------

    def claim_webhooks(self) -> list[dict[str, Any]]:
        """Claim the active webhooks with a delivery due now that no live worker holds; return them."""
        now = format_time(self.clock())
        w, n = webhooks, notifications
        waiting = exists().where(n.c.channel == "webhook", n.c.recipient == w.c.id, n.c.status == "pending",
                                 n.c.next_attempt_at <= now)
        with worker_transaction(self.engine) as connection:
            rows = connection.execute(
                select(w).where(w.c.active.is_(True), w.c.removed.is_(False),
                                or_(w.c.lease_until.is_(None), w.c.lease_until < now), waiting)
                .order_by(w.c.id).limit(self.batch).with_for_update(skip_locked=True, of=w)).mappings().all()
            if rows:
                connection.execute(update(w).where(w.c.id.in_([r["id"] for r in rows])).values(
                    lease_owner=self.name, lease_until=format_time(self.clock() + self.lease)))
            return [dict(row) for row in rows]

    def deliver_webhooks(self) -> int:
        """Deliver what is due to every webhook this worker could claim, each in log order; return how many."""
        done = 0
        for hook in self.claim_webhooks():
            try:
                done += self._deliver(hook)
            finally:
                with worker_transaction(self.engine) as connection:
                    connection.execute(update(webhooks).where(webhooks.c.id == hook["id"],
                                                              webhooks.c.lease_owner == self.name)
                                       .values(lease_owner=None, lease_until=None))
        return done

    def _deliver(self, hook: dict[str, Any]) -> int:
        n = notifications
        delivered = 0
        for _ in range(self.batch):
            if self.stopping.is_set() or not self._still_mine(webhooks, hook["id"]):
                break
            with worker_transaction(self.engine) as connection:
                head = connection.execute(select(n).where(n.c.channel == "webhook", n.c.recipient == hook["id"],
                                                          n.c.status == "pending")
                                          .order_by(n.c.position).limit(1)).mappings().first()
            if head is None or head["next_attempt_at"] > format_time(self.clock()):
                break  # nothing, or the oldest waits for its retry: later ones wait behind it (log order)
            outcome = hooks.post(hook, dict(head), self.settings.webhook_allowed_hosts, self.webhook_timeout)
            hook = self._record(hook, dict(head), outcome)
            if not outcome.ok:
                break
            delivered += 1
        return delivered

    def _record(self, hook: dict[str, Any], delivery: dict[str, Any], outcome: hooks.Outcome) -> dict[str, Any]:
        now = self.clock()
        tried = delivery["attempts"] + 1
        retry = None if outcome.ok else now + retry_delay(tried)
        with worker_transaction(self.engine) as connection:
            connection.execute(insert(webhook_attempts).values(
                webhook_id=hook["id"], delivery_id=delivery["id"], position=delivery["position"],
                event_type=delivery["kind"], at=format_time(now), status_code=outcome.status, error=outcome.error,
                next_retry=format_time(retry) if retry else None))
            if outcome.ok:
                connection.execute(update(notifications).where(notifications.c.id == delivery["id"]).values(
                    status="sent", sent_at=format_time(now), attempts=tried, last_error=None))
                changes: dict[str, Any] = {"failing_since": None}
            else:
                error = outcome.error or f"HTTP {outcome.status}"
                connection.execute(update(notifications).where(notifications.c.id == delivery["id"]).values(
                    attempts=tried, last_error=error, next_attempt_at=format_time(retry or now)))
                since = hook.get("failing_since") or format_time(now)
                changes = {"failing_since": since}
                if now - parse_time(since) >= WEBHOOK_GIVE_UP:
                    changes.update(active=False, disabled_at=format_time(now))
                    connection.execute(update(notifications).where(
                        notifications.c.channel == "webhook", notifications.c.recipient == hook["id"],
                        notifications.c.status == "pending").values(status="failed", last_error="webhook turned off"))
                    log.warning("webhook %s turned off: failing since %s", hook["id"], since)
            connection.execute(update(webhooks).where(webhooks.c.id == hook["id"]).values(**changes))
        return {**hook, **changes}
