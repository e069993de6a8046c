"""The console script as a user runs it: a real process, real exit codes, Kyrgyz text through real pipes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import SEED_POLICY

pytestmark = pytest.mark.slow
SCRIPT = Path(sys.executable).parent / "policy-ledger"


@pytest.fixture
def ledger_cli(tmp_path):
    """Run `policy-ledger --database <a fresh SQLite file> …` and return the finished process."""
    database = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_LEDGER_")}

    def run(*args: str, locale: str | None = None) -> subprocess.CompletedProcess:
        extra = {"LC_ALL": locale} if locale else {}
        return subprocess.run([str(SCRIPT), "--database", database, *map(str, args)], capture_output=True,
                              text=True, encoding="utf-8", env={**env, **extra}, timeout=120, cwd=tmp_path)

    assert run("init").returncode == 0
    return run


def add_importer(ledger_cli, name: str) -> None:
    """Create the user an import names as its actor."""
    assert ledger_cli("users", "add", name, "--role", "author", "--role", "admin").returncode == 0


def test_import_then_export_keeps_the_kyrgyz_text(ledger_cli, tmp_path):
    add_importer(ledger_cli, "quality-office")
    imported = ledger_cli("import", SEED_POLICY, "--id", "oshsu-quality", "--actor", "quality-office",
                          "--publish", "--effective-from", "2019-09-01")
    assert imported.returncode == 0, imported.stderr
    assert "3 headings, 5 paragraphs, 29 items, depth 2" in imported.stdout
    assert "Ош мамлекеттик университетинин билим берүүнүн сапаты" in imported.stdout

    exported = ledger_cli("export", "oshsu-quality", "--format", "txt")
    assert exported.returncode == 0, exported.stderr
    assert "• жаштарда адептик, маданий жана илимий баалуулуктарды" in exported.stdout
    assert "илимий-педагогикалык" in exported.stdout and "болборуна" in exported.stdout
    assert "\uf0b7" not in exported.stdout

    document = json.loads(ledger_cli("export", "oshsu-quality", "--format", "json").stdout)
    assert (document["version"], document["effective_from"]) == (1, "2019-09-01T00:00:00.000000Z")


def test_a_c_locale_still_prints_kyrgyz(ledger_cli):
    add_importer(ledger_cli, "dean")
    assert ledger_cli("import", SEED_POLICY, "--id", "oshsu-quality", "--actor", "dean", "--publish").returncode == 0
    exported = ledger_cli("export", "oshsu-quality", locale="C")
    assert exported.returncode == 0, exported.stderr
    assert "ОшМУнун миссиясы:" in exported.stdout


def test_bad_input_exits_non_zero_with_one_line_on_stderr(ledger_cli, tmp_path):
    cases = [
        ("import", tmp_path / "missing.txt", "--id", "quality", "--actor", "dean"),
        ("import", SEED_POLICY, "--id", "Bad_Id", "--actor", "dean"),
        ("import", SEED_POLICY, "--id", "quality", "--actor", "dean", "--publish", "--effective-from", "soon"),
        ("import", SEED_POLICY, "--id", "quality"),
        ("export", "quality"),
        ("export", "quality", "--format", "pdf"),
    ]
    for args in cases:
        finished = ledger_cli(*args)
        assert finished.returncode != 0, args
        assert finished.stdout == "", args
        assert len(finished.stderr.strip().splitlines()) == 1, (args, finished.stderr)
    assert "no policy 'quality'" in ledger_cli("export", "quality").stderr


def test_the_demo_loads_once_and_exports_what_was_in_force_in_2021(ledger_cli, tmp_path):
    tokens = tmp_path / "demo-tokens.txt"
    loaded = ledger_cli("demo", "--if-empty", "--tokens-file", tokens)
    assert loaded.returncode == 0, loaded.stderr
    assert "rector" in loaded.stdout and tokens.exists()
    again = ledger_cli("demo", "--if-empty", "--tokens-file", tokens)
    assert again.returncode == 0 and "demo not loaded" in again.stdout
    before = ledger_cli("export", "oshsu-quality", "--at", "2021-05-01", "--format", "txt").stdout
    after = ledger_cli("export", "oshsu-quality", "--at", "2021-09-01", "--format", "txt").stdout
    assert "иш берүүчүлөр" not in before and "иш берүүчүлөр жана уюмдар" in after
    assert ledger_cli("verify").returncode == 0
