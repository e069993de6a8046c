"""Every file in deploy/ is checked by the tool that will read it, and the operator's guide by doing what it says."""
from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy

from service.config import SETTINGS
from tests.support import REPO, SEED_POLICY, create_postgres_database, drop_postgres_database
from tests.support.servers import COMMAND, Server, add_user, cli, free_port, self_signed

DEPLOY = REPO / "deploy"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
UNIT = DEPLOY / "policy-ledger.service"
WORKER_UNIT = DEPLOY / "policy-ledger-worker.service"
SITE = DEPLOY / "nginx" / "policy-ledger.conf"
ENV_TEMPLATE = DEPLOY / "policy-ledger.env.example"
GUIDE = DEPLOY / "OPERATIONS.md"
NGINX_MISSING = "nginx is not installed here (apt-get install nginx-light runs this check)"


# ---- gunicorn.conf.py ---------------------------------------------------------------------------

def load_gunicorn_config(monkeypatch, **env: str):
    """Load deploy/gunicorn.conf.py the way gunicorn does and return its settings."""
    from gunicorn.app.wsgiapp import WSGIApplication
    for name in ("WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "FORWARDED_ALLOW_IPS", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(sys, "argv", ["gunicorn", "--config", str(GUNICORN_CONF), "service:create_app()"])
    return WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg


def test_the_gunicorn_config_loads_with_production_settings(monkeypatch, tmp_path):
    cfg = load_gunicorn_config(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert cfg.workers == min(2 * (os.cpu_count() or 1) + 1, 12)
    assert cfg.preload_app is False  # engines must never cross a fork
    assert cfg.timeout == 30 and cfg.graceful_timeout == 30 and cfg.keepalive == 5
    assert cfg.max_requests > 0 and 0 < cfg.max_requests_jitter < cfg.max_requests
    assert "%({x-request-id}o)s" in cfg.access_log_format
    if Path("/dev/shm").is_dir():
        assert cfg.worker_tmp_dir == "/dev/shm"
    assert load_gunicorn_config(monkeypatch, WEB_CONCURRENCY="3", PROMETHEUS_MULTIPROC_DIR=str(tmp_path)).workers == 3


def test_a_started_worker_leaves_what_it_made_at_start_out_of_later_collections(monkeypatch, tmp_path):
    import gc
    cfg = load_gunicorn_config(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    assert gc.get_freeze_count() == 0
    try:
        cfg.post_worker_init(SimpleNamespace())
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_gunicorn_config_keeps_metrics_files_for_one_run_only(monkeypatch, tmp_path):
    chosen = tmp_path / "metrics"
    chosen.mkdir()
    (chosen / "counter_4242.db").write_bytes(b"stale")
    (chosen / "gauge_livemostrecent_4343.db").write_bytes(b"a worker's live gauge")
    cfg = load_gunicorn_config(monkeypatch, PROMETHEUS_MULTIPROC_DIR=str(chosen))
    cfg.child_exit(None, SimpleNamespace(pid=4343))
    assert not (chosen / "gauge_livemostrecent_4343.db").exists()
    cfg.on_starting(None)
    assert list(chosen.iterdir()) == []
    cfg.on_exit(None)
    assert chosen.is_dir()  # an operator's directory is emptied, never removed

    cfg = load_gunicorn_config(monkeypatch)
    own = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert own.is_dir() and own.name.startswith("policy-ledger-metrics-")
    cfg.on_exit(None)
    assert not own.exists()


# ---- systemd ------------------------------------------------------------------------------------

def test_the_systemd_unit_passes_systemd_analyze_verify(tmp_path):
    text = UNIT.read_text()
    assert "ExecStart=/opt/policy-ledger/venv/bin/policy-ledger serve" in text
    assert "EnvironmentFile=/etc/policy-ledger/policy-ledger.env" in text
    assert re.search(r"^User=policy-ledger$", text, re.M) and "NoNewPrivileges=yes" in text
    _passes_systemd_analyze_verify(UNIT, text, tmp_path)


def test_the_worker_unit_runs_the_worker_as_the_service_user_and_passes_systemd_analyze_verify(tmp_path):
    text = WORKER_UNIT.read_text()
    assert re.search(r"^ExecStart=/opt/policy-ledger/venv/bin/policy-ledger worker$", text, re.M)
    assert "EnvironmentFile=/etc/policy-ledger/policy-ledger.env" in text and "KillSignal=SIGTERM" in text
    assert re.search(r"^User=policy-ledger$", text, re.M) and "NoNewPrivileges=yes" in text
    _passes_systemd_analyze_verify(WORKER_UNIT, text, tmp_path)


def _passes_systemd_analyze_verify(shipped: Path, text: str, tmp_path: Path) -> None:
    """Check a unit with `systemd-analyze verify`: skipped, saying why, where the tool is missing, and failed
    there instead under POLICY_LEDGER_REQUIRE_SYSTEMD=1 (CI installs it)."""
    if shutil.which("systemd-analyze") is None:
        why = "systemd-analyze is not installed here (Debian's systemd package has it)"
        if os.environ.get("POLICY_LEDGER_REQUIRE_SYSTEMD") == "1":
            pytest.fail(f"POLICY_LEDGER_REQUIRE_SYSTEMD=1 but {why}")
        pytest.skip(why)
    # The unit names the production path; here the venv's own command stands in, so the check can find it.
    unit = tmp_path / shipped.name
    unit.write_text(text.replace("/opt/policy-ledger/venv/bin/policy-ledger", str(COMMAND)))
    done = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    complaints = [line for line in (done.stdout + done.stderr).splitlines() if shipped.name in line]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr


# ---- nginx --------------------------------------------------------------------------------------



def nginx_config(directory: Path, *, upstream: int = 8000, http: int = 80, https: int = 443) -> Path:
    """Write the shipped site, its placeholders pointed into `directory`, inside a minimal nginx.conf."""
    cert, key = self_signed(directory, "fullchain.pem", "privkey.pem")
    site = SITE.read_text()
    for placeholder, here in {"/etc/ssl/policy-ledger/fullchain.pem": str(cert),
                              "/etc/ssl/policy-ledger/privkey.pem": str(key),
                              "/var/cache/nginx/policy-ledger": str(directory / "cache"),
                              "/var/log/nginx/": f"{directory}/",
                              "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream};",
                              "    listen [::]:80;\n": "", "    listen [::]:443 ssl http2;\n": "",
                              "listen 80;": f"listen 127.0.0.1:{http};",
                              "listen 443 ssl http2;": f"listen 127.0.0.1:{https} ssl http2;"}.items():
        assert placeholder in site, placeholder
        site = site.replace(placeholder, here)
    (directory / "site.conf").write_text(site)
    wrapper = directory / "nginx.conf"
    wrapper.write_text(f"user root;\nworker_processes 1;\npid {directory}/nginx.pid;\n"
                       f"error_log {directory}/error.log;\nevents {{}}\nhttp {{ include {directory}/site.conf; }}\n")
    return wrapper


def test_the_nginx_site_matches_the_app():
    site = SITE.read_text()
    assert re.search(r"client_max_body_size 1m;", site) and SETTINGS["MAX_CONTENT_LENGTH"][0] == 1024 * 1024
    for directive in ("proxy_cache_revalidate on;", "proxy_cache_bypass $http_authorization;",
                      "proxy_no_cache $http_authorization;", "proxy_set_header X-Request-ID",
                      "proxy_set_header X-Forwarded-Proto $scheme;"):
        assert directive in site


def test_the_nginx_site_passes_nginx_t(tmp_path):
    if shutil.which("nginx") is None:
        pytest.skip(NGINX_MISSING)
    wrapper = nginx_config(tmp_path)
    done = subprocess.run(["nginx", "-t", "-c", str(wrapper), "-p", str(tmp_path), "-e", str(tmp_path / "error.log")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr


@pytest.mark.slow
def test_nginx_caches_public_reads_revalidates_them_and_never_caches_tokens(tmp_path):
    if shutil.which("nginx") is None:
        pytest.skip(NGINX_MISSING)
    database = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    cli(database, "init", cwd=tmp_path)
    add_user(database, "quality-office", "author", "admin", cwd=tmp_path)
    cli(database, "import", str(SEED_POLICY), "--id", "oshsu-quality", "--actor", "quality-office", "--publish",
        cwd=tmp_path)
    token = add_user(database, "auditor", "auditor", cwd=tmp_path)
    http, https = free_port(), free_port()
    with Server(database, tmp_path, workers=1) as server:
        wrapper = nginx_config(tmp_path, upstream=server.port, http=http, https=https)
        nginx = subprocess.Popen(["nginx", "-c", str(wrapper), "-p", str(tmp_path), "-e", str(tmp_path / "error.log"),
                                  "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base, cert = f"https://127.0.0.1:{https}", str(tmp_path / "fullchain.pem")

            def get(path: str, **headers: str) -> requests.Response:
                deadline = time.monotonic() + 15
                while True:
                    try:
                        return requests.get(base + path, headers=headers, verify=cert, timeout=10,
                                            allow_redirects=False)
                    except requests.ConnectionError:
                        assert time.monotonic() < deadline and nginx.poll() is None, (
                            (tmp_path / "error.log").read_text())
                        time.sleep(0.2)

            policy = "/api/v1/policies/oshsu-quality"
            first, second = get(policy), get(policy)
            assert first.status_code == second.status_code == 200, first.text
            assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == ("MISS", "HIT")
            assert second.json() == first.json() and "ө" in second.text
            assert get(policy, Authorization=f"Bearer {token}").headers["X-Cache-Status"] == "BYPASS"
            assert get(policy, **{"X-Request-ID": "cached-read-1"}).headers["X-Request-ID"] == "cached-read-1"
            assert get("/health", **{"X-Request-ID": "via-nginx-1"}).headers["X-Request-ID"] == "via-nginx-1"
            made = get("/health", **{"X-Request-ID": "not a sane id"}).headers["X-Request-ID"]
            assert re.fullmatch(r"[0-9a-f]{32}", made)  # nginx's own id, kept by the app
            assert get("/metrics").status_code == 200  # from this host
            too_big = requests.post(base + "/api/v1/policies", data=b"x" * (1024 * 1024 + 1), verify=cert, timeout=10,
                                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
            assert too_big.status_code == 413
            redirect = requests.get(f"http://127.0.0.1:{http}/api/v1/policies", allow_redirects=False, timeout=10)
            assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")
            # (The checks above touch other paths, while the policy's cached read ages.)
            # Past the 5 s the site keeps a read (nginx counts whole seconds), it asks the app with the ETag it holds.
            deadline, seen = time.monotonic() + 10, []
            while "REVALIDATED" not in seen and time.monotonic() < deadline:
                time.sleep(0.2)
                seen.append(get(policy).headers["X-Cache-Status"])
            assert seen[-1] == "REVALIDATED" and set(seen[:-1]) <= {"HIT"}, seen
        finally:
            nginx.send_signal(signal.SIGQUIT)  # graceful stop of the nginx this test started
            try:
                nginx.wait(timeout=15)
            except subprocess.TimeoutExpired:
                nginx.kill()
                nginx.wait(timeout=5)
    assert "request_id=via-nginx-1" in server.log_path.read_text()


# ---- the environment template -------------------------------------------------------------------

def template_entries() -> dict[str, str]:
    """Return NAME -> value for every variable the template sets or shows commented out."""
    return dict(re.findall(r"^#?([A-Z][A-Z0-9_]+)=(.*)$", ENV_TEMPLATE.read_text(), re.M))


def test_the_env_template_lists_exactly_the_settings_of_the_app():
    entries = template_entries()
    assert {name for name in entries if name.startswith("POLICY_LEDGER_")} == {f"POLICY_LEDGER_{n}" for n in SETTINGS}
    others = {name for name in entries if not name.startswith("POLICY_LEDGER_")}
    gunicorn_conf = GUNICORN_CONF.read_text()
    assert others and all(f'"{name}"' in gunicorn_conf for name in others), others


def test_the_env_template_values_are_ones_the_app_accepts(monkeypatch, tmp_path):
    from service.config import from_environment
    for name, value in template_entries().items():
        monkeypatch.setenv(name, value)
    config = from_environment(str(tmp_path))
    assert config["MAX_CONTENT_LENGTH"] == SETTINGS["MAX_CONTENT_LENGTH"][0]
    assert config["DATABASE_URL"].startswith("sqlite:////var/lib/policy-ledger/")
    assert config["ANONYMOUS_READS"] is True and config["DB_POOL_SIZE"] == 5


# ---- the operator's guide -----------------------------------------------------------------------

def test_the_guide_names_only_commands_that_exist():
    from service import create_app
    commands = set(create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).cli.commands)
    named = set(re.findall(r"\bpl (\w[\w-]*)", GUIDE.read_text()))
    assert {"init", "users", "verify", "checkpoint", "rebuild", "keys"} <= named
    assert named <= commands, named - commands


def guide_block(marker: str) -> str:
    """Return the shell line of the guide that starts with `marker` (joined across backslash breaks)."""
    text = GUIDE.read_text().replace("\\\n", " ")
    return next(line.strip() for line in text.splitlines() if line.strip().startswith(marker))


def verified_count(database_url: str, workdir: Path) -> int:
    out = cli(database_url, "verify", cwd=workdir)
    return int(re.search(r"ok: (\d+) events verified", out).group(1))


def checkpoint_of(database_url: str, workdir: Path) -> tuple[int, str]:
    out = cli(database_url, "checkpoint", cwd=workdir)
    found = re.search(r"position (\d+) hash ([0-9a-f]{64})", out)
    return int(found.group(1)), found.group(2)


@pytest.mark.slow
def test_a_sqlite_backup_made_as_the_guide_says_restores_and_verifies(tmp_path):
    source, copy = tmp_path / "live.sqlite3", tmp_path / "backup.sqlite3"
    url = f"sqlite:///{source}"
    cli(url, "init", cwd=tmp_path)
    cli(url, "demo", "--tokens-file", str(tmp_path / "tokens.txt"), cwd=tmp_path)
    position, head_hash = checkpoint_of(url, tmp_path)
    # The guide's command, with the venv's Python and these paths.
    command = guide_block("sudo -u policy-ledger /opt/policy-ledger/venv/bin/python -c")
    script = re.search(r"-c '([^']+)'", command).group(1)
    subprocess.run([sys.executable, "-c", script, str(source), str(copy)], check=True, timeout=60)

    restored = f"sqlite:///{copy}"
    cli(restored, "init", cwd=tmp_path)
    assert verified_count(restored, tmp_path) == position
    assert checkpoint_of(restored, tmp_path) == (position, head_hash)
    with sqlite3.connect(copy) as connection, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        connection.execute("DELETE FROM events WHERE position = 1")


@pytest.mark.slow
@pytest.mark.postgres
def test_a_postgresql_backup_made_as_the_guide_says_restores_and_verifies(postgres, tmp_path):
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed here (Debian's postgresql-client has it)")
    assert "pg_dump --format=custom" in GUIDE.read_text() and "pg_restore --no-owner" in GUIDE.read_text()
    live, restored = create_postgres_database(), create_postgres_database()
    try:
        cli(live, "init", cwd=tmp_path)
        cli(live, "demo", "--tokens-file", str(tmp_path / "tokens.txt"), cwd=tmp_path)
        position, head_hash = checkpoint_of(live, tmp_path)
        dump = tmp_path / "ledger.dump"
        libpq = lambda url: url.replace("postgresql+psycopg://", "postgresql://")  # noqa: E731
        subprocess.run(["pg_dump", "--format=custom", f"--file={dump}", libpq(live)], check=True, timeout=120)
        subprocess.run(["pg_restore", "--no-owner", f"--dbname={libpq(restored)}", str(dump)], check=True, timeout=120)

        cli(restored, "init", cwd=tmp_path)
        assert verified_count(restored, tmp_path) == position
        assert checkpoint_of(restored, tmp_path) == (position, head_hash)
        engine = sqlalchemy.create_engine(restored)
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql("TRUNCATE events")
        engine.dispose()
    finally:
        drop_postgres_database(live)
        drop_postgres_database(restored)


def test_the_guide_and_the_deploy_files_name_each_other():
    guide = GUIDE.read_text()
    for path in (GUNICORN_CONF, UNIT, WORKER_UNIT, SITE, ENV_TEMPLATE):
        assert path.name in guide, path.name
