"""The results table, in Markdown for the terminal and RESULTS.md, and as JSON."""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .figures import Figure


def number(value: float | None, unit: str) -> str:
    """Format a figure for the table."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit in ("ms", "ms/query", "µs/read", "MB", "s"):
        return f"{value:,.1f} {unit}" if value >= 10 else f"{value:,.2f} {unit}"
    return f"{value:,.0f} {unit}"


def table(figures: list[Figure]) -> str:
    """Return every figure as one Markdown table, grouped."""
    lines = ["| figure | ours | baseline | ratio | bar | result |", "|---|---|---|---|---|---|"]
    group = None
    for figure in figures:
        if figure.group != group:
            group = figure.group
            lines.append(f"| **{group}** | | | | | |")
        baseline = f"{figure.baseline_name}: {number(figure.baseline, figure.unit)}" if figure.baseline_name else "—"
        ratio = f"{figure.ratio:.2f}×" if figure.ratio is not None else "—"
        lines.append(f"| {figure.name} | {number(figure.ours, figure.unit)} | {baseline} | {ratio} | {figure.bar} "
                     f"| {figure.result} |")
    return "\n".join(lines)


def notes(figures: list[Figure]) -> str:
    """Return the notes attached to figures, one line each."""
    return "\n".join(f"- {figure.group} / {figure.name}: {figure.note}" for figure in figures if figure.note)


def settings(record: dict[str, Any]) -> str:
    """Return the machine, versions and settings as a few lines."""
    machine, versions = record["machine"], record["versions"]
    lines = [f"- when: {record['when']}; commit {record['commit']}",
             f"- machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gb']} GB RAM, "
             f"{machine['platform']}; load average at start {machine['load_average_at_start']}",
             "- versions: " + ", ".join(f"{name} {version}" for name, version in versions.items()),
             f"- SQLite: {record['settings']['sqlite']}"]
    if "eventsourcing_sqlite" in record["settings"]:
        lines.append(f"- eventsourcing's SQLite connection: {record['settings']['eventsourcing_sqlite']}")
    if "postgresql" in record["settings"]:
        lines.append("- PostgreSQL: " + ", ".join(f"{k} {v}" for k, v in record["settings"]["postgresql"].items()))
    else:
        lines.append(f"- PostgreSQL: {record['settings'].get('postgresql_missing', 'not used')}")
    lines.append("- options: " + ", ".join(f"{k}={v}" for k, v in record["options"].items()))
    return "\n".join(lines)


def write_json(path: Path, record: dict[str, Any], figures: list[Figure]) -> None:
    """Write the run's record and figures as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**record, "figures": [f.to_json() for f in figures]}, ensure_ascii=False, indent=1)
                    + "\n", encoding="utf-8")
