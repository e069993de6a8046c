"""Rebuild every read model from a large log, and verify its chain: each in a fresh child process."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

from events.canonical import GENESIS_HASH, chain_hash, event_body, sha256_hex
from events.database import make_engine
from service.schema import upgrade

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
    """Walk the same chain with plain sqlite3 and hashlib: the floor for any verify in Python; return events/s."""
    connection = plain_sqlite(path)
    started = time.perf_counter()
    prev_hash, count = GENESIS_HASH, 0
    for row in connection.execute("SELECT position, stream, version, type, schema, data, meta, recorded_at, "
                                  "prev_hash, hash FROM events ORDER BY position"):
        body = event_body(position=row[0], stream=row[1], version=row[2], type=row[3], schema=row[4],
                          data_json=row[5], meta_json=row[6], recorded_at=row[7])
        if row[8] != prev_hash or chain_hash(prev_hash, sha256_hex(body)) != row[9]:
            raise RuntimeError(f"chain broken at {row[0]}")
        prev_hash, count = row[9], count + 1
    connection.close()
    return count / (time.perf_counter() - started)


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
        Figure(rebuild_group, "peak RSS during the rebuild", "MB", rebuilt["peak_mb"], REBUILD_RSS_MB,
               "bar", threshold=1.0, higher_is_better=False, note=flat),
        Figure(verify_group, "EventStore.verify()", "events/s", verify_rate, VERIFY_RATE,
               "bar", threshold=1.0, note=size),
        Figure(verify_group, "EventStore.verify() vs plain sqlite3 + hashlib", "events/s", verify_rate, floor,
               "plain sqlite3 + hashlib", note="the same hashes over the same rows, with nothing else"),
    ]
