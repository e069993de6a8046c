"""The benchmark runs end to end at a tiny size and reports every figure; timings are never asserted."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support import REPO

TINY = ["--quick", "--policies", "3", "--appends", "10", "--events", "600", "--stream", "120", "--reads", "5",
        "--http-seconds", "0.3", "--http-clients", "2"]


def run_bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, check=False)


@pytest.mark.slow
def test_a_tiny_run_reports_every_figure_with_its_bar_and_the_settings_it_ran_with(tmp_path):
    output = tmp_path / "results.json"
    done = run_bench(*TINY, "--output", str(output))
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(output.read_text(encoding="utf-8"))
    groups = " ".join(f["group"] for f in results["figures"])
    for expected in ("appends", "replay", "rebuild", "verify", "point-in-time", "HTTP", "documents", "search",
                     "word diff", "-section document"):
        assert expected in groups
    for figure in results["figures"]:
        assert set(figure) >= {"group", "name", "unit", "ours", "baseline", "ratio", "bar", "result", "passed"}
        assert figure["unavailable"] or (figure["ours"] is not None and figure["ours"] > 0)
        if figure["bar"] != "reported" and not figure["unavailable"]:
            assert figure["result"].startswith(("pass", "MISS"))
            assert isinstance(figure["passed"], bool)
    assert "600 events" in groups  # the log size is stated next to the figure
    assert results["settings"]["sqlite"].startswith("journal_mode=WAL, synchronous=FULL")
    assert results["versions"]["eventsourcing"] != "not installed"
    assert "| figure | ours | baseline | ratio | bar | result |" in done.stdout
    assert "machine:" in done.stdout


def test_an_unknown_group_is_refused_with_a_one_line_message_naming_the_option(tmp_path):
    done = run_bench("--only", "nonsense", "--output", str(tmp_path / "never.json"))
    assert done.returncode != 0
    assert "--only" in done.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "never.json").exists()
