"""Faults under a real gunicorn: a worker killed mid-write, and the database going away and coming back."""
from __future__ import annotations

import threading
import time

import pytest
import requests
import sqlalchemy

from tests.support import POSTGRES_ADMIN_URL, create_postgres_database, drop_postgres_database
from tests.support.consistency import CHANGES, SECTIONS, WHOLE_APPENDS, check_log_is_whole
from tests.support.servers import Server, add_user, cli

pytestmark = pytest.mark.slow

API = "/api/v1"
THREADS, ROUNDS, KILLS = 4, 8, 3
LOAD_DEADLINE = 90.0


def write_load(base: str, token: str, thread: int, outcomes: list[tuple[str, int | str]], stop: threading.Event):
    """Create policies, open a revision on each and add sections to it; note every outcome, lost ones too."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    deadline = time.monotonic() + LOAD_DEADLINE
    for round_ in range(ROUNDS):
        if stop.is_set() or time.monotonic() > deadline:
            return
        pid = f"load-{thread}-{round_}"
        status, _ = post(session, base + API + "/policies", {
            "id": pid, "title": f"Жүктөм саясаты {pid}", "language": "ky", "review_interval_days": 365,
            "sections": SECTIONS})
        outcomes.append(("create", status))
        if status != 201:
            continue
        status, revision = post(session, base + API + f"/policies/{pid}/revisions", {"summary": "Жоболорду толуктоо"})
        outcomes.append(("open", status))
        if status != 201:
            continue
        status, _ = post(session, base + API + f"/policies/{pid}/revisions/{revision['id']}/changes",
                         {"changes": CHANGES})
        outcomes.append(("changes", status))


def post(session: requests.Session, url: str, body: dict) -> tuple[int | str, dict]:
    """POST JSON; return the status and body, or the error's name when the connection was lost."""
    try:
        response = session.post(url, json=body, timeout=30)
    except requests.RequestException as error:  # the worker died with the request in its hands
        return type(error).__name__, {}
    return response.status_code, response.json() if response.content else {}


def test_a_worker_killed_mid_write_leaves_no_partial_event(served_database, tmp_path):
    cli(served_database, "init", cwd=tmp_path)
    token = add_user(served_database, "dean", "author", cwd=tmp_path)
    outcomes: list[tuple[str, int | str]] = []
    stop = threading.Event()
    killed: list[int] = []
    with Server(served_database, tmp_path, workers=2) as server:
        threads = [threading.Thread(target=write_load, args=(server.url, token, n, outcomes, stop))
                   for n in range(THREADS)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(KILLS):
                deadline = time.monotonic() + 30
                while sum(1 for _, status in outcomes if status in (200, 201)) < 4 * (len(killed) + 1):
                    assert time.monotonic() < deadline, f"the load made no progress: {outcomes[-10:]}\n{server.log()}"
                    time.sleep(0.05)
                killed.append(server.kill_a_worker(other_than=killed))
        finally:
            for thread in threads:
                thread.join(timeout=LOAD_DEADLINE + 30)
            stop.set()
        assert not any(thread.is_alive() for thread in threads)
        survivors = server.wait_workers(2)
        assert not set(survivors) & set(killed), "the master replaces killed workers"
        assert requests.get(server.url + "/health/ready", timeout=10).status_code == 200

    statuses = [status for _, status in outcomes]
    assert statuses.count(201) + statuses.count(200) >= 4 * KILLS
    assert set(statuses) <= {200, 201, "ConnectionError", "ChunkedEncodingError"}, outcomes
    appends = check_log_is_whole(served_database, lambda types: types in WHOLE_APPENDS)
    created = sum(1 for types in appends if types[0] == "PolicyCreated")
    assert created >= sum(1 for step, status in outcomes if step == "create" and status == 201)


# ---- losing the database ------------------------------------------------------------------------
# PostgreSQL only: there the app holds network connections that can drop and a database that can vanish
# and return. A SQLite database is a file the worker opens itself; an open file does not "go away", and
# making it unreadable would test file permissions, not a lost connection.

def _admin() -> sqlalchemy.Engine:
    return sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")


def _terminate_backends(admin: sqlalchemy.Engine, name: str) -> None:
    """End every connection to a database and wait until they are gone."""
    query = "SELECT pid FROM pg_stat_activity WHERE datname = %(name)s AND pid <> pg_backend_pid()"
    deadline = time.monotonic() + 10
    with admin.connect() as connection:
        while pids := [row[0] for row in connection.exec_driver_sql(query, {"name": name})]:
            assert time.monotonic() < deadline, f"backends still there: {pids}"
            for pid in pids:
                connection.exec_driver_sql("SELECT pg_terminate_backend(%(pid)s)", {"pid": pid})
            time.sleep(0.1)


def _rename(admin: sqlalchemy.Engine, old: str, new: str) -> None:
    with admin.connect() as connection:
        connection.exec_driver_sql(f'ALTER DATABASE "{old}" RENAME TO "{new}"')


def _eventually(call, expected: int, within: float = 15.0) -> requests.Response:
    deadline = time.monotonic() + within
    while True:
        response = call()
        if response.status_code == expected or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


@pytest.mark.postgres
def test_losing_the_database_answers_503_and_recovers_by_itself(postgres, tmp_path):
    url = create_postgres_database()
    name = url.rsplit("/", 1)[1]
    away = name + "_away"
    admin = _admin()
    renamed = False
    try:
        cli(url, "init", cwd=tmp_path)
        headers = {"Authorization": f"Bearer {add_user(url, 'dean', 'author', cwd=tmp_path)}"}
        with Server(url, tmp_path, workers=1) as server:
            def create(pid: str) -> requests.Response:
                return requests.post(server.url + API + "/policies", headers=headers, timeout=30, json={
                    "id": pid, "title": "Сапат саясаты", "language": "ky", "review_interval_days": 365,
                    "sections": SECTIONS})

            def listing() -> requests.Response:
                return requests.get(server.url + API + "/policies", timeout=30)

            assert create("before").status_code == 201

            # Connections killed under the app: the pool notices on checkout and reconnects, nobody sees it.
            _terminate_backends(admin, name)
            assert listing().status_code == 200

            # The database gone altogether: every request that needs it gets a 503 problem document.
            _terminate_backends(admin, name)
            _rename(admin, name, away)
            renamed = True
            for response in (listing(), create("during")):
                assert response.status_code == 503, response.text
                assert response.headers["Content-Type"] == "application/problem+json"
                assert response.json()["type"].endswith("database_unavailable")
                assert response.headers["Retry-After"] == "5"
            assert requests.get(server.url + "/health/ready", timeout=10).status_code == 503
            assert requests.get(server.url + "/health", timeout=10).status_code == 200
            assert requests.get(server.url + "/metrics", timeout=10).status_code == 200

            # Back again: the same workers answer normally without a restart.
            _rename(admin, away, name)
            renamed = False
            assert _eventually(listing, 200).status_code == 200
            assert create("after").status_code == 201
            assert {item["id"] for item in listing().json()["items"]} == {"before", "after"}
            assert _eventually(lambda: requests.get(server.url + "/health/ready", timeout=10), 200).status_code == 200
    finally:
        if renamed:
            _terminate_backends(admin, away)
            _rename(admin, away, name)
        admin.dispose()
        drop_postgres_database(url)
