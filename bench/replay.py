"""Load and fold one stream of 1,000 events: our ledger next to plain sqlite3 reading the same rows."""
from __future__ import annotations

import json
import random
from collections.abc import Callable

from events.application import Ledger
from events.domain.streams import stream_for
from events.store import EventStore
from events.store.engine import make_engine
from events.store.tables import create_all

from . import log, peer
from .corpus import Corpus
from .databases import Scratch, plain_sqlite
from .figures import Figure, interleaved, median, seconds
from .workload import AMEND_TEXT, policy_ids

SELECT_STREAM = ("SELECT position, stream, version, type, schema, data, meta, recorded_at, prev_hash, hash "
                 "FROM events WHERE stream = ? ORDER BY version")


def measure(scratch: Scratch, corpus: Corpus, *, length: int, repeats: int, seed: int) -> list[Figure]:
    """Time loading and folding a `length`-event policy stream, interleaved with the baselines."""
    path = scratch.sqlite_path("replay")
    engine = make_engine(f"sqlite:///{path}")
    create_all(engine)
    pid = policy_ids(1)[0]
    stats = log.write(engine, log.generate(1, length, seed, corpus))
    ledger = Ledger(store=EventStore(engine))
    connection = plain_sqlite(path)
    stream = stream_for(pid)

    def plain() -> None:
        rows = [(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]), r[7], r[8], r[9])
                for r in connection.execute(SELECT_STREAM, (stream,))]
        assert len(rows) == length

    def ours() -> None:
        assert ledger.load(pid).version == length

    app = peer.application(peer.sqlite_environment(str(scratch.sqlite_path("replay-eventsourcing"))))
    aggregate = peer.PolicyStream(pid)
    rng = random.Random(seed)
    for number in range(length - 1):
        aggregate.amend(revision_id="rev-0001", section_id=f"s-{number % 40:04d}", text=corpus.text(rng, AMEND_TEXT),
                        title=None, label="•")
    app.save(aggregate)

    def library() -> None:
        assert app.repository.get(aggregate.id).version == length

    runs: dict[str, Callable[[], float]] = {
        "plain sqlite3": lambda: seconds(plain) * 1000,
        "ledger": lambda: seconds(ours) * 1000,
        "eventsourcing": lambda: seconds(library) * 1000,
    }
    for run in runs.values():
        run()  # warm the page cache and the code paths once
    samples = interleaved(runs, repeats)
    times = {name: median(values) for name, values in samples.items()}
    group = f"replay: one stream of {length:,} events loaded and folded (SQLite)"
    note = f"a real policy history, mean payload {stats.mean_payload:.0f} B; median of {repeats}"
    return [
        Figure(group, "Ledger.load (read_stream + Policy.fold) vs plain sqlite3", "ms", times["ledger"],
               times["plain sqlite3"], "plain sqlite3 SELECT + json.loads", threshold=2.0, higher_is_better=False,
               note=note, samples=samples),
        Figure(group, "eventsourcing repository.get vs plain sqlite3", "ms", times["eventsourcing"],
               times["plain sqlite3"], "plain sqlite3 SELECT + json.loads", higher_is_better=False,
               note="peer: an aggregate of 1,000 amendments (simpler events than a real policy's)"),
    ]
