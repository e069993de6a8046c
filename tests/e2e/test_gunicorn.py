"""The service under a real gunicorn with two workers: a policy's whole life over HTTP, request ids and metrics."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support import PASSWORD
from tests.support.servers import Server, add_user, cli

pytestmark = pytest.mark.slow

API = "/api/v1"
SECTIONS = [
    {"kind": "heading", "title": "ОшМУнун миссиясы:", "text": "", "children": [
        {"kind": "item", "label": "•", "text": "билим берүүнүн сапатын камсыздоо;"},
        {"kind": "item", "label": "•", "text": "илимий-педагогикалык кадрларды даярдоо."}]},
    {"kind": "paragraph", "text": "Ар бир кызматкер өз компетенциясынын чегинде иштин сапаты үчүн жеке жооп берет."},
]


def metric(text: str, name: str, **labels: str) -> float:
    """Return the sum of the samples named `name` whose labels include `labels`."""
    return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()))


class Client:
    """A requests session speaking for one user."""

    def __init__(self, base: str, token: str | None = None) -> None:
        self.base, self.session = base, requests.Session()
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def post(self, path: str, body: dict, **headers: str) -> requests.Response:
        return self.session.post(self.base + API + path, json=body, headers=headers, timeout=30)

    def get(self, path: str, **headers: str) -> requests.Response:
        return self.session.get(self.base + API + path, headers=headers, timeout=30)


def test_a_policy_lives_its_whole_life_over_http_under_two_workers(served_database, tmp_path):
    # Run from a directory that is not the project: `serve` must find its gunicorn.conf.py on its own.
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    cli(served_database, "init", cwd=workdir)
    tokens = {name: add_user(served_database, name, role, cwd=workdir) for name, role in
              [("dean", "author"), ("reviewer1", "reviewer"), ("qa-director", "approver"), ("rector", "approver"),
               ("auditor", "auditor")]}
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left by an earlier run")

    with Server(served_database, workdir, workers=2, PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)) as server:
        assert not (metrics_dir / "counter_999999.db").exists()
        author, reviewer = Client(server.url, tokens["dean"]), Client(server.url, tokens["reviewer1"])
        qa, rector = Client(server.url, tokens["qa-director"]), Client(server.url, tokens["rector"])

        created = author.post("/policies", {
            "id": "oshsu-quality", "title": "Билим берүүнүн сапаты саясаты", "language": "ky",
            "review_interval_days": 365, "approval_rule": {"approvals": 2, "roles": ["approver"]},
            "sections": SECTIONS}, **{"X-Request-ID": "create-oshsu-1"})
        assert created.status_code == 201, created.text
        assert created.headers["X-Request-ID"] == "create-oshsu-1"
        rid = created.json()["draft_revision_id"]
        revision = f"/policies/oshsu-quality/revisions/{rid}"

        steps = [(author, "/submit", {"reviewers": ["reviewer1"]}, 200),
                 (reviewer, "/reviews", {"verdict": "approve", "comment": "Макулмун"}, 201),
                 (qa, "/approvals", {"password": PASSWORD, "meaning": "approved as quality assurance director",
                                     "comment": "ок"}, 201),
                 (rector, "/approvals", {"password": PASSWORD, "meaning": "approved as rector",
                                         "comment": "Бекитемин"}, 201),
                 (rector, "/publish", {"reason": "Окумуштуулар кеңешинин чечими"}, 201)]
        for who, step, body, status in steps:
            response = who.post(revision + step, body)
            assert response.status_code == status, f"{step}: {response.text}"
        assert response.json()["version"] == 1

        anonymous = Client(server.url)
        in_force = anonymous.get("/policies/oshsu-quality")
        assert in_force.status_code == 200, in_force.text
        document = in_force.json()
        assert document["version"] == 1 and document["title"] == "Билим берүүнүн сапаты саясаты"
        assert document["sections"][0]["children"][1]["text"] == "илимий-педагогикалык кадрларды даярдоо."
        assert "ө" in in_force.text  # sent as written, not \u-escaped
        unchanged = anonymous.get("/policies/oshsu-quality", **{"If-None-Match": in_force.headers["ETag"]})
        assert unchanged.status_code == 304

        log = Client(server.url, tokens["auditor"]).get("/policies/oshsu-quality/events")
        assert log.status_code == 200, log.text
        first = log.json()["items"][0]
        assert first["type"] == "PolicyCreated" and first["meta"]["correlation_id"] == "create-oshsu-1"
        verified = Client(server.url, tokens["auditor"]).get("/ledger/verify").json()
        assert verified["ok"] and verified["events_checked"] > 0

        # Requests spread over both workers; /metrics must add up what each of them counted. Which worker
        # accepts a connection is the kernel's choice: on a busy machine one may take a whole burst, so
        # bursts go on (a bounded number) until both have served some.
        workers = server.worker_pids()
        assert len(workers) == 2
        sent = 0
        for _ in range(20):
            with ThreadPoolExecutor(max_workers=8) as pool:
                statuses = list(pool.map(lambda _: requests.get(server.url + "/health", timeout=10).status_code,
                                         range(60)))
            assert statuses == [200] * 60
            sent += 60
            with_files = {int(path.stem.rsplit("_", 1)[1]) for path in metrics_dir.glob("histogram_*.db")}
            if set(workers) <= with_files:
                break
        assert set(workers) <= with_files, "each worker should have served and counted requests"
        scraped = requests.get(server.url + "/metrics", timeout=10).text
        assert metric(scraped, "policy_ledger_http_request_duration_seconds_count", route="/health") == sent
        assert metric(scraped, "policy_ledger_events_appended_total", type="RevisionPublished") == 1
        assert metric(scraped, "policy_ledger_chain_verifications_total", outcome="ok") == 1
        assert metric(scraped, "policy_ledger_projection_lag_events") == 0
    assert server.process is not None and server.process.returncode == 0
    assert "request_id=create-oshsu-1" in server.log_path.read_text()  # gunicorn's access log carries the request id


def test_the_service_is_not_ready_until_init_has_run(served_database, tmp_path):
    server = Server(served_database, tmp_path, workers=1)
    try:
        server.start(ready=False)
        response = server.first_answer("/health/ready")
        assert response.status_code == 503
        assert "policy-ledger init" in response.json()["detail"]
        cli(served_database, "init", cwd=tmp_path)
        server.wait_ready()
    finally:
        server.stop()


def _publish(author: Client, reviewer: Client, qa: Client, rector: Client, revision: str) -> requests.Response:
    steps = [(author, "/submit", {"reviewers": ["reviewer1"]}), (reviewer, "/reviews", {"verdict": "approve"}),
             (qa, "/approvals", {"password": PASSWORD, "meaning": "approved"}),
             (rector, "/approvals", {"password": PASSWORD, "meaning": "approved"}),
             (rector, "/publish", {})]
    for who, step, body in steps:
        response = who.post(revision + step, body)
        assert response.status_code in (200, 201), f"{step}: {response.text}"
    return response


def test_the_visitors_page_shows_a_new_version_at_once_on_every_worker(served_database, tmp_path):
    # Each worker keeps the rendered page of the policy in force; a publication through any worker must
    # reach every visitor's next request, and a browser holding the old page's ETag must get the new page.
    workdir = tmp_path / "work"
    workdir.mkdir()
    cli(served_database, "init", cwd=workdir)
    tokens = {name: add_user(served_database, name, role, cwd=workdir) for name, role in
              [("dean", "author"), ("reviewer1", "reviewer"), ("qa-director", "approver"), ("rector", "approver")]}
    with Server(served_database, workdir, workers=2) as server:
        author, reviewer = Client(server.url, tokens["dean"]), Client(server.url, tokens["reviewer1"])
        qa, rector = Client(server.url, tokens["qa-director"]), Client(server.url, tokens["rector"])
        created = author.post("/policies", {
            "id": "oshsu-quality", "title": "Билим берүүнүн сапаты саясаты", "language": "ky",
            "review_interval_days": 365, "approval_rule": {"approvals": 2, "roles": ["approver"]},
            "sections": SECTIONS})
        assert created.status_code == 201, created.text
        _publish(author, reviewer, qa, rector,
                 f"/policies/oshsu-quality/revisions/{created.json()['draft_revision_id']}")
        page = server.url + "/policies/oshsu-quality?lang=ky"

        def visit(_: int, etag: str | None = None) -> requests.Response:
            headers = {"Accept": "text/html"} | ({"If-None-Match": etag} if etag else {})
            return requests.get(page, headers=headers, timeout=10)

        with ThreadPoolExecutor(max_workers=8) as pool:  # both workers render and keep the page
            first = list(pool.map(visit, range(40)))
        assert {r.status_code for r in first} == {200} and len({r.headers["ETag"] for r in first}) == 1
        old_etag = first[0].headers["ETag"]
        assert "өз компетенциясынын чегинде" in first[0].text

        paragraph = author.get("/policies/oshsu-quality").json()["sections"][1]["id"]
        opened = author.post("/policies/oshsu-quality/revisions", {"summary": "Жеке жоопкерчилик"})
        assert opened.status_code == 201, opened.text
        revision = f"/policies/oshsu-quality/revisions/{opened.json()['id']}"
        changed = author.post(revision + "/changes", {"changes": [
            {"op": "amend", "section_id": paragraph, "text": "Ар бир кызматкер иштин сапаты үчүн жооп берет."}]})
        assert changed.status_code == 200, changed.text
        assert _publish(author, reviewer, qa, rector, revision).json()["version"] == 2

        with ThreadPoolExecutor(max_workers=8) as pool:
            after = list(pool.map(visit, range(40)))
            revalidated = list(pool.map(lambda i: visit(i, old_etag), range(40)))
        for response in after + revalidated:
            assert response.status_code == 200
            assert "Ар бир кызматкер иштин сапаты үчүн жооп берет." in response.text
            assert response.headers["ETag"] != old_etag
