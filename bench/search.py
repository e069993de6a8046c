"""Full-text search over every version of the workload's policies, against a plain LIKE scan of the same texts."""
from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, text

from events.store import EventStore
from events.store.engine import make_engine, read_transaction
from projections import search
from projections.rebuild import rebuild
from projections.search import words
from service.db import upgrade
from service.queries.search import search_page

from . import log
from .corpus import Corpus
from .databases import Scratch
from .figures import Figure

FASTER = 20  # the bar on `in=all`: at least this many times faster than the scan
QUERIES = 60
PAGE = 50
NOW = "2030-01-01T00:00:00.000000Z"
_FOLD = str.maketrans({"ү": "у", "ө": "о", "ң": "н"})


def queries(corpus: Corpus, rng: random.Random, count: int) -> list[str]:
    """Return what people would type: stems, pairs of words, phrases in quotes, and words typed without ү ө ң."""
    stems = [w.lower() for w in corpus.words if len(words(w)) == 1 and len(w) >= 6]
    found: list[str] = []
    while len(found) < count:
        kind = len(found) % 4
        start = rng.randrange(len(corpus.words) - 1)
        pair = (words(corpus.words[start]) + words(corpus.words[start + 1]))[:2]
        if kind == 0:
            found.append(rng.choice(stems)[:rng.randint(4, 7)])
        elif kind == 1:
            found.append(" ".join(w.lower()[:6] for w in pair))
        elif kind == 2 and len(pair) == 2:
            found.append('"' + " ".join(pair) + '"')
        elif kind == 3:
            found.append(rng.choice(stems).translate(_FOLD)[:7])
    return found


def _like(connection: Connection, query: str, every_version: bool) -> int:
    """The plain scan: every row of every version's sections, each word (or phrase) as LIKE '%…%', first page."""
    terms = [query.strip('"')] if query.startswith('"') else query.split()
    where = " AND ".join(f"body LIKE :t{n}" for n in range(len(terms)))
    if not every_version:
        where += " AND last_version IS NULL"
    params: dict[str, Any] = {f"t{n}": f"%{term}%" for n, term in enumerate(terms)}
    statement = (f"SELECT policy_id, section_id, first_version, last_version, label, body FROM search_sections "
                 f"WHERE {where} ORDER BY policy_id, row_id LIMIT {PAGE}")
    return len(connection.execute(text(statement), params).all())


def _ours(connection: Connection, query: str, every_version: bool) -> int:
    """The read model's search: the same columns the scan returns, ranked, first page."""
    return len(search.find(connection, search.parse(query), at=NOW, every_version=every_version, limit=PAGE)[0])


def _with_snippets(connection: Connection, query: str, every_version: bool) -> int:
    """What the API and the pages answer: the first page with a snippet cut and marked for each section."""
    return len(search_page(connection, query, at=NOW, every_version=every_version, limit=PAGE)[0])


def _latencies(engine: Engine, run: Callable[[Connection, str, bool], int], asked: list[str], every_version: bool,
               rounds: int) -> tuple[list[float], int]:
    """Return each query's time in milliseconds over the rounds, and how many sections the last round found."""
    times: list[float] = []
    found = 0
    with read_transaction(engine) as connection:
        for _ in range(rounds):
            found = 0
            for query in asked:
                started = time.perf_counter()
                found += run(connection, query, every_version)
                times.append((time.perf_counter() - started) * 1000)
    return times, found


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_one(url: str, corpus: Corpus, *, policies: int, events: int, seed: int, rounds: int, backend: str,
                say: Callable[[str], None]) -> list[Figure]:
    """Fill a database with the workload's log, rebuild its read models, and time both searches."""
    engine = make_engine(url)
    upgrade(engine)
    stats = log.write(engine, log.generate(policies, events, seed, corpus))
    rebuild(EventStore(engine))
    if engine.dialect.name == "postgresql":  # what autovacuum does after a rebuild: dead rows gone, statistics read
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")
    with engine.connect() as connection:
        rows, versions = connection.execute(text(
            "SELECT (SELECT count(*) FROM search_sections), (SELECT count(*) FROM search_versions)")).one()
    say(f"  search ({backend}): {stats.events:,} events, {versions:,} versions, {rows:,} section texts indexed")
    asked = queries(corpus, random.Random(seed), QUERIES)
    figures = []
    for every_version, scope in ((True, "in=all"), (False, "in=current")):
        _latencies(engine, _ours, asked[:5], every_version, 1)  # warm both caches alike
        _latencies(engine, _like, asked[:5], every_version, 1)
        _latencies(engine, _with_snippets, asked[:5], every_version, 1)
        ours, hits = _latencies(engine, _ours, asked, every_version, rounds)
        scan, _ = _latencies(engine, _like, asked, every_version, rounds)
        snipped, _ = _latencies(engine, _with_snippets, asked, every_version, rounds)
        group = f"search, {scope} ({backend}, {versions:,} versions of {policies} policies)"
        note = (f"{len(asked)} queries (stems, word pairs, phrases, words typed without ү ө ң) × {rounds} rounds, "
                f"first page of {PAGE}; {hits} sections on the first pages; {rows:,} section texts")
        bar = 1 / FASTER if every_version else None
        for name, share in (("p50", 0.5), ("p99", 0.99)):
            figures.append(Figure(group, f"{name} per query: projections.search.find vs LIKE scan", "ms/query",
                                  _percentile(ours, share), _percentile(scan, share), f"LIKE '%…%' scan, {name}",
                                  threshold=bar if name == "p50" else None, higher_is_better=False, note=note,
                                  samples={"ours": [statistics.median(ours)], "scan": [statistics.median(scan)]}))
        figures.append(Figure(group, "p50 per query with snippets (service.queries.search) vs LIKE scan", "ms/query",
                              _percentile(snipped, 0.5), _percentile(scan, 0.5), "LIKE '%…%' scan, p50",
                              higher_is_better=False, note="the same page, each section's snippet cut and marked "
                                                           "in Python: what the API and the pages answer"))
    engine.dispose()
    return figures


def measure(scratch: Scratch, corpus: Corpus, *, policies: int, events: int, seed: int, rounds: int,
            postgres: bool, say: Callable[[str], None]) -> list[Figure]:
    """Run the search figures on SQLite and, when reachable, PostgreSQL."""
    figures = measure_one(scratch.sqlite_url("search"), corpus, policies=policies, events=events, seed=seed,
                          rounds=rounds, backend="SQLite", say=say)
    if postgres:
        figures += measure_one(scratch.postgres_url("search"), corpus, policies=policies, events=events, seed=seed,
                               rounds=rounds, backend="PostgreSQL", say=say)
    return figures
