"""A closed-loop load generator: threads sending GETs on loopback for a fixed time; prints latencies as JSON."""
from __future__ import annotations

import argparse
import http.client
import json
import threading
import time


def worker(host: str, port: int, path: str, headers: dict[str, str], warmup_end: float, end: float,
           latencies: list[float], statuses: dict[int, int], lock: threading.Lock) -> None:
    """Send requests one after another until `end`; record those that start after the warm-up."""
    connection = http.client.HTTPConnection(host, port, timeout=10)
    mine: list[float] = []
    seen: dict[int, int] = {}
    while True:
        started = time.perf_counter()
        if started >= end:
            break
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
            if response.will_close:
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=10)
        except (OSError, http.client.HTTPException):
            status = 0
            connection.close()
            connection = http.client.HTTPConnection(host, port, timeout=10)
        if started >= warmup_end:
            mine.append(time.perf_counter() - started)
            seen[status] = seen.get(status, 0) + 1
    connection.close()
    with lock:
        latencies.extend(mine)
        for status, count in seen.items():
            statuses[status] = statuses.get(status, 0) + count


def run(host: str, port: int, path: str, headers: dict[str, str], threads: int, warmup: float,
        seconds: float) -> dict:
    """Load one URL with `threads` clients and return the latencies and status counts."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    now = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(host, port, path, headers, now + warmup, now + warmup + seconds,
                                                  latencies, statuses, lock)) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return {"seconds": seconds, "latencies": latencies, "statuses": statuses}


def main() -> None:
    """Parse the command line, run the load and print the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--header", action="append", default=[], help="NAME: VALUE")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    headers = dict(h.split(": ", 1) for h in args.header)
    print(json.dumps(run("127.0.0.1", args.port, args.path, headers, args.threads, args.warmup, args.seconds)))


if __name__ == "__main__":
    main()
