"""Run the benchmarks (`python -m bench`, or `make bench BENCH_ARGS=...`) and print one table of ratios."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import appends, diffs, documents, large, machine, peer, pointintime, rebuild, replay, report, search, web
from .corpus import Corpus
from .databases import postgres_reason, scratch
from .figures import Figure

GROUPS = ("appends", "replay", "rebuild", "pit", "http", "search", "diff", "large", "documents")
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "results" / "latest.json"


def parse(argv: list[str]) -> argparse.Namespace:
    """Read the command line; --quick and --full set sizes that explicit options still override."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the benchmarks run, in seconds")
    parser.add_argument("--full", action="store_true", help="the rebuild and verify over 1,000,000 events")
    parser.add_argument("--policies", type=int, help="policies in the generated log and the append workload (200)")
    parser.add_argument("--events", type=int, help="events in the generated log for rebuild and verify (200,000)")
    parser.add_argument("--appends", type=int, help="appends per variant per round (1,000)")
    parser.add_argument("--rounds", type=int, help="interleaved rounds per figure; the median is reported (5)")
    parser.add_argument("--stream", type=int, default=1000, help="events in the stream that is folded (1,000)")
    parser.add_argument("--reads", type=int, help="point-in-time reads per round (1,000)")
    parser.add_argument("--http-seconds", type=float, help="seconds of load per HTTP run (5)")
    parser.add_argument("--search-events", type=int,
                        help="events in the generated log the search figures index (as --events)")
    parser.add_argument("--http-clients", type=int, default=8, help="concurrent HTTP clients (8)")
    parser.add_argument("--seed", type=int, default=20240901, help="the workload's random seed")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated subset of {', '.join(GROUPS)}")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite figures only")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="where the JSON results go")
    args = parser.parse_args(argv)
    quick = {"policies": 10, "events": 3000, "appends": 60, "rounds": 1, "reads": 50, "http_seconds": 1.0}
    normal = {"policies": 200, "events": 1_000_000 if args.full else 200_000, "appends": 1000, "rounds": 5,
              "reads": 1000, "http_seconds": 5.0}
    for name, value in (quick if args.quick else normal).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.search_events is None:
        args.search_events = args.events
    args.only = [group.strip() for group in args.only.split(",") if group.strip()]
    unknown = set(args.only) - set(GROUPS)
    if unknown:
        parser.error(f"--only: unknown group {sorted(unknown)[0]!r}; choose from {', '.join(GROUPS)}")
    for name in ("policies", "events", "appends", "rounds", "stream", "reads", "http_clients", "search_events"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def say(message: str) -> None:
    """Report progress on stderr, so stdout holds only the table."""
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print the table and write the JSON."""
    args = parse(sys.argv[1:] if argv is None else argv)
    why_not = "disabled by --no-postgres" if args.no_postgres else postgres_reason()
    postgres = why_not is None
    options = {k: v for k, v in vars(args).items() if k not in ("output", "only")} | {"only": ",".join(args.only)}
    record = machine.describe(postgres, options)
    if not postgres:
        record["settings"]["postgresql_missing"] = why_not
        say(f"PostgreSQL figures skipped: {why_not}")
    corpus = Corpus.load()
    figures: list[Figure] = []
    started = time.perf_counter()
    with scratch() as place:
        record["settings"]["eventsourcing_sqlite"] = peer.synchronous_setting(
            peer.application(peer.sqlite_environment(str(place.sqlite_path("eventsourcing-settings")))))
        if "appends" in args.only:
            say(f"appends: {args.appends} per variant × {args.rounds} rounds, {args.policies} policies")
            figures += appends.measure(place, corpus, policies=args.policies, count=args.appends, rounds=args.rounds,
                                       seed=args.seed, postgres=postgres)
        if "replay" in args.only:
            say(f"replay: a stream of {args.stream} events")
            figures += replay.measure(place, corpus, length=args.stream, repeats=max(5, 10 * args.rounds),
                                      seed=args.seed)
        if "rebuild" in args.only:
            say(f"rebuild and verify: a log of {args.events:,} events over {args.policies} policies")
            figures += rebuild.measure(place, corpus, policies=args.policies, events=args.events, seed=args.seed,
                                       say=say)
        if "pit" in args.only:
            say("point-in-time reads: 10 versions vs 10,000")
            figures += pointintime.measure(place, corpus, reads=args.reads, rounds=args.rounds, seed=args.seed,
                                           postgres=postgres)
        if "http" in args.only:
            say(f"HTTP: {args.http_clients} clients × {args.http_seconds:g} s × {args.rounds} rounds per target")
            figures += web.measure(place, clients=args.http_clients, seconds=args.http_seconds, rounds=args.rounds)
        if "search" in args.only:
            say(f"search: every version of {args.policies} policies ({args.search_events:,} events) vs LIKE scans")
            figures += search.measure(place, corpus, policies=args.policies, events=args.search_events,
                                      seed=args.seed, rounds=args.rounds, postgres=postgres, say=say)
        if "diff" in args.only:
            pairs = 6 if args.quick else 60
            say(f"word diff: {pairs} pairs of 100,000-character sections")
            figures += diffs.measure(corpus, pairs=pairs, seed=args.seed)
        if "large" in args.only:
            size = 2_000 if args.quick else 20_000
            say(f"large documents: {size:,} sections against 200, SQLite and PostgreSQL")
            figures += large.measure(place, size=size, small=200, rounds=max(5, 4 * args.rounds), postgres=postgres)
        if "documents" in args.only:
            say(f"documents: the seed printed to PDF, read by three libraries × {args.rounds} rounds")
            figures += documents.measure(rounds=args.rounds if args.quick else max(5, args.rounds))
    record["elapsed_seconds"] = round(time.perf_counter() - started, 1)
    report.write_json(args.output, record, figures)
    print(report.table(figures))
    print()
    print(report.notes(figures))
    print()
    print(report.settings(record))
    print(f"- elapsed: {record['elapsed_seconds']} s; JSON: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
