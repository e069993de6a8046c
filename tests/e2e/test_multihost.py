"""Two gunicorn masters, as on two app hosts, writing to one PostgreSQL database at once."""
from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.support import create_postgres_database, drop_postgres_database
from tests.support.consistency import CHANGES, SECTIONS, WHOLE_APPENDS, check_log_is_whole
from tests.support.servers import Server, add_user, cli

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

API = "/api/v1"
THREADS, REQUESTS = 4, 25
DEADLINE = 120.0
SHARED = ("shared-1", "shared-2")


def new_policy(pid: str) -> dict:
    return {"id": pid, "title": f"Жалпы саясат {pid}", "language": "ky", "review_interval_days": 365,
            "sections": SECTIONS}


class Load:
    """One thread's bounded mix of writes, sent to both masters in turn."""

    def __init__(self, masters: list[str], token: str, drafts: dict[str, str], etags: dict[str, str]) -> None:
        self.masters, self.drafts, self.etags = masters, drafts, dict(etags)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def run(self, thread: int) -> list[tuple[str, str, int]]:
        """Send REQUESTS requests; return (kind, subject, status) for each."""
        outcomes = []
        deadline = time.monotonic() + DEADLINE
        for k in range(REQUESTS):
            if time.monotonic() > deadline:
                break
            base = self.masters[(thread + k) % 2] + API
            shared = SHARED[k % 2]
            kind = ("create", "contested", "open", "change", "read")[k % 5]
            if kind == "create":
                subject = f"mh-{thread}-{k}"
                response = self.session.post(base + "/policies", json=new_policy(subject), timeout=30)
            elif kind == "contested":
                subject = f"contested-{k}"  # every thread tries this id, through either master
                response = self.session.post(base + "/policies", json=new_policy(subject), timeout=30)
            elif kind == "open":
                subject = shared
                response = self.session.post(base + f"/policies/{shared}/revisions",
                                             json={"summary": "Параллелдүү долбоор"}, timeout=30)
            elif kind == "change":
                subject = shared
                # If-Match from what this thread last saw: others have often moved the policy on since.
                response = self.session.post(base + f"/policies/{shared}/revisions/{self.drafts[shared]}/changes",
                                             json={"changes": CHANGES}, headers={"If-Match": self.etags[shared]},
                                             timeout=30)
            else:
                subject = shared
                response = self.session.get(base + f"/policies/{shared}/revisions/{self.drafts[shared]}", timeout=30)
            if kind in ("change", "read") and "ETag" in response.headers:
                self.etags[shared] = response.headers["ETag"]
            outcomes.append((kind, subject, response.status_code))
        return outcomes


def test_two_masters_on_one_database_keep_one_whole_log(postgres, tmp_path):
    url = create_postgres_database()
    try:
        outcomes = run_load(url, tmp_path)
        check_outcomes(url, outcomes)
    finally:
        drop_postgres_database(url)


def run_load(url: str, workdir) -> list[tuple[str, str, int]]:
    """Serve one database from two masters, seed two shared policies, and run the threads through both."""
    cli(url, "init", cwd=workdir)
    token = add_user(url, "dean", "author", cwd=workdir)
    auth = {"Authorization": f"Bearer {token}"}
    with Server(url, workdir, workers=2) as first, Server(url, workdir, workers=2) as second:
        drafts, etags = {}, {}
        for pid in SHARED:
            created = requests.post(first.url + API + "/policies", json=new_policy(pid), headers=auth, timeout=30)
            assert created.status_code == 201, created.text
            drafts[pid] = created.json()["draft_revision_id"]
            read = requests.get(second.url + API + f"/policies/{pid}/revisions/{drafts[pid]}", headers=auth, timeout=30)
            etags[pid] = read.headers["ETag"]
        loads = [Load([first.url, second.url], token, drafts, etags) for _ in range(THREADS)]
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            outcomes = [o for result in pool.map(lambda n: loads[n].run(n), range(THREADS)) for o in result]
        for server in (first, second):
            assert requests.get(server.url + "/health/ready", timeout=10).status_code == 200, server.log()
    return outcomes


def check_outcomes(url: str, outcomes: list[tuple[str, str, int]]) -> None:
    """Check the answers the clients got against the log the database holds."""
    assert len(outcomes) == THREADS * REQUESTS
    statuses = Counter(status for _, _, status in outcomes)
    assert set(statuses) <= {200, 201, 409, 412}, statuses
    contested = Counter((subject, status) for kind, subject, status in outcomes if kind == "contested")
    for subject in {subject for subject, _ in contested}:
        assert contested[(subject, 201)] == 1, f"{subject}: {contested}"
        assert contested[(subject, 409)] == THREADS - 1
    assert statuses[412] > 0, "a stale If-Match from the other master must be refused"

    appends = Counter(check_log_is_whole(url, lambda types: types in WHOLE_APPENDS))
    acknowledged = Counter(kind for kind, _, status in outcomes if status in (200, 201))
    create, opened, changed = (("PolicyCreated", "RevisionOpened", *["SectionAdded"] * len(SECTIONS)),
                               ("RevisionOpened",), ("SectionAdded",) * len(CHANGES))
    # Every acknowledged write is in the log exactly once, and nothing else is.
    assert appends[create] == acknowledged["create"] + acknowledged["contested"] + len(SHARED)
    assert appends[opened] == acknowledged["open"]
    assert appends[changed] == acknowledged["change"]
