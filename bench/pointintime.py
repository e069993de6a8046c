"""A point-in-time read (`?at=`): the same cost whether a policy has 10 or 10,000 versions."""
from __future__ import annotations

import json
import random
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from sqlalchemy import Connection, Engine, insert, select

from events.canonical import canonical_json, format_time
from events.database import make_engine, read_transaction
from projections import versions
from service.schema import upgrade

from .corpus import Corpus
from .databases import Scratch
from .figures import Figure, interleaved, median, seconds
from .workload import sections

FEW, MANY = 10, 10_000
EPOCH = datetime(1995, 1, 1, tzinfo=timezone.utc)


def _sql_in_force(connection: Connection, policy_id: str, at: str) -> dict[str, Any] | None:
    table = versions.policy_versions
    row = connection.execute(
        select(table).where(table.c.policy_id == policy_id, table.c.effective_from <= at)
        .order_by(table.c.effective_from.desc(), table.c.version.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def reader() -> tuple[Callable[[Connection, str, str], Any], str]:
    """Return the read to time: projections.versions.in_force if the read model has it, else its SQL."""
    in_force = getattr(versions, "in_force", None)
    if in_force is not None:
        return in_force, "projections.versions.in_force"
    return _sql_in_force, "one indexed SELECT on policy_versions (versions.in_force not present)"


def _fill(engine: Engine, policy_id: str, count: int, tree: str) -> None:
    """Insert `count` version rows directly (a read benchmark: how they got there does not matter)."""
    rows = []
    for number in range(1, count + 1):
        effective = format_time(EPOCH + timedelta(days=number))
        rows.append({"policy_id": policy_id, "version": number, "revision_id": f"rev-{number:06d}",
                     "title": "Билим берүүнүн сапаты саясаты", "language": "ky", "effective_from": effective,
                     "published_at": effective, "recorded_at": effective, "position": number,
                     "content_hash": "sha256:" + "0" * 64, "sections": tree, "editorial": False,
                     "backdated": False, "adopted": False, "author": "dean", "publisher": "rector",
                     "summary": "Миссияны тактоо", "approvers": "[]", "touched": "[]"})
    with engine.begin() as connection:
        for start in range(0, len(rows), 2000):
            connection.execute(insert(versions.policy_versions), rows[start:start + 2000])


def measure_one(url: str, corpus: Corpus, *, reads: int, rounds: int, seed: int, backend: str) -> Figure:
    """Time reads of the version in force at random moments for a 10- and a 10,000-version policy."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(seed)
    tree = canonical_json(sections(corpus, rng))
    _fill(engine, "few-versions", FEW, tree)
    _fill(engine, "many-versions", MANY, tree)
    read, how = reader()

    def run(policy_id: str, count: int) -> float:
        moments = [format_time(EPOCH + timedelta(days=rng.uniform(1, count + 1))) for _ in range(reads)]

        def go() -> None:
            with read_transaction(engine) as connection:
                for at in moments:
                    found = read(connection, policy_id, at)
                    if isinstance(found["sections"], str):
                        json.loads(found["sections"])  # the read model's own reader decodes it too
        return seconds(go) / reads * 1e6

    runs = {"few": lambda: run("few-versions", FEW), "many": lambda: run("many-versions", MANY)}
    for warm in runs.values():
        warm()
    samples = interleaved(runs, rounds)
    engine.dispose()
    return Figure(f"point-in-time read ?at= ({backend})", f"in force at a random time: {MANY:,} versions vs {FEW}",
                  "µs/read", median(samples["many"]), median(samples["few"]), f"{FEW} versions", threshold=1.5,
                  higher_is_better=False, samples=samples,
                  note=f"{how}; version rows inserted directly; {reads} reads × {rounds} rounds, document decoded")


def measure(scratch: Scratch, corpus: Corpus, *, reads: int, rounds: int, seed: int, postgres: bool) -> list[Figure]:
    """Run the point-in-time figure on SQLite and, when reachable, PostgreSQL."""
    figures = [measure_one(scratch.sqlite_url("pit"), corpus, reads=reads, rounds=rounds, seed=seed, backend="SQLite")]
    if postgres:
        figures.append(measure_one(scratch.postgres_url("pit"), corpus, reads=reads, rounds=rounds, seed=seed,
                                   backend="PostgreSQL"))
    return figures
