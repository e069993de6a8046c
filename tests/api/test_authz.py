"""Who may do what: every write and read endpoint against every role, no token and a bad token."""
from __future__ import annotations

import itertools
import re

import pytest

from tests.support import DATABASES, ROLE_USERS, FakeClock, bearer
from tests.support.api import signing
from tests.support.apps import add_tokens, running_app

API = "/api/v1/policies"
PEOPLE = (*ROLE_USERS, "none", "bad")
RULE = {"approvals": 1, "roles": ["approver"]}
SECTIONS = [{"kind": "paragraph", "text": "Ар бир кызматкер өз ишинин сапаты үчүн жеке жоопкерчилик тартат."}]
_numbers = itertools.count(1)


@pytest.fixture(scope="module", params=DATABASES)
def world(request, databases, tmp_path_factory):
    """One app and its users per database for the whole module; each case works on a policy of its own."""
    with databases.lend(request.param, tmp_path_factory.mktemp("authz")) as url, \
            running_app(url, CLOCK=FakeClock()) as app:
        tokens = add_tokens(app)
        tokens["bad"] = "not-a-token-anyone-was-given"
        yield app, tokens


def headers(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {} if who == "none" else bearer(tokens[who])


def call(client, tokens, who: str, path: str, body: dict, status: int = 0) -> dict:
    response = client.post(API + path, json=body, headers=headers(tokens, who))
    if status:
        assert response.status_code == status, response.get_data(as_text=True)
    return response.json


class Stage:
    """A fresh policy brought to the point where one endpoint can be tried."""

    def __init__(self, client, tokens) -> None:
        self.client, self.tokens = client, tokens
        self.pid = f"authz-{next(_numbers)}"

    def as_(self, who: str, path: str, body: dict, status: int) -> dict:
        return call(self.client, self.tokens, who, path, body, status)

    def created(self) -> str:
        body = {"id": self.pid, "title": "Сапат саясаты", "language": "ky", "review_interval_days": 365,
                "approval_rule": RULE, "sections": SECTIONS}
        return self.as_("author", "", body, 201)["draft_revision_id"]

    def draft(self, changed: bool = True) -> str:
        self.published()
        rid = self.as_("author", f"/{self.pid}/revisions", {"summary": "Түзөтүү"}, 201)["id"]
        if changed:
            self.as_("author", f"/{self.pid}/revisions/{rid}/changes",
                     {"changes": [{"op": "retitle", "title": "Жаңы аталыш"}]}, 200)
        return rid

    def in_review(self) -> str:
        rid = self.draft()
        self.as_("author", f"/{self.pid}/revisions/{rid}/submit", {"reviewers": ["reviewer1", "reviewer2"]}, 200)
        return rid

    def approved(self) -> str:
        rid = self.draft()
        self.as_("author", f"/{self.pid}/revisions/{rid}/submit", {"reviewers": []}, 200)
        self.as_("approver", f"/{self.pid}/revisions/{rid}/approvals", signing("approved"), 201)
        return rid

    def published(self) -> None:
        if not hasattr(self, "_published"):
            rid = self.created()
            self.as_("author", f"/{self.pid}/revisions/{rid}/submit", {"reviewers": []}, 200)
            self.as_("approver", f"/{self.pid}/revisions/{rid}/approvals", signing("approved"), 201)
            self.as_("approver2", f"/{self.pid}/revisions/{rid}/publish", {}, 201)
            self._published = True


def _create(stage: Stage) -> tuple[str, dict]:
    return "", {"id": stage.pid, "title": "Саясат", "language": "ky", "review_interval_days": 365}


def _open(stage: Stage) -> tuple[str, dict]:
    stage.published()
    return f"/{stage.pid}/revisions", {"summary": "Жаңы долбоор"}


def _on_draft(action: str, body: dict, changed: bool = True):
    return lambda stage: (f"/{stage.pid}/revisions/{stage.draft(changed)}/{action}", body)


def _on_review(action: str, body: dict):
    return lambda stage: (f"/{stage.pid}/revisions/{stage.in_review()}/{action}", body)


def _on_policy(action: str, body: dict):
    def prepare(stage: Stage) -> tuple[str, dict]:
        stage.published()
        return f"/{stage.pid}/{action}", body
    return prepare


# endpoint -> (how to get there, the people it answers 2xx for, with that status); everyone else with a
# valid token is refused with 403, and no or a bad token with 401.
WRITES = {
    "create policy": (_create, {"author": 201, "author2": 201}),
    "open revision": (_open, {"author": 201, "author2": 201}),
    "change": (_on_draft("changes", {"changes": [{"op": "retitle", "title": "Башка"}]}, changed=False),
               {"author": 200}),
    "submit": (_on_draft("submit", {"reviewers": []}), {"author": 200}),
    "withdraw": (_on_draft("withdraw", {"reason": "Керек эмес"}), {"author": 200}),
    "review": (_on_review("reviews", {"verdict": "approve", "comment": "ок"}), {"reviewer": 201, "reviewer2": 201}),
    "approve": (_on_review("approvals", signing("approved as rector")), {"approver": 201, "approver2": 201}),
    "reject": (_on_review("reject", {"reason": "Жобо милдеттүү"}), {"approver": 200, "approver2": 200}),
    "publish": (lambda stage: (f"/{stage.pid}/revisions/{stage.approved()}/publish", {}),
                {"approver": 201, "approver2": 201}),
    "assign": (_on_policy("responsibilities", {"action": "assign", "party": "Сапат бөлүмү", "party_kind": "unit",
                                               "duty": "жооптуу"}), {"admin": 201}),
    "periodic review": (_on_policy("periodic-reviews", {"outcome": "no_change", "notes": "Баары туура"}),
                        {"approver": 201, "approver2": 201}),
    "acknowledge": (_on_policy("acknowledgements", {"version": 1}), dict.fromkeys(ROLE_USERS, 201)),
    "start campaign": (_on_policy("versions/1/campaigns", {"roles": ["staff"], "due": "2030-01-01T00:00:00Z"}),
                       {"admin": 201}),
    "open retirement": (_on_policy("revisions", {"summary": "Күчүн жоготот", "retire": True}),
                        {"author": 201, "author2": 201}),
}


def expected(allowed: dict[str, int], who: str) -> int:
    if who in ("none", "bad"):
        return 401
    return allowed.get(who, 403)


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize("endpoint", WRITES)
def test_each_write_answers_each_role_as_the_rules_say_and_a_refusal_writes_nothing(world, endpoint, who):
    app, tokens = world
    client = app.test_client()
    prepare, allowed = WRITES[endpoint]
    path, body = prepare(Stage(client, tokens))
    store = app.extensions["policy_ledger"].store
    before = store.head()[0]
    response = client.post(API + path, json=body, headers=headers(tokens, who))
    assert response.status_code == expected(allowed, who), response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        assert store.head()[0] == before
    else:
        assert store.head()[0] > before
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.fixture(scope="module")
def readable(world) -> tuple[str, str, str]:
    """A published policy with an open draft: (policy id, revision id, section id)."""
    app, tokens = world
    stage = Stage(app.test_client(), tokens)
    rid = stage.draft()
    document = app.test_client().get(f"{API}/{stage.pid}").json
    return stage.pid, rid, document["sections"][0]["id"]


PUBLIC_READS = ("", "/{pid}", "/{pid}?version=1", "/{pid}/versions", "/{pid}/versions/1", "/{pid}/diff?from=1&to=1",
                "/{pid}/sections/{sid}/history")
STAFF_READS = ("/{pid}/revisions", "/{pid}/revisions/{rid}", "/{pid}/history", "/{pid}/responsibilities",
               "/{pid}/acknowledgements?person=dean")


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize("path", PUBLIC_READS + STAFF_READS)
def test_published_content_is_public_staff_reads_need_a_token_and_a_bad_token_is_always_401(world, readable, path,
                                                                                            who):
    app, tokens = world
    pid, rid, sid = readable
    response = app.test_client().get(API + path.format(pid=pid, rid=rid, sid=sid), headers=headers(tokens, who))
    if who == "bad" or (who == "none" and path in STAFF_READS):
        assert response.status_code == 401
        assert response.mimetype == "application/problem+json"
    else:
        assert response.status_code == 200, response.get_data(as_text=True)


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")
STAFF_MAY_WRITE = {("POST", "/api/v1/policies/<pid>/acknowledgements")}


def _write_routes(app) -> list[tuple[str, str]]:
    """Every write the API serves, as (method, rule), read from the app's URL map rather than listed by hand."""
    return sorted({(method, rule.rule) for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
                   for method in rule.methods or () if method in WRITE_METHODS})


def test_the_staff_role_is_refused_every_write_of_the_api_but_the_acknowledgement(world):
    app, tokens = world
    client = app.test_client()
    stage = Stage(client, tokens)
    stage.published()
    store = app.extensions["policy_ledger"].store
    routes = _write_routes(app)
    assert set(routes) >= STAFF_MAY_WRITE and len(routes) > len(STAFF_MAY_WRITE)
    for method, rule in routes:
        if (method, rule) in STAFF_MAY_WRITE:
            continue
        path = re.sub(r"<[^>]+>", "1", rule.replace("<pid>", stage.pid))
        before = store.head()[0]
        response = client.open(path, method=method, json={}, headers=headers(tokens, "staff"))
        assert response.status_code == 403, (method, rule, response.get_data(as_text=True))
        assert response.mimetype == "application/problem+json"
        assert store.head()[0] == before
    acknowledged = client.post(f"{API}/{stage.pid}/acknowledgements", json={"version": 1},
                               headers=headers(tokens, "staff"))
    assert acknowledged.status_code == 201 and acknowledged.json["person"] == ROLE_USERS["staff"][0]


def test_the_staff_role_reads_the_staff_endpoints(world, readable):
    app, tokens = world
    pid, rid, _ = readable
    for path in STAFF_READS:
        response = app.test_client().get(API + path.format(pid=pid, rid=rid), headers=headers(tokens, "staff"))
        assert response.status_code == 200, (path, response.get_data(as_text=True))
