"""Retirement through the API: a retirement revision, reviewed and signed as any other, and the reads after it."""
from __future__ import annotations

from tests.support.api import PID, approve, get, ok, post, signing

REASON = "Жаңы саясат менен алмаштырылды ү ө ң"


def open_retirement(client, tokens, status: int = 201, **extra) -> dict:
    return ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": REASON, "retire": True, **extra}),
              status)


def retired(client, tokens, effective_from: str) -> dict:
    rid = open_retirement(client, tokens)["id"]
    approve(client, tokens, PID, rid)
    return ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/publish",
                   {"effective_from": effective_from}), 201)


def test_a_retirement_revision_goes_through_review_and_the_approval_rule_and_changes_no_text(client, tokens,
                                                                                             published):
    opened = open_retirement(client, tokens)
    rid = opened["id"]
    assert opened["retire"] and opened["status"] == "draft" and opened["summary"] == REASON
    refused = ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/changes",
                      {"changes": [{"op": "retitle", "title": "Башка"}]}), 409)
    assert "retirement" in refused["detail"]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": ["reviewer1"]}))
    ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    early = ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/publish", {}), 409)
    assert "approval rule not met" in early["detail"]
    assert ok(get(client, None, f"/{PID}"))["version"] == 1  # nothing retired yet
    listed = ok(get(client, tokens["staff"], f"/{PID}/revisions"))["items"]
    assert [r["retire"] for r in listed if r["id"] == rid] == [True]


def test_publishing_a_retirement_retires_the_policy_from_its_date_and_its_history_stays_readable(
        client, tokens, published, clock):
    answer = retired(client, tokens, "2024-04-01T00:00:00Z")
    assert answer == {"version": 1, "effective_from": "2024-04-01T00:00:00.000000Z", "retired": True}
    before = ok(get(client, None, f"/{PID}"))  # still in force until the date, and says when it ends
    assert before["version"] == 1 and before["retired_from"] == "2024-04-01T00:00:00.000000Z"
    clock.set("2024-04-02T09:00:00Z")
    gone = get(client, None, f"/{PID}")
    assert gone.status_code == 404 and gone.mimetype == "application/problem+json"
    assert gone.json["type"].endswith("policy_retired")
    assert "retired from 2024-04-01" in gone.json["detail"] and REASON in gone.json["detail"]
    assert get(client, None, f"/{PID}?at=2024-05-01T00:00:00Z").status_code == 404
    then = ok(get(client, None, f"/{PID}?at=2024-03-15T00:00:00Z"))
    assert then["version"] == 1 and then["retired_from"] == "2024-04-01T00:00:00.000000Z"
    assert ok(get(client, None, f"/{PID}?version=1"))["version"] == 1
    assert ok(get(client, None, f"/{PID}/versions/1"))["version"] == 1
    versions = ok(get(client, None, f"/{PID}/versions"))
    assert [v["version"] for v in versions["items"]] == [1]
    assert versions["retired_from"] == "2024-04-01T00:00:00.000000Z" and versions["retired_reason"] == REASON
    [listed] = [p for p in ok(get(client, None, ""))["items"] if p["id"] == PID]
    assert listed["version"] is None and listed["retired_from"] == "2024-04-01T00:00:00.000000Z"
    history = ok(get(client, tokens["staff"], f"/{PID}/history"))["items"]
    assert history[-1]["retire"] and history[-1]["transitions"][-1]["to_status"] == "published"


def test_after_a_retirement_nothing_moves_the_policy_on(client, tokens, published):
    retired(client, tokens, "2024-04-01T00:00:00Z")
    for path, body, who in ((f"/{PID}/revisions", {"summary": "Дагы"}, "author"),
                            (f"/{PID}/revisions", {"summary": "Дагы", "retire": True}, "author"),
                            (f"/{PID}/versions/1/campaigns", {"roles": ["staff"], "due": "2024-05-01T00:00:00Z"},
                             "admin")):
        refused = ok(post(client, tokens[who], path, body), 409)
        assert "retired from 2024-04-01" in refused["detail"]


def test_a_retirement_refuses_a_base_version_a_backdate_without_reason_and_a_policy_with_nothing_published(
        client, tokens, published):
    refused = open_retirement(client, tokens, status=422, base_version=1)
    assert "base_version" in refused["errors"]
    rid = open_retirement(client, tokens)["id"]
    approve(client, tokens, PID, rid)
    refused = ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/publish",
                      {"effective_from": "2024-02-15T00:00:00Z"}), 422)
    assert "reason" in refused["errors"]
    ok(post(client, tokens["author"], "", {"id": "empty-policy", "title": "Бош", "language": "ky",
                                           "review_interval_days": 365}), 201)
    nothing = ok(post(client, tokens["author"], "/empty-policy/revisions", {"summary": "Жок", "retire": True}), 409)
    assert "nothing is published" in nothing["detail"]


def test_a_read_as_recorded_before_the_retirement_was_published_answers_as_it_did_then(client, tokens, published,
                                                                                      clock):
    clock.set("2024-03-10T09:00:00Z")
    retired(client, tokens, "2024-03-11T00:00:00Z")
    clock.set("2024-04-01T09:00:00Z")
    assert get(client, None, f"/{PID}?at=2024-03-20T00:00:00Z").status_code == 404
    then = ok(get(client, None, f"/{PID}?at=2024-03-20T00:00:00Z&as_of=2024-03-05T00:00:00Z"))
    assert then["version"] == 1 and then["retired_from"] is None
    gone = get(client, None, f"/{PID}?at=2024-03-20T00:00:00Z&as_of=2024-03-30T00:00:00Z")
    assert gone.status_code == 404 and gone.json["retired_from"] == "2024-03-11T00:00:00.000000Z"
