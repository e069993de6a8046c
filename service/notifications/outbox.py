"""The outbox, fed by a cursor over the global log: each event's e-mails and webhook deliveries, queued once.

The cursor and what an event queues move in one transaction: a crash before the commit queues the event
again (each row has a key naming its event and recipient, and a key already queued is passed over), a crash
after it has queued it for good. Positions in the log are gapless and become visible in order (the append
lock), so reading "after the cursor" never passes an event that commits later with a smaller position.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from events.domain import types as ev
from events.domain.canonical import format_time
from events.domain.streams import policy_of
from events.store import EventStore, StoredEvent
from projections import catalog, revisions
from service import accounts

from . import recipients
from .messages import human_date, render
from .settings import NotifySettings
from .tables import notification_cursor, notifications, webhooks

CURSOR = "log"


@contextmanager
def worker_transaction(engine: Engine) -> Iterator[Connection]:
    """Open a transaction for the worker's own tables (on SQLite it writes, so it begins IMMEDIATE; on
    PostgreSQL it takes no append lock: the worker never holds up an append)."""
    with engine.connect() as connection:
        connection = connection.execution_options(policy_ledger_write=True)
        with connection.begin():
            yield connection


def insert_once(connection: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert outbox rows whose key is not queued yet; return how many were new."""
    if not rows:
        return 0
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = (dialect.insert(notifications).on_conflict_do_nothing(index_elements=["key"])
                 .returning(notifications.c.id))
    # One by one: what comes back tells what was new, on both engines.
    return sum(len(connection.execute(statement, row).all()) for row in rows)


def cursor_position(connection: Connection) -> int:
    """Return the position up to which the log's notifications are queued."""
    found = connection.execute(select(notification_cursor.c.position)
                               .where(notification_cursor.c.name == CURSOR)).scalar()
    return int(found or 0)


def expand(engine: Engine, store: EventStore, settings: NotifySettings, now: datetime, limit: int = 500) -> int:
    """Queue the messages and deliveries of up to `limit` events after the cursor; return how many events."""
    with engine.connect() as connection:  # a plain read first: an idle worker takes no write lock
        head = store.head(connection)[0]
        if head <= cursor_position(connection):
            return 0
    with worker_transaction(engine) as connection:
        locked = connection.execute(select(notification_cursor.c.position)
                                    .where(notification_cursor.c.name == CURSOR)
                                    .with_for_update(skip_locked=True)).first()
        if locked is None:
            held = connection.execute(select(notification_cursor.c.name)
                                      .where(notification_cursor.c.name == CURSOR)).first()
            if held is not None:
                return 0  # another worker is expanding the log right now
            connection.execute(insert(notification_cursor).values(name=CURSOR, position=0))
            after = 0
        else:
            after = int(locked.position)
        events = list(store.read_all(after, limit, conn=connection))
        if not events:
            return 0
        hooks = [dict(row) for row in connection.execute(
            select(webhooks).where(webhooks.c.active.is_(True), webhooks.c.removed.is_(False))).mappings()]
        stamp = format_time(now)
        rows: list[dict[str, Any]] = []
        for stored in events:
            rows += mail_rows(connection, stored, settings, stamp)
            rows += delivery_rows(stored, hooks, stamp)
        insert_once(connection, rows)
        connection.execute(update(notification_cursor).where(notification_cursor.c.name == CURSOR)
                           .values(position=events[-1].position))
        return len(events)


def _row(*, key: str, channel: str, kind: str, stored: StoredEvent | None, policy_id: str | None, recipient: str,
         body: str, stamp: str, **more: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "key": key, "channel": channel, "kind": kind,
            "position": stored.position if stored else None, "policy_id": policy_id, "recipient": recipient,
            "address": None, "language": None, "subject": None, "html": None, "body": body, "status": "pending",
            "attempts": 0, "created_at": stamp, "next_attempt_at": stamp, **more}


def mail_rows(connection: Connection, stored: StoredEvent, settings: NotifySettings,
              stamp: str) -> list[dict[str, Any]]:
    """Return one e-mail per person an event concerns (who has an address), in their language."""
    if not stored.stream.startswith("policy-"):
        return []
    duties = [d for d in recipients.for_event(connection, stored) if d.user.email]
    if not duties:
        return []
    pid = policy_of(stored.stream)
    values = _values(connection, stored, pid)
    rows = []
    for duty in duties:
        language = duty.user.language or "en"
        message = render(duty.kind, language, **values, date=human_date(values["when"], language, settings.timezone),
                         link=settings.link(_page(duty.kind, pid, values["revision_id"])))
        rows.append(_row(key=f"mail:{stored.position}:{duty.user.name}", channel="mail", kind=duty.kind,
                         stored=stored, policy_id=pid, recipient=duty.user.name, body=message.text, stamp=stamp,
                         address=duty.user.email, language=language, subject=message.subject, html=message.html))
    return rows


def _values(connection: Connection, stored: StoredEvent, pid: str) -> dict[str, Any]:
    event = stored.event
    policy = catalog.get(connection, pid) or {}
    revision_id = getattr(event, "revision_id", None)
    revision = revisions.get(connection, revision_id) if revision_id else None
    actor = accounts.find(connection, stored.meta.get("actor", ""))
    title = event.title if isinstance(event, ev.RevisionPublished) else policy.get("title", pid)
    return {"title": title, "summary": (revision or {}).get("summary", ""), "revision_id": revision_id,
            "actor": actor.full_name if actor else stored.meta.get("actor", ""),
            "comment": getattr(event, "comment", ""), "reason": stored.meta.get("reason") or "",
            "version": getattr(event, "version", ""), "when": getattr(event, "effective_from", None)}


def _page(kind: str, pid: str, revision_id: str | None) -> str:
    if kind == "acknowledgement_needed":
        return "/inbox"
    if kind in ("review_due", "review_overdue"):
        return f"/policies/{pid}/history#periodic-review"
    return f"/policies/{pid}/revisions/{revision_id}"


def delivery_rows(stored: StoredEvent, hooks: list[dict[str, Any]], stamp: str) -> list[dict[str, Any]]:
    """Return one delivery per webhook that asked for an event of this type and was registered before it."""
    rows = []
    for hook in hooks:
        wanted = json.loads(hook["events"])
        if stored.position <= hook["from_position"] or ("*" not in wanted and stored.type not in wanted):
            continue
        payload = {**stored.to_json()}
        if stored.stream.startswith("policy-"):
            payload["policy_id"] = policy_of(stored.stream)
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        rows.append(_row(key=f"webhook:{hook['id']}:{stored.position}", channel="webhook", kind=stored.type,
                         stored=stored, policy_id=payload.get("policy_id"), recipient=hook["id"], body=body,
                         stamp=stamp))
    return rows
