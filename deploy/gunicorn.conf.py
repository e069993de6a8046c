"""Gunicorn settings for Policy Ledger; `policy-ledger serve` passes this file, the command line may override."""
from __future__ import annotations

import gc
import glob
import os
import shutil
import tempfile

# Workers: 2 × cores + 1 (gunicorn's rule of thumb for I/O-bound apps), capped so a big machine does not
# open more database connections than PostgreSQL allows; WEB_CONCURRENCY or --workers decide otherwise.
_CORES = os.cpu_count() or 1
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * _CORES + 1, 12))
worker_class = "sync"

timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))  # a worker silent this long is killed and replaced
graceful_timeout = 30  # on SIGTERM or reload, requests in flight get this long to finish
keepalive = 5  # behind nginx, which keeps upstream connections open

# Engines and their pools must not cross a fork: each worker loads the app and connects on its own.
preload_app = False

# Recycle workers now and then, staggered, so slow leaks never grow and never all restart at once. Not
# often: a worker spends about a second of CPU starting (imports, the API description), so recycling every
# few thousand requests would cost each request a good part of what answering it costs.
max_requests = 50_000
max_requests_jitter = 5_000

# Heartbeat files on tmpfs: a worker blocked on a slow disk is not mistaken for a hung one.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

proc_name = "policy-ledger"
# No gunicornc control socket: its default path is per user, so two masters on one host would share it.
control_socket_disable = True
accesslog = "-"
errorlog = "-"
access_log_format = ('%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s '
                     'user_agent="%(a)s"')
# Trust X-Forwarded-* only from the local reverse proxy.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Metrics from every worker: prometheus-client writes per-process files here and /metrics adds them up.
# A directory left by an earlier run would double-count, so an operator-chosen one is emptied at start
# and one of our own is made fresh and removed at exit.
_METRICS_PREFIX = "policy-ledger-metrics-"
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix=_METRICS_PREFIX)


def post_worker_init(worker) -> None:
    """Leave what the worker made while starting (the app, its API description, the table metadata) out of
    every later garbage collection: those objects live as long as the worker, and each full collection
    would walk all of them again."""
    gc.freeze()


def on_starting(server) -> None:
    """Empty the metrics directory before the first worker starts."""
    for stale in glob.glob(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "*.db")):
        os.remove(stale)


def child_exit(server, worker) -> None:
    """Drop a dead worker's live gauges from the aggregate."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    """Remove the metrics directory if this file made it (a reload re-reads this file, so ask the name)."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    if os.path.basename(directory).startswith(_METRICS_PREFIX):
        shutil.rmtree(directory, ignore_errors=True)
