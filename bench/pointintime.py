"""A point-in-time read (`?at=`): the same cost whether a policy has 10 or 10,000 versions."""
from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from events.domain.canonical import format_time
from events.domain.document import Document
from events.store.engine import make_engine, read_transaction
from projections import documents as versions
from service.db import upgrade

from .corpus import Corpus
from .databases import Scratch
from .figures import Figure, interleaved, median, seconds
from .workload import sections

FEW, MANY = 10, 10_000
EPOCH = datetime(1995, 1, 1, tzinfo=UTC)


def _with_ids(tree: list[dict[str, Any]], prefix: str = "s") -> list[dict[str, Any]]:
    return [{**item, "id": f"{prefix}-{index}", "children": _with_ids(item.get("children") or [], f"{prefix}-{index}")}
            for index, item in enumerate(tree)]


def _fill(engine: Engine, policy_id: str, count: int, tree: list[dict[str, Any]]) -> None:
    """Insert `count` versions directly (a read benchmark: how they got there does not matter): version 1 sets
    every section's state, each later one amends one item, so a long history has as many states as versions."""
    document = Document.from_tree("Билим берүүнүн сапаты саясаты", _with_ids(tree))
    leaves = [sid for sid in document.sections if not document.children.get(sid)]
    since = dict.fromkeys(document.sections, 1)
    states = [{"policy_id": policy_id, "version": 1, "section_id": sid, "kind": s.kind, "label": s.label,
               "title": s.title, "text": s.text} for sid, s in document.sections.items()]
    rows = []
    for number in range(1, count + 1):
        if number > 1:
            amended = document.sections[leaves[number % len(leaves)]]
            since[amended.id] = number
            states.append({"policy_id": policy_id, "version": number, "section_id": amended.id, "kind": amended.kind,
                           "label": amended.label, "title": amended.title, "text": f"{amended.text} ({number})"})
        effective = format_time(EPOCH + timedelta(days=number))
        rows.append({"policy_id": policy_id, "version": number, "revision_id": f"rev-{number:06d}",
                     "title": document.title, "language": "ky", "effective_from": effective,
                     "published_at": effective, "recorded_at": effective, "position": number,
                     "content_hash": "sha256:" + "0" * 64,
                     "outline": json.dumps(versions.outline(document, since), separators=(",", ":")),
                     "editorial": False, "backdated": False, "adopted": False, "author": "dean", "publisher": "rector",
                     "summary": "Миссияны тактоо", "approvers": "[]", "touched": "[]"})
    with engine.begin() as connection:
        for table, batch in ((versions.policy_versions, rows), (versions.section_states, states)):
            for start in range(0, len(batch), 2000):
                connection.execute(insert(table), batch[start:start + 2000])
    if engine.dialect.name == "postgresql":  # statistics, as autovacuum would gather after such a load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("ANALYZE policy_versions, section_states")


def measure_one(url: str, corpus: Corpus, *, reads: int, rounds: int, seed: int, backend: str) -> Figure:
    """Time reads of the version in force at random moments for a 10- and a 10,000-version policy."""
    engine = make_engine(url)
    upgrade(engine)
    rng = random.Random(seed)
    tree = sections(corpus, rng)
    _fill(engine, "few-versions", FEW, tree)
    _fill(engine, "many-versions", MANY, tree)

    def run(policy_id: str, count: int) -> float:
        moments = [format_time(EPOCH + timedelta(days=rng.uniform(1, count + 1))) for _ in range(reads)]

        def go() -> None:
            with read_transaction(engine) as connection:
                for at in moments:
                    versions.in_force(connection, policy_id, at)  # the row, its outline and its section states
        return seconds(go) / reads * 1e6

    runs = {"few": lambda: run("few-versions", FEW), "many": lambda: run("many-versions", MANY)}
    for warm in runs.values():
        warm()
    samples = interleaved(runs, rounds)
    engine.dispose()
    return Figure(f"point-in-time read ?at= ({backend})", f"in force at a random time: {MANY:,} versions vs {FEW}",
                  "µs/read", median(samples["many"]), median(samples["few"]), f"{FEW} versions", threshold=1.5,
                  higher_is_better=False, samples=samples,
                  note=f"projections.versions.in_force; versions inserted directly, each after the first amending one "
                       f"section; {reads} reads × {rounds} rounds, document built")


def measure(scratch: Scratch, corpus: Corpus, *, reads: int, rounds: int, seed: int, postgres: bool) -> list[Figure]:
    """Run the point-in-time figure on SQLite and, when reachable, PostgreSQL."""
    figures = [measure_one(scratch.sqlite_url("pit"), corpus, reads=reads, rounds=rounds, seed=seed, backend="SQLite")]
    if postgres:
        figures.append(measure_one(scratch.postgres_url("pit"), corpus, reads=reads, rounds=rounds, seed=seed,
                                   backend="PostgreSQL"))
    return figures
