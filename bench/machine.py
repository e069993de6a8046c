"""The record that goes with every result: machine, versions and durability settings."""
from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
import sqlalchemy

from .databases import POSTGRES_ADMIN_URL, SQLITE_PRAGMAS

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("SQLAlchemy", "psycopg", "eventsourcing", "Flask", "flask-smorest", "gunicorn", "blinker", "psutil")
POSTGRES_SETTINGS = ("server_version", "synchronous_commit", "fsync", "wal_sync_method", "shared_buffers")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True, text=True,
                               check=True).stdout.strip()
        return head + ("+uncommitted changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def postgres_settings() -> dict[str, str]:
    """Return the PostgreSQL server's version and durability settings."""
    engine = sqlalchemy.create_engine(POSTGRES_ADMIN_URL)
    with engine.connect() as connection:
        settings = {name: connection.exec_driver_sql(f"SHOW {name}").scalar_one() for name in POSTGRES_SETTINGS}
    engine.dispose()
    return settings


def describe(postgres: bool, options: dict[str, Any]) -> dict[str, Any]:
    """Describe the machine, the software and the settings of this run."""
    memory = psutil.virtual_memory()
    record: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "machine": {"cpu": _cpu_model(), "cores": os.cpu_count(), "memory_gb": round(memory.total / 2**30, 1),
                    "platform": platform.platform(), "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "versions": {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
                     **{name: _version(name) for name in PACKAGES}},
        "settings": {"sqlite": ", ".join(SQLITE_PRAGMAS) + " (every SQLite figure: ours, the baselines; "
                                                           "eventsourcing's own connection checked below)"},
        "options": options,
    }
    if postgres:
        record["settings"]["postgresql"] = postgres_settings()
    return record


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
