"""Real servers for tests: `policy-ledger serve` on a free 127.0.0.1 port, the CLI as a subprocess, and clean-up."""
from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from tests.support import PASSWORD

COMMAND = Path(sys.executable).parent / "policy-ledger"
READY_WITHIN = 40.0


def self_signed(directory: Path, cert_name: str, key_name: str) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key under these names; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / cert_name, directory / key_name
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def environment(database_url: str, **extra: str) -> dict[str, str]:
    """Return this process's environment without Policy Ledger settings, pointed at one database."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("POLICY_LEDGER_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env["POLICY_LEDGER_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def cli(database_url: str, *args: str, cwd: Path, stdin: str | None = None) -> str:
    """Run `policy-ledger ARGS` against a database; return its stdout, failing with its stderr."""
    done = subprocess.run([str(COMMAND), *args], cwd=cwd, env=environment(database_url), capture_output=True,
                          text=True, timeout=60, input=stdin)
    assert done.returncode == 0, f"policy-ledger {' '.join(args)} failed: {done.stderr[-2000:]}"
    return done.stdout


def add_user(database_url: str, name: str, *roles: str, cwd: Path) -> str:
    """Create a user through the CLI, with PASSWORD, and return their token (the last line it prints)."""
    out = cli(database_url, "users", "add", name, *[part for role in roles for part in ("--role", role)],
              "--password-stdin", cwd=cwd, stdin=PASSWORD + "\n")
    return out.strip().splitlines()[-1]


def children_of(pid: int) -> list[int]:
    """Return the live pids whose parent is `pid` (gunicorn's workers, for its master): not those that have
    exited and wait for the master to reap them."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone while we looked
        # The command name is in parentheses and may hold spaces; the state and parent pid are the fields after it.
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == pid and state not in ("Z", "X"):
            found.append(int(entry.name))
    return sorted(found)


class Server:
    """One gunicorn master serving the app through `policy-ledger serve`; a context manager that always stops it."""

    def __init__(self, database_url: str, workdir: Path, *, workers: int = 2, **env: str) -> None:
        self.database_url, self.workdir, self.workers, self.env = database_url, workdir, workers, env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        try:
            self.start()
        except BaseException:
            self.stop()  # __exit__ does not run when __enter__ fails
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def start(self, ready: bool = True) -> None:
        """Start the master and (unless told not to) wait until /health/ready answers 200."""
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(COMMAND), "serve", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", str(self.workers)],
                cwd=self.workdir, env=environment(self.database_url, **self.env), stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
        if ready:
            self.wait_ready()

    def first_answer(self, path: str, within: float = READY_WITHIN) -> requests.Response:
        """Return the first HTTP answer to GET `path` once the server listens."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                return requests.get(self.url + path, timeout=5)
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.05)
        raise AssertionError(f"no answer within {within}s:\n{self.log()}")

    def wait_ready(self, within: float = READY_WITHIN) -> None:
        """Wait until the service says it is ready, or fail with the end of its log."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/health/ready", timeout=5).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):
                pass  # not listening yet, or its workers are still loading the app
            time.sleep(0.05)
        raise AssertionError(f"not ready within {within}s:\n{self.log()}")

    def worker_pids(self) -> list[int]:
        """Return the live workers' pids."""
        assert self.process is not None
        return children_of(self.process.pid)

    def kill_a_worker(self, other_than: list[int], within: float = 20.0) -> int:
        """Once the master has all its workers, SIGKILL one (none of `other_than`: a killed one may take a moment
        to die) and return its pid; one that exits on its own between the listing and the kill is passed over."""
        deadline = time.monotonic() + within
        while True:
            workers = self.worker_pids()
            candidates = [pid for pid in workers if pid not in other_than]
            if len(workers) == self.workers and candidates:
                try:
                    os.kill(candidates[0], signal.SIGKILL)
                    return candidates[0]
                except ProcessLookupError:
                    pass  # it had just exited: the master is replacing it
            assert time.monotonic() < deadline, f"no worker to kill among {workers}:\n{self.log()}"
            time.sleep(0.05)

    def wait_workers(self, count: int, within: float = 20.0) -> list[int]:
        """Wait until the master has `count` workers (it replaces dead ones) and return their pids."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            pids = self.worker_pids()
            if len(pids) == count:
                return pids
            time.sleep(0.1)
        raise AssertionError(f"expected {count} workers, have {self.worker_pids()}:\n{self.log()}")

    def stop(self) -> None:
        """SIGTERM the master and wait for a graceful exit; SIGKILL its process group if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group this test started, and only it
            self.process.wait(timeout=10)

    def log(self) -> str:
        """Return the end of the server's output."""
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""


@contextmanager
def demo_site(workdir: Path, workers: int) -> Iterator[tuple[Server, dict[str, str]]]:
    """The demo loaded into a SQLite file under gunicorn on a free port, with the demo users' passwords."""
    from service.content import demo
    database = f"sqlite:///{workdir / 'browser.sqlite3'}"
    tokens = workdir / "demo-tokens.txt"
    cli(database, "init", cwd=workdir)
    cli(database, "demo", "--tokens-file", str(tokens), cwd=workdir)
    passwords = {name: password for name, _, password, _ in demo.read_tokens(tokens).users}
    with Server(database, workdir, workers=workers) as server:
        yield server, passwords
