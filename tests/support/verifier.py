"""The standalone bundle verifier, run as an auditor runs it, and what the service says each version hashes to."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from projections.documents import policy_versions
from service.evidence.checkpoints import SigningKey, generate_key_file, load_key
from tests.support import REPO

VERIFIER = REPO / "service" / "evidence" / "verify_bundle.py"


def key_pair(directory: Path) -> tuple[SigningKey, Path]:
    """Make a signing key in `directory`; return it and the path of its public half."""
    path = directory / "ledger-key.pem"
    public = generate_key_file(path)
    return load_key(path), public


def run_verifier(tmp_path: Path, bundle: dict | str, public_key: Path) -> subprocess.CompletedProcess:
    """Write a bundle to a file and run the verifier on it; return the finished process."""
    path = tmp_path / "bundle.json"
    path.write_text(bundle if isinstance(bundle, str) else json.dumps(bundle, ensure_ascii=False), encoding="utf-8")
    # Run from an empty directory with a bare environment: nothing of the project is importable.
    return subprocess.run([sys.executable, "-I", str(VERIFIER), str(path), "--public-key", str(public_key)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)


def projected_hashes(store, pid: str) -> dict[int, str]:
    """Return each published version's content hash as the versions read model holds it."""
    with store.engine.connect() as connection:
        return dict(connection.execute(select(policy_versions.c.version, policy_versions.c.content_hash)
                                       .where(policy_versions.c.policy_id == pid)).all())
