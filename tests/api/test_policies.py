"""The frontend API: policies, the version in force at any time and as recorded, versions, diffs, section history.

Tests that only read one policy with three versions share it: see test_policies_reads.py."""
from __future__ import annotations

import pytest

from events.domain.document import Document
from service.content.textformat import parse_policy_text
from tests.support import SEED_POLICY
from tests.support.api import (
    API,
    PID,
    PROVISION_5,
    PROVISION_5_NEW,
    RULE,
    approve,
    build_three_versions,
    create,
    find,
    get,
    ok,
    post,
    publish,
    revise,
    seed_sections,
    strip_ids,
)


@pytest.fixture
def three_versions(client, tokens, clock) -> dict:
    """The seed policy with three versions: v1 from 2024-02-01, v2 (provision 5) from 2024-09-01,
    v3 (moves, a removal, a new title) from 2025-09-01; the clock stands at 2025-10-01."""
    return build_three_versions(client, tokens, clock)


# ---- the lifecycle on the seed policy's real text -----------------------------------------------

def test_the_seed_policy_goes_from_draft_to_two_published_versions_over_http(client, tokens, clock, store):
    clock.set("2024-01-10T09:00:00+00:00")
    sections = seed_sections()
    created = post(client, tokens["author"], "", {
        "id": PID, "title": parse_policy_text(SEED_POLICY.read_text()).title, "language": "ky",
        "review_interval_days": 365, "approval_rule": RULE, "sections": sections, "reason": "Окумуштуулар кеңеши"})
    body = ok(created, 201)
    assert created.headers["Location"] == f"{API}/{PID}"
    assert (body["id"], body["owner"], body["latest_version"], body["approval_rule"]) == (PID, "dean", 0, RULE)
    draft = body["draft_revision_id"]

    nothing = get(client, None, f"/{PID}")
    assert nothing.status_code == 404 and nothing.mimetype == "application/problem+json"
    assert "nothing" in nothing.json["detail"] and "in force" in nothing.json["detail"]

    revision = ok(get(client, tokens["reviewer"], f"/{PID}/revisions/{draft}"))
    assert revision["status"] == "draft" and revision["base_version"] == 0
    assert strip_ids(revision["preview"]["sections"]) == sections
    preview = Document.from_tree(revision["preview"]["title"], revision["preview"]["sections"])
    assert revision["content_hash"] == preview.content_hash(PID, "ky")

    signed = approve(client, tokens, PID, draft)
    assert signed["status"] == "approved"
    assert [(a["approver"], a["role"], a["meaning"], a["void"]) for a in signed["approvals"]] == [
        ("qa-director", "approver", "approved as quality assurance director", False),
        ("rector", "approver", "approved as rector", False)]
    clock.set("2024-01-20T09:00:00+00:00")
    published = post(client, tokens["approver2"], f"/{PID}/revisions/{draft}/publish",
                     {"effective_from": "2024-02-01T00:00:00+06:00"})
    assert ok(published, 201) == {"version": 1, "effective_from": "2024-01-31T18:00:00.000000Z"}
    assert published.headers["Location"] == f"{API}/{PID}/versions/1"

    scheduled = get(client, None, f"/{PID}")
    assert scheduled.status_code == 404
    assert scheduled.json["scheduled"] == {"version": 1, "effective_from": "2024-01-31T18:00:00.000000Z"}
    clock.set("2024-02-02T00:00:00+00:00")
    current = get(client, None, f"/{PID}")
    document = ok(current)
    publication = next(e for e in store.read_all() if e.type == "RevisionPublished")
    assert document["log_position"] == publication.position
    assert (document["version"], document["revision_id"], document["scheduled"]) == (1, draft, None)
    assert document["content_hash"] == revision["content_hash"] == publication.data["content_hash"]
    assert document["published_at"] == "2024-01-20T09:00:00.000001Z"
    assert strip_ids(document["sections"]) == sections
    assert set(document) == {"id", "title", "language", "version", "effective_from", "published_at", "revision_id",
                             "log_position", "content_hash", "sections", "scheduled", "retired_from"}
    assert document["retired_from"] is None
    raw = current.get_data()
    assert "илимий-педагогикалык".encode() in raw and "болборуна".encode() in raw
    assert all(letter.encode() in raw for letter in "үөң")

    provision = find(document["sections"], PROVISION_5)
    clock.set("2024-05-01T09:00:00+00:00")
    draft2 = revise(client, tokens, PID, [{"op": "amend", "section_id": provision["id"], "text": "биринчи вариант"}])
    rid = draft2["id"]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": ["reviewer1"]}))
    sent_back = ok(post(client, tokens["reviewer"], f"/{PID}/revisions/{rid}/reviews",
                        {"verdict": "request_changes", "comment": "Өндүрүштү кошуңуз"}), 201)
    assert sent_back["status"] == "draft"
    changed = ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/changes",
                      {"changes": [{"op": "amend", "section_id": provision["id"], "text": PROVISION_5_NEW}]}))
    assert [r["void"] for r in changed["reviews"]] == [True]  # the review saw other content
    clock.set("2024-06-01T09:00:00+00:00")
    assert publish(client, tokens, PID, rid, "2024-09-01T00:00:00Z") == 2

    listed = ok(get(client, None, f"/{PID}/versions"))["items"]
    assert [(v["version"], v["author"], v["publisher"]) for v in listed] == [(1, "dean", "rector"),
                                                                             (2, "dean", "rector")]
    assert [(a["approver"], a["role"], a["meaning"]) for a in listed[1]["approvers"]] == [
        ("qa-director", "approver", "approved as quality assurance director"),
        ("rector", "approver", "approved as rector")]
    history = ok(get(client, None, f"/{PID}/sections/{provision['id']}/history"))["items"]
    assert [(h["version"], h["changes"], h["text"]) for h in history] == [
        (1, ["added"], provision["text"]), (2, ["amended"], PROVISION_5_NEW)]
    revisions = ok(get(client, tokens["auditor"], f"/{PID}/history"))["items"]
    assert [t["to_status"] for t in revisions[1]["transitions"]] == [
        "draft", "in_review", "draft", "in_review", "approved", "published"]
    assert revisions[1]["transitions"][2]["actor"] == "reviewer1"
    audit_reasons = [e.meta.get("reason") for e in store.read_all() if e.type == "PolicyCreated"]
    assert audit_reasons == ["Окумуштуулар кеңеши"]


# ---- the version in force, at a time and as recorded ---------------------------------------------


def test_a_version_published_but_not_yet_effective_is_shown_as_scheduled(client, three_versions, clock):
    clock.set("2024-07-01T00:00:00Z")
    document = ok(get(client, None, f"/{PID}"))
    assert document["version"] == 1
    assert document["scheduled"] == {"version": 2, "effective_from": "2024-09-01T00:00:00.000000Z"}
    assert ok(get(client, None, f"/{PID}?at=2025-10-01T00:00:00Z"))["scheduled"] is None


def test_as_of_hides_a_backdated_version_until_its_publication_was_recorded(client, tokens, clock):
    clock.set("2024-01-10T09:00:00Z")
    publish(client, tokens, PID, create(client, tokens), "2024-02-01T00:00:00Z")
    clock.set("2024-06-10T09:00:00Z")
    doc = ok(get(client, None, f"/{PID}"))
    change = [{"op": "amend", "section_id": find(doc["sections"], PROVISION_5)["id"], "text": PROVISION_5_NEW}]
    rid = revise(client, tokens, PID, change)["id"]
    approve(client, tokens, PID, rid)
    clock.set("2024-06-20T09:00:00Z")
    path = f"/{PID}/revisions/{rid}/publish"
    backdated = post(client, tokens["approver2"], path, {"effective_from": "2024-06-01T00:00:00Z"})
    assert backdated.status_code == 422 and "reason" in backdated.json["errors"]  # a past date needs a reason
    ok(post(client, tokens["approver2"], path, {"effective_from": "2024-06-01T00:00:00Z",
                                                "reason": "Ректордун 2024-05-30 буйругу"}), 201)

    at = "2024-06-05T00:00:00Z"
    assert ok(get(client, None, f"/{PID}?at={at}"))["version"] == 2
    assert ok(get(client, None, f"/{PID}?at={at}&as_of=2024-06-15T00:00:00Z"))["version"] == 1
    assert ok(get(client, None, f"/{PID}?at={at}&as_of=2024-06-21T00:00:00%2B00:00"))["version"] == 2
    before = get(client, None, f"/{PID}?at={at}&as_of=2024-01-01T00:00:00Z")
    assert before.status_code == 404
    assert get(client, None, f"/{PID}/versions/2?as_of=2024-06-15T00:00:00Z").status_code == 404
    assert ok(get(client, None, f"/{PID}/versions/2?as_of=2024-06-21T00:00:00Z"))["version"] == 2
    flags = [(v["backdated"], v["editorial"], v["adopted"]) for v in ok(get(client, None, f"/{PID}/versions"))["items"]]
    assert flags == [(False, False, False), (True, False, False)]


def test_the_catalogue_lists_each_policy_with_the_version_in_force_and_pages_by_id(client, tokens, clock,
                                                                                 three_versions):
    clock.set("2025-05-01T00:00:00Z")
    create(client, tokens, "another-policy", sections=[{"kind": "paragraph", "text": "Жаңы саясат."}])
    first = ok(get(client, None, "?limit=1"))
    assert [p["id"] for p in first["items"]] == ["another-policy"]
    assert first["items"][0]["version"] is None and first["items"][0]["latest_version"] == 0
    second = ok(get(client, None, f"?limit=1&cursor={first['next_cursor']}"))
    assert second["next_cursor"] is None
    item = second["items"][0]
    assert (item["id"], item["version"], item["latest_version"]) == (PID, 2, 3)  # v3 is published, not yet in force
    assert item["effective_from"] == "2024-09-01T00:00:00.000000Z"
    # a year after v3 takes effect (2025-09-01), not a year after it was published (2025-04-01)
    assert item["next_review_due"] == "2026-09-01T00:00:00.000000Z"


# ---- caching -------------------------------------------------------------------------------------


def test_the_etag_of_the_policy_in_force_changes_when_a_scheduled_version_takes_effect(client, three_versions,
                                                                                     clock):
    clock.set("2025-08-31T23:59:59Z")
    before = get(client, None, f"/{PID}").headers["ETag"]
    clock.set("2025-09-01T00:00:01Z")
    after = get(client, None, f"/{PID}", **{"If-None-Match": before})
    assert after.status_code == 200 and after.json["version"] == 3


def test_the_policy_in_force_is_answered_anew_as_soon_as_another_worker_publishes(app, client, tokens, clock,
                                                                                database_url):
    from service import create_app
    clock.set("2024-01-10T09:00:00+00:00")
    publish(client, tokens, PID, create(client, tokens), "2024-02-01T00:00:00Z")
    clock.set("2024-06-01T09:00:00+00:00")
    first = ok(get(client, None, f"/{PID}"))
    assert ok(get(client, None, f"/{PID}")) == first  # answered again from what the first read rendered
    other = create_app({"TESTING": True, "DATABASE_URL": database_url, "CLOCK": clock})  # another worker
    elsewhere = other.test_client()
    change = [{"op": "amend", "section_id": find(first["sections"], PROVISION_5)["id"], "text": PROVISION_5_NEW}]
    rid = ok(post(elsewhere, tokens["author"], f"/{PID}/revisions", {"summary": "Жобо 5"}), 201)["id"]
    ok(post(elsewhere, tokens["author"], f"/{PID}/revisions/{rid}/changes", {"changes": change}))
    assert publish(elsewhere, tokens, PID, rid, "2024-06-02T00:00:00Z") == 2
    clock.set("2024-06-02T09:00:00+00:00")
    again = get(client, None, f"/{PID}", **{"If-None-Match": get(client, None, f"/{PID}").headers["ETag"]})
    assert again.status_code == 304
    assert ok(get(client, None, f"/{PID}"))["version"] == 2
    assert find(ok(get(client, None, f"/{PID}"))["sections"], PROVISION_5_NEW)
    other.extensions["policy_ledger"].engine.dispose()


def test_the_quick_answer_for_the_policy_in_force_keeps_every_rule_of_the_full_read(client, tokens, clock):
    unknown = get(client, None, "/no-such-policy")
    assert unknown.status_code == 404 and "no-such-policy" in unknown.json["detail"]
    clock.set("2024-01-10T09:00:00+00:00")
    create(client, tokens)
    nothing = get(client, None, f"/{PID}")
    assert nothing.status_code == 404 and nothing.json["type"].endswith("nothing_in_force")
    assert get(client, None, f"/{PID}?unknown=1").status_code == 422  # a query string takes the full path
    assert get(client, None, "/bad id!").status_code == 404


def test_policy_reads_need_a_token_when_anonymous_reads_are_off(app, client, tokens, three_versions):
    app.config["ANONYMOUS_READS"] = False
    assert get(client, None, f"/{PID}").status_code == 401
    response = get(client, tokens["auditor"], f"/{PID}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
