"""Rebuild every read model from a large log, and verify its chain: each in a fresh child process."""
from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from events.domain.canonical import GENESIS_HASH, chain_hash
from events.store.engine import make_engine
from projections import tables
from service.db import upgrade

from . import log
from .corpus import Corpus
from .databases import Scratch, plain_sqlite
from .figures import Figure

REPO = Path(__file__).resolve().parents[1]
REBUILD_RATE, REBUILD_RSS_MB, VERIFY_RATE = 50_000, 300, 100_000


def child(*args: str) -> dict[str, Any]:
    """Run bench.child in a fresh interpreter and return what it printed."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "bench.child", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.child {args[0]} failed: {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def plain_verify(path: Path) -> float:
    """Walk the same chain with plain sqlite3 and hashlib: the floor for any verify in Python; return events/s.

    The payloads are read as the bytes they are stored as (`CAST(... AS BLOB)`) and the body built in bytes,
    the fastest plain form of the same hashes."""
    connection = plain_sqlite(path)
    started = time.perf_counter()
    prev_hash, count = GENESIS_HASH, 0
    quoted = functools.lru_cache(maxsize=4096)(lambda name: json.dumps(name, ensure_ascii=False).encode())
    for row in connection.execute("SELECT position, stream, version, type, schema, CAST(data AS BLOB), "
                                  "CAST(meta AS BLOB), recorded_at, prev_hash, hash FROM events ORDER BY position"):
        body = (b'{"data":%b,"meta":%b,"position":%d,"recorded_at":%b,"schema":%d,"stream":%b,"type":%b,'
                b'"version":%d}' % (row[5], row[6], row[0], json.dumps(row[7]).encode(), row[4], quoted(row[1]),
                                     quoted(row[3]), row[2]))
        if row[8] != prev_hash or chain_hash(prev_hash, hashlib.sha256(body).hexdigest()) != row[9]:
            raise RuntimeError(f"chain broken at {row[0]}")
        prev_hash, count = row[9], count + 1
    connection.close()
    return count / (time.perf_counter() - started)


TRAIL_DDL = """CREATE TABLE audit_trail (
    position INTEGER PRIMARY KEY, policy_id VARCHAR(200) NOT NULL, occurred_at VARCHAR(27) NOT NULL,
    recorded_at VARCHAR(27) NOT NULL, actor VARCHAR(200) NOT NULL, role VARCHAR(20) NOT NULL,
    action VARCHAR(40) NOT NULL, revision_id VARCHAR(64), section_id VARCHAR(64), version INTEGER, detail TEXT,
    reason TEXT, correlation_id VARCHAR(100));
CREATE INDEX ix_audit_trail_policy ON audit_trail (policy_id, position);
CREATE INDEX ix_audit_trail_actor ON audit_trail (actor, position)"""


def plain_trail(log_path: Path, out_path: Path) -> float:
    """The floor for any rebuild: plain sqlite3 reading the log, decoding each event and writing only one
    row per event, the audit trail's (its table and indexes), in one transaction; return events/s."""
    source, target = plain_sqlite(log_path), plain_sqlite(out_path)
    target.executescript(TRAIL_DDL)
    started = time.perf_counter()
    target.execute("BEGIN IMMEDIATE")
    rows, count = [], 0
    insert = "INSERT INTO audit_trail VALUES (" + ", ".join("?" * 13) + ")"
    for position, stream, type_name, data, meta, recorded_at in source.execute(
            "SELECT position, stream, type, data, meta, recorded_at FROM events ORDER BY position"):
        data, meta = json.loads(data), json.loads(meta)
        rows.append((position, stream[len("policy-"):], meta["occurred_at"], recorded_at, meta["actor"], meta["role"],
                     type_name, data.get("revision_id"), data.get("section_id"), data.get("version"),
                     data.get("text") or data.get("title") or data.get("comment"), meta.get("reason"),
                     meta.get("correlation_id")))
        if len(rows) == 10_000:
            target.executemany(insert, rows)
            count, rows = count + len(rows), []
    target.executemany(insert, rows)
    count += len(rows)
    target.execute("COMMIT")
    elapsed = time.perf_counter() - started
    source.close()
    target.close()
    return count / elapsed


def measure(scratch: Scratch, corpus: Corpus, *, policies: int, events: int, seed: int,
            say: Callable[[str], None]) -> list[Figure]:
    """Generate the log, then time a full rebuild and a full verify in child processes."""
    path = scratch.sqlite_path("rebuild")
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    upgrade(engine)
    started = time.perf_counter()
    stats = log.write(engine, log.generate(policies, events, seed, corpus),
                      progress=lambda n: say(f"  generated {n:,} events") if n % 100_000 == 0 else None)
    engine.dispose()
    say(f"  log of {stats.events:,} events written in {time.perf_counter() - started:.0f} s; rebuilding")
    rebuilt = child("rebuild", url)
    say(f"  rebuilt in {rebuilt['seconds']:.1f} s; verifying")
    verified = child("verify", url)
    floor = plain_verify(path)
    trail_floor = plain_trail(path, scratch.sqlite_path("trail-floor"))
    size = f"{stats.events:,} events, {policies} policies, mean payload {stats.mean_payload:.0f} B"
    rebuild_group = f"full projection rebuild (SQLite, {stats.events:,} events)"
    verify_group = f"verify over the whole chain (SQLite, {stats.events:,} events)"
    rebuild_rate = rebuilt["events"] / rebuilt["seconds"]
    verify_rate = verified["events"] / verified["seconds"]
    flat = (f"RSS start {rebuilt['start_mb']:.0f} MB, peak in first half {rebuilt['peak_first_half_mb']:.0f} MB, "
            f"second half {rebuilt['peak_second_half_mb']:.0f} MB; fresh child process")
    return [
        Figure(rebuild_group, "projections.rebuild.rebuild(store)", "events/s", rebuild_rate, REBUILD_RATE,
               "bar", threshold=1.0, note=size),
        Figure(rebuild_group, "projections.rebuild.rebuild(store) vs plain sqlite3 writing the trail only", "events/s",
               rebuild_rate, trail_floor, "plain sqlite3, audit trail rows only",
               note="the floor: read, decode and one row per event into one table with its two indexes; "
                    f"the rebuild writes every read model's {len(tables())} tables"),
        *(Figure(rebuild_group, f"time in the {name} read model's writer", "s", seconds, rebuilt["seconds"],
                 "the whole rebuild", higher_is_better=False,
                 note="its share of the same rebuild; the rest reads and decodes the log, empties the tables and "
                      "commits")
          for name, seconds in sorted(rebuilt["writers"].items(), key=lambda item: -item[1])),
        Figure(rebuild_group, "peak RSS during the rebuild", "MB", rebuilt["peak_mb"], REBUILD_RSS_MB,
               "bar", threshold=1.0, higher_is_better=False, note=flat),
        Figure(verify_group, "EventStore.verify()", "events/s", verify_rate, VERIFY_RATE,
               "bar", threshold=1.0, note=size),
        Figure(verify_group, "EventStore.verify() vs plain sqlite3 + hashlib", "events/s", verify_rate, floor,
               "plain sqlite3 + hashlib", note="the same hashes over the same rows, with nothing else"),
    ]
