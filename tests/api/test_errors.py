"""Whatever a client sends, the answer is a 4xx problem document naming what was wrong, and nothing is written."""
from __future__ import annotations

import json

import pytest

from tests.support import bearer
from tests.support.api import API, PID, get, ok, post, signing

PROBLEM = "application/problem+json"


def writes(draft: str) -> list[tuple[str, str, dict]]:
    """Every write endpoint: (token key, path, a valid body)."""
    base = f"/{PID}/revisions/{draft}"
    return [
        ("author", "", {"id": "new-policy", "title": "Саясат", "language": "ky", "review_interval_days": 365}),
        ("author", f"/{PID}/revisions", {"summary": "x"}),
        ("author", f"{base}/changes", {"changes": [{"op": "retitle", "title": "Жаңы"}]}),
        ("author", f"{base}/submit", {"reviewers": []}),
        ("reviewer", f"{base}/reviews", {"verdict": "approve"}),
        ("approver", f"{base}/approvals", signing("approved")),
        ("approver", f"{base}/publish", {}),
        ("approver", f"{base}/reject", {"reason": "жок"}),
        ("author", f"{base}/withdraw", {"reason": "жок"}),
        ("admin", f"/{PID}/responsibilities", {"action": "assign", "party": "x", "duty": "y"}),
        ("approver", f"/{PID}/periodic-reviews", {"outcome": "no_change"}),
        ("author", f"/{PID}/acknowledgements", {"version": 1}),
    ]


def assert_problem(response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.json["status"] == status and response.json["title"] and response.json["detail"]
    if field is not None:
        assert field in response.json.get("errors", {}), response.json


def test_malformed_json_is_a_400_on_every_write_and_writes_nothing(client, tokens, draft, store):
    before = store.head()[0]
    for who, path, _ in writes(draft):
        response = client.post(API + path, data='{"summary": "үзүлгөн', content_type="application/json",
                               headers=bearer(tokens[who]))
        assert_problem(response, 400)
    assert store.head()[0] == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_not_sent_as_json_is_a_415_on_every_write(client, tokens, draft, content_type, store):
    before = store.head()[0]
    for who, path, body in writes(draft):
        headers = {**bearer(tokens[who]), **({"Content-Type": content_type} if content_type else {})}
        response = client.post(API + path, data=json.dumps(body), headers=headers)
        assert_problem(response, 415, "Content-Type")
    assert store.head()[0] == before


def test_an_unknown_field_is_a_422_naming_it_on_every_write(client, tokens, draft, store):
    before = store.head()[0]
    for who, path, body in writes(draft):
        assert_problem(post(client, tokens[who], path, {**body, "колдонуучу": 1}), 422, "колдонуучу")
    assert store.head()[0] == before


@pytest.mark.parametrize("body", [[], "текст", 42, None, [{"summary": "x"}]])
def test_a_body_that_is_not_an_object_is_a_4xx_on_every_write(client, tokens, draft, body, store):
    before = store.head()[0]
    for who, path, _ in writes(draft):
        response = client.post(API + path, data=json.dumps(body), content_type="application/json",
                               headers=bearer(tokens[who]))
        assert response.status_code in (400, 422) and response.mimetype == PROBLEM
    assert store.head()[0] == before


def test_a_body_nested_absurdly_deep_is_a_400_not_a_crash(client, tokens, draft):
    deep = {"children": []}
    node = deep
    for _ in range(300):
        node["children"] = [{"kind": "item", "text": "ү", "children": []}]
        node = node["children"][0]
    for who, path, _ in writes(draft):
        assert_problem(post(client, tokens[who], path, {"sections": [deep]}), 400)
    raw = "[" * 100_000 + "]" * 100_000
    response = client.post(API, data=raw, content_type="application/json", headers=bearer(tokens["author"]))
    assert response.status_code == 400


def test_a_body_over_the_size_limit_is_a_413(app, client, tokens, store):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = {"id": "big-policy", "title": "Чоң", "language": "ky", "review_interval_days": 1,
            "sections": [{"kind": "paragraph", "text": "ө" * limit}]}
    assert_problem(post(client, tokens["author"], "", body), 413)
    assert store.head()[0] == 0


BAD_POLICIES = [
    ({"title": "Саясат", "language": "ky", "review_interval_days": 365}, "id"),
    ({"id": "x", "title": "Саясат", "language": "ky", "review_interval_days": 365}, "id"),
    ({"id": "Bad Id", "title": "Саясат", "language": "ky", "review_interval_days": 365}, "id"),
    ({"id": "p-1", "language": "ky", "review_interval_days": 365}, "title"),
    ({"id": "p-1", "title": "   ", "language": "ky", "review_interval_days": 365}, "title"),
    ({"id": "p-1", "title": "Саясат", "language": "кыргызча", "review_interval_days": 365}, "language"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": "365"}, "review_interval_days"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": True}, "review_interval_days"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 36.5}, "review_interval_days"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 0}, "review_interval_days"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 2**40}, "review_interval_days"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 9,
      "approval_rule": {"approvals": 0}}, "approval_rule.approvals"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 9,
      "approval_rule": {"roles": ["author"]}}, "approval_rule.roles[0]"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 9,
      "sections": {"kind": "item"}}, "sections"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 9,
      "sections": [{"kind": "chapter", "text": "x"}]}, "sections[0].kind"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 9,
      "sections": [{"kind": "item", "text": "", "title": None}]}, "sections[0].text"),
    ({"id": "p-1", "title": "Саясат", "language": "ky", "review_interval_days": 9,
      "sections": [{"kind": "item", "text": "ok", "children": [{"kind": "item", "id": "s-1", "text": "x"}]}]},
     "sections[0].children[0].id"),
    ({"id": "p-1", "title": "Са\u0000ясат", "language": "ky", "review_interval_days": 9}, "title"),
]


def test_a_bad_policy_is_a_422_naming_the_field_and_creates_nothing(client, tokens, store):
    for body, field in BAD_POLICIES:
        assert_problem(post(client, tokens["author"], "", body), 422, field)
    assert store.head()[0] == 0


def test_a_policy_id_already_taken_is_a_409(client, tokens, published):
    body = {"id": PID, "title": "Экинчи", "language": "ky", "review_interval_days": 9}
    assert_problem(post(client, tokens["author"], "", body), 409, "id")


BAD_CHANGES = [
    ({"op": "rewrite"}, "changes[0].op"),
    ({"section_id": "s-1"}, "changes[0].op"),
    ({"op": "amend", "text": "x"}, "changes[0].section_id"),
    ({"op": "add", "text": "x"}, "changes[0].kind"),
    ({"op": "add", "kind": "item", "text": "x", "section_id": "s-mine"}, "changes[0].section_id"),
    ({"op": "remove", "section_id": "s-1", "text": "x"}, "changes[0].text"),
    ({"op": "retitle", "title": None}, "changes[0].title"),
    ({"op": "move", "section_id": 7}, "changes[0].section_id"),
    ({"op": "add", "kind": "item", "text": ["x"]}, "changes[0].text"),
]


def test_a_malformed_change_is_a_422_naming_the_change_and_field(client, tokens, draft, store):
    before = store.head()[0]
    for change, field in BAD_CHANGES:
        response = post(client, tokens["author"], f"/{PID}/revisions/{draft}/changes", {"changes": [change]})
        assert_problem(response, 422, field)
    assert store.head()[0] == before


def test_an_empty_change_list_is_a_422(client, tokens, draft):
    assert_problem(post(client, tokens["author"], f"/{PID}/revisions/{draft}/changes", {"changes": []}), 422,
                   "changes")


def test_a_bad_effective_date_is_a_422_naming_it(client, tokens, draft, store):
    before = store.head()[0]
    for value in ("2024-13-01T00:00:00Z", "2024-06-01", "2024-06-01T00:00:00", "вчера", 20240601,
                  "0001-01-01T00:00:00+01:00", "9999-12-31T23:00:00-05:00"):
        response = post(client, tokens["approver"], f"/{PID}/revisions/{draft}/publish", {"effective_from": value})
        assert_problem(response, 422, "effective_from")
    assert store.head()[0] == before


BAD_DOCUMENT_QUERIES = [
    ("at=yesterday", "at"), ("at=2024-06-01", "at"), ("at=2024-06-01T00:00:00", "at"),
    ("as_of=2024-02-30T00:00:00Z", "as_of"), ("version=two", "version"), ("version=0", "version"),
    ("version=1.5", "version"), ("version=99999999999999999999", "version"),
    ("version=1&at=2024-06-01T00:00:00Z", "version"), ("colour=blue", "colour"), ("limit=10", "limit"),
]


def test_a_bad_query_on_the_policy_document_is_a_422_naming_the_parameter(client, published):
    for query, field in BAD_DOCUMENT_QUERIES:
        assert_problem(client.get(f"{API}/{PID}?{query}"), 422, field)


@pytest.mark.parametrize("path", ["", f"/{PID}/versions", f"/{PID}/history", f"/{PID}/revisions",
                                  f"/{PID}/responsibilities"])
def test_a_bad_page_request_is_a_422_naming_the_parameter(client, tokens, published, path):
    for query, field in (("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"),
                         ("cursor=%%%", "cursor"), ("cursor=bm90LWpzb24", "cursor"), ("cursor=WzEsMiwzXQ", "cursor"),
                         ("sort=id", "sort")):
        assert_problem(get(client, tokens["auditor"], f"{path}?{query}"), 422, field)


def test_a_limit_of_exactly_500_is_accepted(client, tokens, published):
    assert ok(get(client, None, "?limit=500"))["items"]


def test_a_bad_diff_query_is_a_422_naming_the_parameter(client, published):
    for query, field in (("from=1", "to"), ("to=1", "from"), ("from=a&to=1", "from"),
                         ("from=1&to=1&context=3", "context")):
        assert_problem(client.get(f"{API}/{PID}/diff?{query}"), 422, field)


UNKNOWN = [
    "/no-such-policy", "/no-such-policy/versions", "/no-such-policy/versions/1", f"/{PID}/versions/2",
    f"/{PID}/versions/0", f"/{PID}/versions/-1", f"/{PID}/versions/99999999999999999999999",
    "/no-such-policy/diff?from=1&to=1", f"/{PID}/sections/s-nowhere/history", "/no-such-policy/sections/s/history",
    f"/{PID}/revisions/rev-nowhere", "/no-such-policy/revisions", "/no-such-policy/history",
    "/bad%00id", f"/{PID}/revisions/rev%00x", "/" + "x" * 300, f"/{PID}/sections/%E2%80%AE/history",
]


def test_an_unknown_id_is_a_404_problem(client, tokens, published):
    for path in UNKNOWN:
        assert_problem(get(client, tokens["auditor"], path), 404)


def test_a_write_to_an_unknown_policy_or_revision_is_a_404_and_writes_nothing(client, tokens, published, store):
    before = store.head()[0]
    assert_problem(post(client, tokens["author"], "/no-such-policy/revisions", {"summary": "x"}), 404)
    assert_problem(post(client, tokens["author"], f"/{PID}/revisions/rev-nowhere/changes",
                        {"changes": [{"op": "retitle", "title": "x"}]}), 404, "revision_id")
    assert_problem(post(client, tokens["reviewer"], f"/{PID}/revisions/rev-nowhere/reviews",
                        {"verdict": "approve"}), 404)
    assert_problem(post(client, tokens["admin"], f"/{PID}/responsibilities",
                        {"action": "revoke", "assignment_id": "asg-nowhere"}), 404, "assignment_id")
    assert store.head()[0] == before


def test_a_command_in_the_wrong_state_is_a_409(client, tokens, draft):
    assert_problem(post(client, tokens["reviewer"], f"/{PID}/revisions/{draft}/reviews", {"verdict": "approve"}),
                   409)
    assert_problem(post(client, tokens["approver"], f"/{PID}/revisions/{draft}/publish", {}), 409)


def test_bad_reviews_signatures_and_reviewers_are_422s_naming_the_field(client, tokens, draft, store):
    base = f"/{PID}/revisions/{draft}"
    for body, field in (({"reviewers": "reviewer1"}, "reviewers"), ({}, "reviewers"),
                        ({"reviewers": [""]}, "reviewers[0]"), ({"reviewers": [1]}, "reviewers[0]")):
        assert_problem(post(client, tokens["author"], f"{base}/submit", body), 422, field)
    ok(post(client, tokens["author"], f"{base}/submit", {"reviewers": []}))
    before = store.head()[0]
    for body, field in (({"verdict": "maybe"}, "verdict"), ({}, "verdict"),
                        ({"verdict": "approve", "comment": 5}, "comment"), ({"verdict": "request_changes"}, "comment")):
        assert_problem(post(client, tokens["reviewer"], f"{base}/reviews", body), 422, field)
    for body, field in (({"meaning": "looks fine"}, "meaning"), ({"meaning": None}, "meaning"),
                        ({"comment": "x"}, "meaning")):
        assert_problem(post(client, tokens["approver"], f"{base}/approvals", body), 422, field)
    for body, field in (({"version": "1"}, "version"), ({"version": 0}, "version"), ({}, "version")):
        assert_problem(post(client, tokens["reviewer"], f"/{PID}/acknowledgements", body), 422, field)
    assert store.head()[0] == before


def test_an_over_long_idempotency_key_is_a_400_naming_the_header(client, tokens, published):
    response = post(client, tokens["author"], f"/{PID}/revisions", {"summary": "x"}, **{"Idempotency-Key": "k" * 201})
    assert_problem(response, 400, "Idempotency-Key")


def test_the_longest_idempotency_key_works_for_a_long_user_name(client, tokens, published, store):
    key = {"Idempotency-Key": "k" * 200}
    first = post(client, tokens["author2"], f"/{PID}/revisions", {"summary": "x"}, **key)
    assert first.status_code == 201
    after = store.head()[0]
    again = post(client, tokens["author2"], f"/{PID}/revisions", {"summary": "x"}, **key)
    assert (again.status_code, again.get_data()) == (201, first.get_data())
    assert store.head()[0] == after


def test_problem_details_keep_kyrgyz_text_unescaped(client, tokens, published):
    response = post(client, tokens["author"], f"/{PID}/revisions", {"summary": "x", "өзгөчө": 1})
    assert_problem(response, 422, "өзгөчө")
    assert "өзгөчө".encode() in response.get_data()


def test_the_openapi_document_describes_every_endpoint_body_and_problem(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    for path in ("/api/v1/policies", "/api/v1/policies/{pid}", "/api/v1/policies/{pid}/versions/{number}",
                 "/api/v1/policies/{pid}/diff", "/api/v1/policies/{pid}/sections/{sid}/history",
                 "/api/v1/policies/{pid}/revisions/{rid}/changes", "/api/v1/policies/{pid}/history",
                 "/api/v1/policies/{pid}/responsibilities", "/api/v1/policies/{pid}/acknowledgements"):
        assert path in paths
    publish = paths["/api/v1/policies/{pid}/revisions/{rid}/publish"]["post"]
    assert publish["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PublishInput")
    assert publish["responses"]["415"]["content"]["application/problem+json"]
    assert {"If-Match", "Idempotency-Key"} <= {p["name"] for p in publish["parameters"]}
    document = paths["/api/v1/policies/{pid}"]["get"]
    assert {"at", "as_of", "version", "If-None-Match"} <= {p["name"] for p in document["parameters"]}
    assert document["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/PolicyDocument")
    assert set(spec["components"]["schemas"]["PolicyDocument"]["properties"]) >= {"scheduled", "log_position"}
    assert all("415" in tag["description"] for tag in spec["tags"] if tag["name"] in ("revisions", "governance"))
    assert "415" in next(t["description"] for t in spec["tags"] if t["name"] == "policies")
