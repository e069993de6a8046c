"""Run one heavy measurement in a fresh process, so its peak memory is its own; prints JSON on stdout."""
from __future__ import annotations

import json
import resource
import sys
import threading
import time
from typing import Any

import psutil

SAMPLE_SECONDS = 0.02


class MemorySampler:
    """Sample this process's resident memory in a thread while a measurement runs."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self.process.memory_info().rss))
            self._stop.wait(SAMPLE_SECONDS)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self, start_rss: int) -> dict[str, float]:
        """Return start, peak, and peak per half of the run in MB: equal halves mean flat memory."""
        if not self.samples:
            return {}
        middle = (self.samples[0][0] + self.samples[-1][0]) / 2
        first = max((rss for at, rss in self.samples if at <= middle), default=start_rss)
        second = max((rss for at, rss in self.samples if at > middle), default=first)
        mb = 1024 * 1024
        return {"start_mb": start_rss / mb, "peak_mb": max(rss for _, rss in self.samples) / mb,
                "peak_first_half_mb": first / mb, "peak_second_half_mb": second / mb,
                "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def rebuild(url: str) -> dict[str, Any]:
    """Rebuild every read model from the log and report time and memory."""
    from sqlalchemy import func, select

    from events.store import EventStore
    from events.store.engine import make_engine
    from events.store.tables import events
    from projections.catalog import policies
    from projections.rebuild import rebuild as run_rebuild

    engine = make_engine(url)
    store = EventStore(engine)
    with engine.connect() as connection:
        streams = connection.execute(select(func.count(func.distinct(events.c.stream)))).scalar_one()
    writers = _timed_writers()
    start_rss = psutil.Process().memory_info().rss
    with MemorySampler() as sampler:
        started = time.perf_counter()
        count = run_rebuild(store)
        elapsed = time.perf_counter() - started
    with engine.connect() as connection:
        catalogued = connection.execute(select(func.count()).select_from(policies)).scalar_one()
    if catalogued != streams:
        raise SystemExit(f"rebuild catalogued {catalogued} policies, the log has {streams}")
    return {"events": count, "seconds": elapsed, "writers": writers, **sampler.summary(start_rss)}


def _timed_writers() -> dict[str, float]:
    """Have each read model's writer add the seconds it spends to the returned dict (before they connect)."""
    import projections
    spent: dict[str, float] = {}

    def timed(name: str, writer: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return writer(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
        return run

    for module in projections.MODULES:
        module.on_appended = timed(module.__name__.rsplit(".", 1)[-1], module.on_appended)  # type: ignore[attr-defined]
    return spent


def verify(url: str) -> dict[str, Any]:
    """Walk the whole hash chain and report the time it took."""
    from events.store import EventStore
    from events.store.engine import make_engine

    store = EventStore(make_engine(url))
    started = time.perf_counter()
    result = store.verify()
    elapsed = time.perf_counter() - started
    if not result.ok:
        raise SystemExit(f"the generated log does not verify: {result.problem} at {result.first_bad_position}")
    return {"events": result.events_checked, "seconds": elapsed}


def profile(task: str, url: str, output: str) -> dict[str, Any]:
    """Run a task under cProfile and write its statistics."""
    import cProfile
    profiler = cProfile.Profile()
    answer = profiler.runcall(TASKS[task], url)
    profiler.dump_stats(output)
    return answer


TASKS = {"rebuild": rebuild, "verify": verify}


def main(argv: list[str]) -> None:
    """Run `TASK URL` (or `profile TASK URL FILE`) and print its result as JSON."""
    if argv[0] == "profile":
        answer = profile(argv[1], argv[2], argv[3])
    else:
        answer = TASKS[argv[0]](argv[1])
    print(json.dumps(answer))


if __name__ == "__main__":
    main(sys.argv[1:])
