"""The worker's figures for /metrics, read from the database at each scrape (the worker is another process)."""
from __future__ import annotations

from prometheus_client import Gauge
from sqlalchemy import Engine, func, select

from events.store.tables import events as events_table

from .tables import notification_cursor, notifications, webhooks

CHANNELS, STATUSES = ("mail", "webhook"), ("pending", "sent", "failed")

NOTIFICATIONS = Gauge("policy_ledger_notifications", "E-mails and webhook deliveries in the outbox, by channel and "
                      "status (pending, sent, failed).", ["channel", "status"], multiprocess_mode="mostrecent")
WORKER_LAG = Gauge("policy_ledger_notification_lag_events",
                   "Log head position minus the last position the worker has read into the outbox.",
                   multiprocess_mode="mostrecent")
WEBHOOKS_OFF = Gauge("policy_ledger_webhooks_disabled", "Webhooks turned off after failing for a day.",
                     multiprocess_mode="mostrecent")


def refresh(engine: Engine) -> None:
    """Set the gauges from the outbox, the cursor and the log as they stand."""
    with engine.connect() as connection:
        counts = {(row.channel, row.status): row.n for row in connection.execute(
            select(notifications.c.channel, notifications.c.status, func.count().label("n"))
            .group_by(notifications.c.channel, notifications.c.status))}
        head = connection.execute(select(func.coalesce(func.max(events_table.c.position), 0))).scalar_one()
        read = connection.execute(select(notification_cursor.c.position)
                                  .where(notification_cursor.c.name == "log")).scalar()
        off = connection.execute(select(func.count()).select_from(webhooks)
                                 .where(webhooks.c.active.is_(False), webhooks.c.removed.is_(False))).scalar_one()
    for channel in CHANNELS:
        for status in STATUSES:
            NOTIFICATIONS.labels(channel, status).set(counts.get((channel, status), 0))
    WORKER_LAG.set(head - (read or 0))
    WEBHOOKS_OFF.set(off)
