"""GET the policy in force over HTTP under gunicorn, next to a bare Flask JSON endpoint under the same settings."""
from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import projections
from events.application import Context, Ledger
from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.policy import Actor
from events.store import EventStore
from events.store.engine import make_engine
from service.content.textformat import parse_policy_text
from service.db import upgrade

from .corpus import seed_paths
from .databases import Scratch
from .figures import Figure

REPO = Path(__file__).resolve().parents[1]
CONFIG = REPO / "deploy" / "gunicorn.conf.py"
WORKERS = 2
POLICY_ID = "oshsu-quality"
PATH = f"/api/v1/policies/{POLICY_ID}"
PAGE = f"/policies/{POLICY_ID}"
ENGLISH = {"Accept-Language": "en"}
START_SECONDS = 60


def free_port() -> int:
    """Return a loopback port nobody is listening on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prepare(url: str) -> None:
    """Make a database holding the seed policy, published through the ledger."""
    engine = make_engine(url)
    upgrade(engine)
    projections.register()
    ledger = Ledger(store=EventStore(engine))
    parsed = parse_policy_text(seed_paths()[0].read_text(encoding="utf-8"))
    author = Context(actor=Actor(name="dean", role="author"))
    created = cmd.CreatePolicy(policy_id=POLICY_ID, title=parsed.title, language="ky", review_interval_days=365,
                               sections=cmd.section_drafts(parsed.sections))
    draft = ledger.handle(created, author).result["draft_revision_id"]
    ledger.handle(cmd.AdoptRevision(policy_id=POLICY_ID, revision_id=draft,
                                    effective_from=parse_time("2019-09-01T00:00:00Z")),
                  Context(actor=Actor(name="quality-office", role="admin"), reason="бекитилген редакция"))
    engine.dispose()


@contextmanager
def gunicorn(app: str, env: dict[str, str], log_folder: Path) -> Iterator[int]:
    """Serve a WSGI app with gunicorn (the deploy config, 2 workers) on a free loopback port; stop it after."""
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}"]
    if CONFIG.exists():
        command[3:3] = ["--config", str(CONFIG)]
    command.append(app)
    # Logs go to a file: a pipe nobody reads would fill up and stall the workers mid-request.
    log_path = log_folder / f"gunicorn-{port}.log"
    with open(log_path, "wb") as log_file:
        server = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env, "PYTHONPATH": str(REPO)},
                                  stdout=log_file, stderr=subprocess.STDOUT)
    try:
        _wait_ready(server, port, log_path)
        yield port
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_ready(server: subprocess.Popen, port: int, log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log_path.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return
        except (OSError, urllib.error.URLError):
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /health in time")


def fetch(port: int, headers: dict[str, str] | None = None, path: str = PATH) -> tuple[int, dict[str, str], bytes]:
    """GET the policy once; return status, headers and body."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def load(port: int, *, headers: dict[str, str], clients: int, seconds: float, path: str = PATH) -> dict[str, Any]:
    """Run the load generator in two processes (so it is not held by one GIL) and merge what they saw."""
    processes = 2 if clients > 1 else 1
    args = ["--port", str(port), "--path", path, "--threads", str(max(1, clients // processes)),
            "--seconds", str(seconds), "--warmup", str(min(1.0, seconds / 4))]
    for name, value in headers.items():
        args += ["--header", f"{name}: {value}"]
    runs = [subprocess.Popen([sys.executable, "-m", "bench.loadgen", *args], cwd=REPO, stdout=subprocess.PIPE,
                             env={**os.environ, "PYTHONPATH": str(REPO)}) for _ in range(processes)]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    for run in runs:
        out, _ = run.communicate(timeout=seconds + 60)
        answer = json.loads(out)
        latencies += answer["latencies"]
        for status, count in answer["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p50_ms": _percentile(latencies, 50),
            "p99_ms": _percentile(latencies, 99), "statuses": statuses, "requests": len(latencies)}


def _percentile(values: list[float], percent: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0] * 1000
    return statistics.quantiles(values, n=100, method="inclusive")[int(percent) - 1] * 1000


def _latency(result: dict[str, Any]) -> str:
    return f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, statuses {result['statuses']}"


def measure(scratch: Scratch, *, clients: int, seconds: float, rounds: int) -> list[Figure]:
    """Serve our app and the bare one, load each in turn, and compare requests per second."""
    group = f"GET the policy in force over HTTP (gunicorn, {WORKERS} sync workers, {clients} clients, loopback)"
    name = "GET /api/v1/policies/{pid} vs bare Flask JSON endpoint"
    url = scratch.sqlite_url("http")
    prepare(url)
    with gunicorn("wsgi:app", {"POLICY_LEDGER_DATABASE_URL": url}, scratch.folder) as ours:
        status, headers, body = fetch(ours)
        if status != 200:
            title = _title(body)
            why = "endpoint missing" if status == 404 else f"status {status}"
            return [Figure(group, name, "req/s", None, unavailable=f"{why} ({status} {title})")]
        body_file = scratch.folder / "bare-body.json"
        body_file.write_bytes(body)
        etag = headers.get("ETag") or headers.get("Etag")
        page_status, page_headers, page_body = fetch(ours, ENGLISH, PAGE)
        page_etag = page_headers.get("ETag") if page_status == 200 else None
        with gunicorn("bench.bare_app:create_app()", {"POLICY_LEDGER_BENCH_BODY": str(body_file)},
                      scratch.folder) as bare:
            results: dict[str, list[dict[str, Any]]] = {"bare": [], "ours": [], "ours-304": [], "page": [],
                                                        "page-304": []}
            for _ in range(rounds):
                results["bare"].append(load(bare, headers={}, clients=clients, seconds=seconds))
                results["ours"].append(load(ours, headers={}, clients=clients, seconds=seconds))
                if etag:
                    results["ours-304"].append(load(ours, headers={"If-None-Match": etag}, clients=clients,
                                                    seconds=seconds))
                if page_etag:
                    results["page"].append(load(ours, headers=ENGLISH, clients=clients, seconds=seconds, path=PAGE))
                    results["page-304"].append(load(ours, headers={**ENGLISH, "If-None-Match": page_etag},
                                                    clients=clients, seconds=seconds, path=PAGE))
    merged = {key: _merge(runs) for key, runs in results.items() if runs}
    size = f"body {len(body):,} B"
    figures = [Figure(group, name, "req/s", merged["ours"]["rps"], merged["bare"]["rps"], "bare Flask, same body",
                      threshold=0.7, note=f"ours: {_latency(merged['ours'])}; bare: {_latency(merged['bare'])}; {size}",
                      samples={k: [r["rps"] for r in v] for k, v in results.items()})]
    if "ours-304" in merged:
        figures.append(Figure(group, "same GET with If-None-Match (304) vs bare Flask 200", "req/s",
                              merged["ours-304"]["rps"], merged["bare"]["rps"], "bare Flask, same body",
                              threshold=1.0, note=f"ours: {_latency(merged['ours-304'])}"))
    else:
        figures.append(Figure(group, "same GET with If-None-Match (304)", "req/s", None,
                              unavailable="the response carries no ETag"))
    if "page" in merged:
        figures.append(Figure(group, "GET /policies/{pid} (the page, a visitor) vs the same policy as JSON", "req/s",
                              merged["page"]["rps"], merged["ours"]["rps"], "GET /api/v1/policies/{pid}",
                              threshold=0.7, note=f"page: {_latency(merged['page'])}; "
                                                  f"JSON: {_latency(merged['ours'])}; page {len(page_body):,} B"))
        figures.append(Figure(group, "the page with If-None-Match (304) vs bare Flask 200", "req/s",
                              merged["page-304"]["rps"], merged["bare"]["rps"], "bare Flask, same body",
                              threshold=1.0, note=f"page 304: {_latency(merged['page-304'])}"))
    else:
        figures.append(Figure(group, "GET /policies/{pid} (the page)", "req/s", None,
                              unavailable=f"status {page_status}"))
    return figures


def _merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine rounds: median rate, and the latency percentiles of the median round."""
    ordered = sorted(runs, key=lambda r: r["rps"])
    middle = ordered[len(ordered) // 2]
    statuses: dict[str, int] = {}
    for run in runs:
        for status, count in run["statuses"].items():
            statuses[status] = statuses.get(status, 0) + count
    return {**middle, "rps": statistics.median(r["rps"] for r in runs), "statuses": statuses}


def _title(body: bytes) -> str:
    try:
        return str(json.loads(body).get("title", ""))
    except (ValueError, AttributeError):
        return ""
