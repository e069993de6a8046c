"""The peer: the eventsourcing library doing the same appends and replays, configured by its environment keys."""
from __future__ import annotations

from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from .databases import database_name


class PolicyStream(Aggregate):
    """A policy as a plain eventsourcing aggregate: the same amendments, folded into a section map."""

    def __init__(self, policy_id: str) -> None:
        self.policy_id = policy_id
        self.sections: dict[str, str] = {}

    @event("SectionAmended")
    def amend(self, revision_id: str, section_id: str, text: str, title: str | None, label: str | None) -> None:
        """Record an amended section."""
        self.sections[section_id] = text


class PeerApplication(Application):
    """An eventsourcing application with no snapshots, as the library sets it up by default."""


def sqlite_environment(path: str) -> dict[str, str]:
    """Return the environment that puts the library on a SQLite file."""
    return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}


def postgres_environment(url: str) -> dict[str, str]:
    """Return the environment that puts the library on a PostgreSQL database."""
    return {"PERSISTENCE_MODULE": "eventsourcing.postgres", "POSTGRES_DBNAME": database_name(url),
            "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "5432", "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "postgres"}


def application(environment: dict[str, str]) -> PeerApplication:
    """Start the library's application on the given persistence."""
    return PeerApplication(env=environment)


def synchronous_setting(app: PeerApplication) -> Any:
    """Return SQLite's synchronous setting on the library's connection (2 is FULL), for the record."""
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    with datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        synchronous = cursor.fetchone()[0]
        cursor.execute("PRAGMA journal_mode")
        return {"synchronous": synchronous, "journal_mode": cursor.fetchone()[0]}
