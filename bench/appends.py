"""Appends, one event per transaction: our store and command path next to the raw database and the peer."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import MetaData, insert

import projections
from events.application import Context, Ledger
from events.domain import commands as cmd
from events.domain.canonical import canonical_json, chain_hash, event_body, format_time, sha256_hex, utcnow
from events.domain.policy import Actor
from events.domain.streams import stream_for
from events.domain.types import Meta, SectionAmended
from events.store import EventStore
from events.store.engine import make_engine
from events.store.signals import appended
from events.store.tables import create_all
from events.store.tables import events as events_table
from service.db import upgrade

from . import peer
from .corpus import Corpus
from .databases import Scratch, libpq_url, plain_sqlalchemy_engine, plain_sqlite
from .figures import Figure, interleaved, median, rate
from .workload import AMEND_TEXT, policy_ids, sections

COLUMNS = ("position", "stream", "version", "type", "schema", "data", "meta", "recorded_at", "prev_hash", "hash")
INSERT_SQL = f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
# The same table as events/schema.py declares, in plain DDL for the drivers used bare.
CREATE_SQL = """CREATE TABLE events (
    position {position} PRIMARY KEY, stream VARCHAR(200) NOT NULL, version INTEGER NOT NULL,
    type VARCHAR(100) NOT NULL, schema INTEGER NOT NULL, data TEXT NOT NULL, meta TEXT NOT NULL,
    recorded_at VARCHAR(27) NOT NULL, prev_hash VARCHAR(64) NOT NULL, hash VARCHAR(64) NOT NULL,
    CONSTRAINT uq_events_stream_version UNIQUE (stream, version))"""


@dataclass
class Amendments:
    """The workload for appends: section amendments of about 600 bytes, spread over the policies."""

    policies: list[str]
    corpus: Corpus
    rng: random.Random

    def batch(self, count: int) -> list[tuple[str, SectionAmended, Meta]]:
        """Return the next `count` (policy, event, meta) triples."""
        out = []
        for _ in range(count):
            pid = self.rng.choice(self.policies)
            out.append((pid, SectionAmended(revision_id="rev-0001", section_id=f"s-{self.rng.randrange(40):04d}",
                                            text=self.corpus.text(self.rng, AMEND_TEXT), title=None, label="•"),
                        Meta(actor="dean", role="author", occurred_at=format_time(utcnow()),
                             correlation_id=f"req-{self.rng.getrandbits(48):012x}")))
        return out


@dataclass
class Rows:
    """A baseline's own position, stream versions and chain, so its rows have the log's exact shape."""

    position: int = 0
    prev_hash: str = "0" * 64
    versions: dict[str, int] = field(default_factory=dict)

    def make(self, work: list[tuple[str, SectionAmended, Meta]]) -> list[tuple[Any, ...]]:
        """Turn events into finished rows (computed before the clock starts: baselines store, they do not hash)."""
        rows = []
        for pid, event, meta in work:
            stream = stream_for(pid)
            self.position += 1
            version = self.versions[stream] = self.versions.get(stream, 0) + 1
            data, meta_json = canonical_json(event.to_data()), canonical_json(meta.to_data())
            recorded = meta.occurred_at
            body = event_body(position=self.position, stream=stream, version=version, type=event.type_name,
                              schema=1, data_json=data, meta_json=meta_json, recorded_at=recorded)
            digest = chain_hash(self.prev_hash, sha256_hex(body))
            rows.append((self.position, stream, version, event.type_name, 1, data, meta_json, recorded,
                         self.prev_hash, digest))
            self.prev_hash = digest
        return rows


def plain_sqlite_runner(scratch: Scratch, work: Amendments, count: int) -> Callable[[], float]:
    """Plain sqlite3: BEGIN IMMEDIATE, one INSERT, COMMIT."""
    connection = plain_sqlite(scratch.sqlite_path("plain-sqlite3"))
    connection.executescript(CREATE_SQL.format(position="INTEGER"))
    rows = Rows()

    def run() -> float:
        batch = rows.make(work.batch(count))

        def go() -> None:
            for row in batch:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute(INSERT_SQL, row)
                connection.execute("COMMIT")
        return rate(count, go)
    return run


def plain_psycopg_runner(url: str, work: Amendments, count: int) -> Callable[[], float]:
    """Plain psycopg: one connection, BEGIN, one INSERT, COMMIT."""
    connection = psycopg.connect(libpq_url(url), autocommit=True)
    with connection.transaction():
        for statement in CREATE_SQL.format(position="BIGINT").split(";"):
            connection.execute(statement)
    rows = Rows()
    sql = INSERT_SQL.replace("?", "%s")

    def run() -> float:
        batch = rows.make(work.batch(count))

        def go() -> None:
            for row in batch:
                with connection.transaction():
                    connection.execute(sql, row)
        return rate(count, go)
    return run


def core_runner(url: str, work: Amendments, count: int) -> Callable[[], float]:
    """Plain SQLAlchemy Core: a stock engine, `with engine.begin()`, one insert()."""
    engine = plain_sqlalchemy_engine(url)
    table = events_table.to_metadata(MetaData())
    table.metadata.create_all(engine)
    rows = Rows()

    def run() -> float:
        batch = [dict(zip(COLUMNS, row, strict=True)) for row in rows.make(work.batch(count))]
        statement = insert(table)

        def go() -> None:
            for row in batch:
                with engine.begin() as connection:
                    connection.execute(statement, row)
        return rate(count, go)
    return run


def peer_runner(environment: dict[str, str], work: Amendments, count: int) -> Callable[[], float]:
    """The eventsourcing library: one aggregate per policy, one event per save()."""
    app = peer.application(environment)
    aggregates = {}
    for pid in work.policies:
        aggregates[pid] = peer.PolicyStream(pid)
        app.save(aggregates[pid])

    def run() -> float:
        batch = work.batch(count)

        def go() -> None:
            for pid, event, _meta in batch:
                aggregate = aggregates[pid]
                aggregate.amend(revision_id=event.revision_id, section_id=event.section_id, text=event.text,
                                title=event.title, label=event.label)
                app.save(aggregate)
        return rate(count, go)
    return run


def store_runner(url: str, work: Amendments, count: int) -> Callable[[], float]:
    """Our store: EventStore.append of one event, hash chain included, read models left out."""
    engine = make_engine(url)
    create_all(engine)
    store = EventStore(engine)
    versions: dict[str, int] = {}

    def run() -> float:
        batch = work.batch(count)

        def go() -> None:
            with appended.muted():
                for pid, event, meta in batch:
                    stream = stream_for(pid)
                    version = versions.get(stream, 0)
                    store.append(stream, version, [event], meta)
                    versions[stream] = version + 1
        return rate(count, go)
    return run


@dataclass
class Draft:
    """A policy with an open draft, and the current text of each section the draft can amend."""

    revision_id: str
    texts: dict[str, str]


def command_runner(url: str, work: Amendments, count: int) -> Callable[[], float]:
    """The full command path: Ledger.handle(ChangeRevision) loads, checks the rules, appends, projects."""
    engine = make_engine(url)
    upgrade(engine)
    projections.register()
    ledger = Ledger(store=EventStore(engine))
    author = Context(actor=Actor(name="dean", role="author"))
    drafts: dict[str, Draft] = {}
    for pid in work.policies:
        created = cmd.CreatePolicy(policy_id=pid, title=work.corpus.title, language="ky", review_interval_days=365,
                                   sections=cmd.section_drafts(sections(work.corpus, work.rng)))
        draft = ledger.handle(created, author).result["draft_revision_id"]
        preview = ledger.load(pid).revisions[draft].preview
        drafts[pid] = Draft(draft, {sid: s.text for sid, s in preview.sections.items() if s.kind != "heading"})

    def run() -> float:
        batch = []
        for pid, event, _meta in work.batch(count):
            draft = drafts[pid]
            section = work.rng.choice(sorted(draft.texts))
            text = event.text if event.text != draft.texts[section] else event.text + "."
            draft.texts[section] = text
            batch.append(cmd.ChangeRevision(policy_id=pid, revision_id=draft.revision_id,
                                            changes=(cmd.AmendSection(section_id=section, text=text),)))

        def go() -> None:
            for command in batch:
                ledger.handle(command, author)
        return rate(count, go)
    return run


def measure(scratch: Scratch, corpus: Corpus, *, policies: int, count: int, rounds: int, seed: int,
            postgres: bool) -> list[Figure]:
    """Run every append variant on SQLite (and PostgreSQL), interleaved, and return the figures."""
    figures = []
    backends = [("SQLite", lambda name: scratch.sqlite_url(name))]
    if postgres:
        backends.append(("PostgreSQL", lambda name: scratch.postgres_url(name)))
    for backend, url_for in backends:
        work = Amendments(policy_ids(policies), corpus, random.Random(seed))
        runs: dict[str, Callable[[], float]] = {}
        if backend == "SQLite":
            runs["plain sqlite3"] = plain_sqlite_runner(scratch, work, count)
            runs["eventsourcing"] = peer_runner(
                peer.sqlite_environment(str(scratch.sqlite_path("eventsourcing"))), work, count)
        else:
            runs["plain psycopg"] = plain_psycopg_runner(url_for("psycopg"), work, count)
            runs["eventsourcing"] = peer_runner(peer.postgres_environment(url_for("eventsourcing")), work, count)
        runs["SQLAlchemy Core"] = core_runner(url_for("core"), work, count)
        runs["store"] = store_runner(url_for("store"), work, count)
        runs["command"] = command_runner(url_for("command"), work, count)
        samples = interleaved(runs, rounds)
        rates = {name: median(values) for name, values in samples.items()}
        raw = "plain sqlite3" if backend == "SQLite" else "plain psycopg"
        group = f"appends, one event per transaction ({backend})"
        figures += [
            Figure(group, f"{raw} insert", "events/s", rates[raw], note="the database's own floor"),
            Figure(group, "our store vs eventsourcing", "events/s", rates["store"], rates["eventsourcing"],
                   "eventsourcing", threshold=1.0, samples=samples),
            Figure(group, "our store vs SQLAlchemy Core", "events/s", rates["store"], rates["SQLAlchemy Core"],
                   "SQLAlchemy Core", threshold=0.5),
            Figure(group, "full command path vs SQLAlchemy Core", "events/s", rates["command"],
                   rates["SQLAlchemy Core"], "SQLAlchemy Core", threshold=1 / 3,
                   note="Ledger.handle(ChangeRevision, one amend): load + fold, rules, append, every read model (6)"),
            Figure(group, "full command path vs our store", "events/s", rates["command"], rates["store"],
                   "our store", note="what loading, rules and read models cost on top of the append"),
        ]
    return figures

