"""Wire the real dependencies once per app: engine, event store, ledger, read models."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine

import projections
from events.application import Ledger, new_id
from events.domain.canonical import utcnow
from events.store import EventStore
from events.store.engine import make_engine


@dataclass
class Services:
    """What request handlers and commands use."""

    engine: Engine
    store: EventStore
    ledger: Ledger


def bootstrap(database_url: str, *, clock: Callable[[], datetime] = utcnow,
              ids: Callable[[str], str] = new_id, **engine_options: Any) -> Services:
    """Build the services for one database; read models are connected to the append signal."""
    projections.register()
    engine = make_engine(database_url, **engine_options)
    store = EventStore(engine, clock=clock)
    return Services(engine=engine, store=store, ledger=Ledger(store=store, clock=clock, ids=ids))


def init_app(app: Flask) -> None:
    """Attach the services to the app; the engine connects lazily, on first use."""
    options = {}
    if not app.config["DATABASE_URL"].startswith("sqlite"):
        options["pool_size"] = app.config["DB_POOL_SIZE"]
    app.extensions["policy_ledger"] = bootstrap(app.config["DATABASE_URL"], clock=app.config.get("CLOCK", utcnow),
                                                **options)


def services() -> Services:
    """Return the current app's services."""
    return current_app.extensions["policy_ledger"]
