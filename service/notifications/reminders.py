"""Periodic reviews coming due: which policies are due or overdue, and the reminders to the people who answer.

A reminder goes once when a review comes within REVIEW_REMINDER_DAYS of its date, then once a week while it
is overdue; each is queued under a key naming the policy, the due date and the week, so a worker that looks
again (or a second worker) queues nothing twice, and a review recorded (a new due date) starts afresh.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from events.domain.canonical import format_time, parse_time
from projections import audit, catalog

from . import recipients
from .messages import human_date, render
from .outbox import insert_once, worker_transaction
from .settings import NotifySettings

WEEK = timedelta(days=7)


def due(connection: Connection, now: datetime, within_days: int) -> list[dict[str, Any]]:
    """Return the policies in force whose periodic review is due within `within_days`, or overdue, soonest first."""
    horizon = format_time(now + timedelta(days=within_days))
    rows = connection.execute(select(catalog.policies)
                              .where(catalog.policies.c.next_review_due.is_not(None),
                                     catalog.policies.c.latest_version > 0,
                                     catalog.policies.c.next_review_due <= horizon)
                              .order_by(catalog.policies.c.next_review_due, catalog.policies.c.policy_id)).mappings()
    stamp = format_time(now)
    found = []
    for row in rows:
        people = audit.assignments_at(connection, row["policy_id"], stamp, None, None, 10_000)
        found.append({"policy_id": row["policy_id"], "title": row["title"], "language": row["language"],
                      "owner": row["owner"], "next_review_due": row["next_review_due"],
                      "last_review_at": row["last_review_at"], "overdue": row["next_review_due"] <= stamp,
                      "responsible": [{"party": p["party"], "party_kind": p["party_kind"],
                                       "section_id": p["section_id"], "duty": p["duty"]} for p in people]})
    return found


def stage(next_review_due: str, now: datetime, within_days: int) -> str | None:
    """Return which reminder a review is at: 'soon', 'overdue-<week>', or None when none is due yet."""
    moment = parse_time(next_review_due)
    if now >= moment:
        return f"overdue-{(now - moment) // WEEK}"
    if now >= moment - timedelta(days=within_days):
        return "soon"
    return None


def queue_reminders(engine: Engine, settings: NotifySettings, now: datetime) -> int:
    """Queue the reminders due now; return how many were new."""
    stamp = format_time(now)
    with worker_transaction(engine) as connection:
        rows = []
        for policy in due(connection, now, settings.review_reminder_days):
            at = stage(policy["next_review_due"], now, settings.review_reminder_days)
            if at is None:
                continue
            kind = "review_due" if at == "soon" else "review_overdue"
            pid = policy["policy_id"]
            for duty in recipients.for_review(connection, policy, kind, stamp):
                if not duty.user.email:
                    continue
                language = duty.user.language or "en"
                message = render(kind, language, title=policy["title"],
                                 date=human_date(policy["next_review_due"], language, settings.timezone),
                                 link=settings.link(f"/policies/{pid}/history#periodic-review"))
                rows.append({"id": _id(), "key": f"mail:review:{pid}:{policy['next_review_due']}:{at}:{duty.user.name}",
                             "channel": "mail", "kind": kind, "position": None, "policy_id": pid,
                             "recipient": duty.user.name, "address": duty.user.email, "language": language,
                             "subject": message.subject, "body": message.text, "html": message.html,
                             "status": "pending", "attempts": 0, "created_at": stamp, "next_attempt_at": stamp})
        return insert_once(connection, rows)


def _id() -> str:
    return str(uuid.uuid4())
