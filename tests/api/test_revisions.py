"""The management API: drafting, review and signatures pinned to content, conflicts, publication, governance,
and the write conventions (If-Match, Idempotency-Key, reasons)."""
from __future__ import annotations

import pytest

from events.domain.document import Document
from tests.support import PASSWORD
from tests.support.api import PID, approve, get, ok, post, publish, revise, signing


def log_length(store) -> int:
    return store.head()[0]


# ---- drafting ------------------------------------------------------------------------------------

def test_every_change_op_applies_to_the_preview_and_answers_the_ids_it_touched(client, tokens, published):
    rid = ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": "Бардык амалдар"}), 201)["id"]
    changed = ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/changes", {"changes": [
        {"op": "add", "parent_id": published["mission"], "after_id": published["second"], "kind": "item",
         "label": "•", "title": None, "text": "санариптик чөйрөнү өнүктүрүү;"},
        {"op": "amend", "section_id": published["first"], "text": "билим берүүнүн сапатын кепилдөө;"},
        {"op": "move", "section_id": published["closing"], "parent_id": None, "after_id": None},
        {"op": "remove", "section_id": published["second"]},
        {"op": "retitle", "title": "Сапат саясаты"},
    ]}))
    added = changed["section_ids"][0]
    assert changed["section_ids"][1:] == [published["first"], published["closing"], published["second"], "title"]
    assert [c["op"] for c in changed["changes"]] == ["add", "amend", "move", "remove", "retitle"]
    assert changed["changes"][0]["section_id"] == added and changed["changes"][0]["actor"] == "dean"
    preview = changed["preview"]
    assert preview["title"] == "Сапат саясаты"
    assert [s["id"] for s in preview["sections"]] == [published["closing"], published["mission"]]
    assert [(c["id"], c["text"]) for c in preview["sections"][1]["children"]] == [
        (published["first"], "билим берүүнүн сапатын кепилдөө;"), (added, "санариптик чөйрөнү өнүктүрүү;")]
    document = Document.from_tree(preview["title"], preview["sections"])
    assert changed["content_hash"] == document.content_hash(PID, "ky")
    again = ok(get(client, tokens["reviewer"], f"/{PID}/revisions/{rid}"))
    assert dict(again.items()) == {k: v for k, v in changed.items() if k != "section_ids"}


def test_a_change_to_an_unknown_section_is_a_404_naming_the_change_and_appends_nothing(client, tokens, published,
                                                                                         store):
    rid = ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": "x"}), 201)["id"]
    before = log_length(store)
    response = post(client, tokens["author"], f"/{PID}/revisions/{rid}/changes", {"changes": [
        {"op": "amend", "section_id": published["first"], "text": "жаңы"},
        {"op": "amend", "section_id": "s-nowhere", "text": "жок"}]})
    assert response.status_code == 404
    assert "changes[1].section_id" in response.json["errors"]
    assert log_length(store) == before


def test_an_amendment_that_changes_nothing_is_refused_naming_the_field(client, tokens, published):
    rid = ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": "x"}), 201)["id"]
    response = post(client, tokens["author"], f"/{PID}/revisions/{rid}/changes", {"changes": [
        {"op": "amend", "section_id": published["first"], "text": "билим берүүнүн сапатын камсыздоо;"}]})
    assert response.status_code == 422 and "changes[0].text" in response.json["errors"]


def test_a_revision_can_be_based_on_an_older_version_and_the_base_must_exist(client, tokens, published):
    based = ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": "x", "base_version": 0}), 201)
    assert based["base_version"] == 0 and based["preview"]["sections"] == []
    missing = post(client, tokens["author"], f"/{PID}/revisions", {"summary": "x", "base_version": 7})
    assert missing.status_code == 404 and "base_version" in missing.json["errors"]


# ---- review and signatures pinned to content ------------------------------------------------------

def test_reviews_and_signatures_turn_void_when_the_content_changes(client, tokens, published):
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "биринчи"}])["id"]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": ["reviewer1"]}))
    ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    returned = ok(post(client, tokens["reviewer"], f"/{PID}/revisions/{rid}/reviews",
                       {"verdict": "request_changes", "comment": "Тактаңыз"}), 201)
    assert returned["status"] == "draft"
    pairs = zip(returned["reviews"], returned["approvals"], strict=True)
    assert [(r["void"], a["void"]) for r, a in pairs] == [(False, False)]
    changed = ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/changes",
                      {"changes": [{"op": "amend", "section_id": published["first"], "text": "экинчи"}]}))
    assert [r["void"] for r in changed["reviews"]] == [True]
    assert [a["void"] for a in changed["approvals"]] == [True]
    assert changed["reviews"][0]["content_hash"] != changed["content_hash"]


def test_publishing_before_the_approval_rule_is_met_is_a_409_naming_what_is_missing(client, tokens, published):
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": []}))
    ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    response = post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/publish", {})
    assert response.status_code == 409
    assert "1 of 2 approvals" in response.json["detail"]


@pytest.mark.parametrize("step, who, body", [
    ("reviews", "author", {"verdict": "approve"}),
    ("approvals", "author", signing("approved")),
    ("publish", "author", {}),
])
def test_the_author_can_neither_review_nor_approve_nor_publish_their_own_revision(client, tokens, published, step,
                                                                                  who, body, app):
    from service.accounts import add_user
    engine = app.extensions["policy_ledger"].engine
    everything = add_user(engine, "all-roles", ["author", "reviewer", "approver"], password=PASSWORD)
    rid = revise(client, {**tokens, "author": everything}, PID,
                 [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
    ok(post(client, everything, f"/{PID}/revisions/{rid}/submit", {"reviewers": []}))
    response = post(client, everything, f"/{PID}/revisions/{rid}/{step}", body)
    assert response.status_code == 403
    assert response.json["type"].endswith("separation_of_duties")


def test_naming_oneself_as_reviewer_is_refused_as_separation_of_duties(client, tokens, published):
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
    response = post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": ["dean"]})
    assert response.status_code == 403 and "reviewers" in response.json["errors"]


def test_a_signature_records_the_role_from_the_token_never_from_the_body(client, tokens, published, store):
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": []}))
    smuggled = post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals",
                    signing("approved as rector", role="admin"))
    assert smuggled.status_code == 422 and "role" in smuggled.json["errors"]
    signed = ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals",
                     signing("approved as rector", comment="Макулдайм")), 201)
    assert [(a["approver"], a["role"], a["comment"]) for a in signed["approvals"]] == [
        ("qa-director", "approver", "Макулдайм")]
    event = [e for e in store.read_all() if e.type == "RevisionApproved"][-1]
    assert (event.meta["actor"], event.meta["role"], event.data["role"]) == ("qa-director", "approver", "approver")


# ---- conflicts -----------------------------------------------------------------------------------

def test_two_drafts_on_one_version_cannot_silently_overwrite_each_other(client, tokens, published):
    first = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "биринчи"}])
    second = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "экинчи"},
                                          {"op": "amend", "section_id": published["closing"], "text": "акыркы"}])
    other = revise(client, tokens, PID, [{"op": "amend", "section_id": published["second"], "text": "башка"}])
    publish(client, tokens, PID, first["id"], "2024-04-01T00:00:00Z")
    stale = ok(get(client, tokens["reviewer"], f"/{PID}/revisions/{second['id']}"))
    assert stale["conflicts"] == [published["first"]]
    approve(client, tokens, PID, second["id"])
    refused = post(client, tokens["approver2"], f"/{PID}/revisions/{second['id']}/publish",
                   {"effective_from": "2024-05-01T00:00:00Z"})
    assert refused.status_code == 409
    assert refused.json["conflicts"] == [published["first"]]
    assert ok(get(client, tokens["reviewer"], f"/{PID}/revisions/{other['id']}"))["conflicts"] == []
    assert publish(client, tokens, PID, other["id"], "2024-05-01T00:00:00Z") == 3  # rebased: no overlap
    document = ok(get(client, None, f"/{PID}?version=3"))
    texts = [c["text"] for c in document["sections"][0]["children"]]
    assert texts == ["биринчи", "башка"]


# ---- final states and reasons --------------------------------------------------------------------

def test_reject_and_withdraw_need_a_reason_and_the_history_shows_it(client, tokens, published, store):
    rejected = revise(client, tokens, PID, [{"op": "remove", "section_id": published["closing"]}])["id"]
    withdrawn = revise(client, tokens, PID, [{"op": "retitle", "title": "Башка аталыш"}])["id"]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rejected}/submit", {"reviewers": []}))
    for path, who in ((f"{rejected}/reject", "approver2"), (f"{withdrawn}/withdraw", "author")):
        for body in ({}, {"reason": "   "}):
            response = post(client, tokens[who], f"/{PID}/revisions/{path}", body)
            assert response.status_code == 422 and "reason" in response.json["errors"]
    assert ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rejected}/reject",
                   {"reason": "Жобо милдеттүү"}))["status"] == "rejected"
    assert ok(post(client, tokens["author"], f"/{PID}/revisions/{withdrawn}/withdraw",
                   {"reason": "Керек эмес"}))["status"] == "withdrawn"
    again = post(client, tokens["author"], f"/{PID}/revisions/{withdrawn}/withdraw", {"reason": "дагы"})
    assert again.status_code == 409
    history = ok(get(client, tokens["auditor"], f"/{PID}/history"))["items"]
    last = {item["id"]: item["transitions"][-1] for item in history}
    assert (last[rejected]["to_status"], last[rejected]["actor"], last[rejected]["role"], last[rejected]["reason"]) == (
        "rejected", "rector", "approver", "Жобо милдеттүү")
    assert (last[withdrawn]["to_status"], last[withdrawn]["reason"]) == ("withdrawn", "Керек эмес")


def test_a_reason_on_any_write_goes_into_the_event_metadata_not_the_payload(client, tokens, published, store):
    rid = ok(post(client, tokens["author"], f"/{PID}/revisions",
                  {"summary": "Себеби менен", "reason": "Аккредитация талабы"}), 201)["id"]
    opened = [e for e in store.read_all() if e.type == "RevisionOpened"][-1]
    assert opened.data["revision_id"] == rid
    assert opened.meta["reason"] == "Аккредитация талабы" and "reason" not in opened.data


def test_revisions_list_filters_by_status_and_pages_in_opening_order(client, tokens, published):
    opened = [ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": f"№{n}"}), 201)["id"]
              for n in range(3)]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{opened[1]}/withdraw", {"reason": "кош"}))
    drafts = ok(get(client, tokens["auditor"], f"/{PID}/revisions?status=draft"))["items"]
    assert [r["id"] for r in drafts] == [opened[0], opened[2]]
    first = ok(get(client, tokens["auditor"], f"/{PID}/revisions?limit=2"))
    rest = ok(get(client, tokens["auditor"], f"/{PID}/revisions?limit=2&cursor={first['next_cursor']}"))
    ids = [r["id"] for r in first["items"] + rest["items"]]
    assert ids[1:] == opened and rest["next_cursor"] is None
    assert get(client, tokens["auditor"], f"/{PID}/revisions?status=lost").status_code == 422


def test_revision_reads_are_for_staff_only_and_carry_a_private_etag(client, tokens, published):
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
    assert get(client, None, f"/{PID}/revisions/{rid}").status_code == 401
    assert get(client, None, f"/{PID}/revisions").status_code == 401
    assert get(client, None, f"/{PID}/history").status_code == 401
    read = get(client, tokens["auditor"], f"/{PID}/revisions/{rid}")
    assert read.headers["Cache-Control"] == "private, no-cache"
    assert get(client, tokens["auditor"], f"/{PID}/revisions/{rid}",
               **{"If-None-Match": read.headers["ETag"]}).status_code == 304
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": []}))
    assert get(client, tokens["auditor"], f"/{PID}/revisions/{rid}",
               **{"If-None-Match": read.headers["ETag"]}).status_code == 200
    assert get(client, tokens["auditor"], f"/{PID}/revisions/rev-nowhere").status_code == 404


# ---- If-Match -----------------------------------------------------------------------------------

def test_a_stale_if_match_is_a_412_and_appends_nothing(client, tokens, published, store):
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
    etag = get(client, tokens["author"], f"/{PID}/revisions/{rid}").headers["ETag"]
    ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": "башка бирөө"}), 201)  # the stream moves on
    before = log_length(store)
    stale = post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": []}, **{"If-Match": etag})
    assert stale.status_code == 412 and stale.mimetype == "application/problem+json"
    assert log_length(store) == before
    fresh = get(client, tokens["author"], f"/{PID}/revisions/{rid}").headers["ETag"]
    submitted = post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": []},
                     **{"If-Match": fresh})
    assert ok(submitted)["status"] == "in_review"
    assert log_length(store) == before + 1
    assert submitted.headers["ETag"] != fresh  # the answer's ETag is the one to send next


def test_the_etag_of_the_policy_document_works_as_if_match_for_a_write(client, tokens, published, store):
    etag = get(client, None, f"/{PID}").headers["ETag"]
    assert ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": "x"}, **{"If-Match": etag}), 201)
    again = post(client, tokens["author"], f"/{PID}/revisions", {"summary": "y"}, **{"If-Match": etag})
    assert again.status_code == 412
    assert post(client, tokens["author"], f"/{PID}/revisions", {"summary": "y"},
                **{"If-Match": "W/garbage"}).status_code == 412


# ---- Idempotency-Key ----------------------------------------------------------------------------

def test_a_retried_post_with_the_same_key_and_body_gets_the_first_answer_and_appends_nothing(client, tokens,
                                                                                           published, store):
    headers = {"Idempotency-Key": "open-ключ-1"}
    first = post(client, tokens["author"], f"/{PID}/revisions", {"summary": "Бир жолу"}, **headers)
    after_first = log_length(store)
    retry = post(client, tokens["author"], f"/{PID}/revisions", {"summary": "Бир жолу"}, **headers)
    assert (retry.status_code, retry.get_data()) == (first.status_code, first.get_data())
    assert retry.headers["Location"] == first.headers["Location"]
    assert log_length(store) == after_first
    reused = post(client, tokens["author"], f"/{PID}/revisions", {"summary": "Башка"}, **headers)
    assert reused.status_code == 422 and "Idempotency-Key" in reused.json["errors"]
    assert log_length(store) == after_first
    ok(post(client, tokens["author"], f"/{PID}/revisions", {"summary": "Башка"},
            **{"Idempotency-Key": "open-ключ-2"}), 201)


def test_a_retried_publication_publishes_once(client, tokens, published, store):
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
    approve(client, tokens, PID, rid)
    body, headers = {"effective_from": "2024-04-01T00:00:00Z"}, {"Idempotency-Key": "publish-1"}
    first = ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/publish", body, **headers), 201)
    retry = ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/publish", body, **headers), 201)
    assert first == retry == {"version": 2, "effective_from": "2024-04-01T00:00:00.000000Z"}
    assert sum(e.type == "RevisionPublished" for e in store.read_all()) == 2


# ---- governance ----------------------------------------------------------------------------------

def test_responsibilities_are_assigned_listed_at_a_time_and_revoked(client, tokens, published, clock):
    assigned = post(client, tokens["admin"], f"/{PID}/responsibilities", {
        "action": "assign", "party": "Сапат бөлүмү", "party_kind": "unit", "section_id": published["mission"],
        "duty": "жооптуу", "valid_from": "2024-03-01T00:00:00Z", "reason": "Ректордун буйругу"})
    assignment = ok(assigned, 201)
    assert (assignment["party"], assignment["assigned_by"], assignment["reason"]) == (
        "Сапат бөлүмү", "quality-office", "Ректордун буйругу")
    ok(post(client, tokens["admin"], f"/{PID}/responsibilities", {
        "action": "assign", "party": "dean", "duty": "ээси"}), 201)
    listed = ok(get(client, tokens["auditor"], f"/{PID}/responsibilities"))["items"]
    assert sorted(a["party"] for a in listed) == ["dean", "Сапат бөлүмү"]
    section = ok(get(client, tokens["auditor"], f"/{PID}/responsibilities?section_id={published['mission']}"))
    assert [a["assignment_id"] for a in section["items"]] == [assignment["assignment_id"]]
    clock.set("2024-04-01T00:00:00Z")
    revoked = ok(post(client, tokens["admin"], f"/{PID}/responsibilities",
                      {"action": "revoke", "assignment_id": assignment["assignment_id"]}))
    assert revoked["valid_to"].startswith("2024-04-01") and revoked["revoked_by"] == "quality-office"
    now = ok(get(client, tokens["auditor"], f"/{PID}/responsibilities"))["items"]
    assert [a["party"] for a in now] == ["dean"]
    then = ok(get(client, tokens["auditor"], f"/{PID}/responsibilities?at=2024-03-15T00:00:00Z&limit=1"))
    more = ok(get(client, tokens["auditor"],
                  f"/{PID}/responsibilities?at=2024-03-15T00:00:00Z&limit=1&cursor={then['next_cursor']}"))
    assert sorted(a["party"] for a in then["items"] + more["items"]) == ["dean", "Сапат бөлүмү"]
    wrong = post(client, tokens["admin"], f"/{PID}/responsibilities", {"action": "revoke", "party": "x"})
    assert wrong.status_code == 422 and {"assignment_id", "party"} <= set(wrong.json["errors"])
    unknown = post(client, tokens["admin"], f"/{PID}/responsibilities",
                   {"action": "assign", "party": "x", "duty": "y", "section_id": "s-nowhere"})
    assert unknown.status_code == 404 and "section_id" in unknown.json["errors"]


def test_a_periodic_review_is_recorded_even_when_nothing_changes(client, tokens, published, clock):
    clock.set("2024-12-01T09:00:00Z")
    review = ok(post(client, tokens["approver"], f"/{PID}/periodic-reviews",
                     {"outcome": "no_change", "notes": "Өзгөртүү керек эмес"}), 201)
    assert (review["outcome"], review["version"], review["reviewer"]) == ("no_change", 1, "qa-director")
    assert review["next_review_due"].startswith("2025-12-01")
    listed = ok(get(client, None, ""))["items"][0]
    assert listed["next_review_due"] == review["next_review_due"]
    bad = post(client, tokens["approver"], f"/{PID}/periodic-reviews", {"outcome": "maybe"})
    assert bad.status_code == 422 and "outcome" in bad.json["errors"]


def test_an_acknowledgement_is_asked_again_after_a_substantive_version_but_not_an_editorial_one(client, tokens,
                                                                                                published):
    acknowledged = ok(post(client, tokens["reviewer2"], f"/{PID}/acknowledgements", {"version": 1}), 201)
    assert acknowledged["person"] == "reviewer2" and acknowledged["content_hash"].startswith("sha256:")
    status = ok(get(client, tokens["reviewer2"], f"/{PID}/acknowledgements"))
    assert (status["latest_acknowledged"], status["must_acknowledge"], status["due"]) == (1, False, None)
    editorial = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"],
                                              "text": "билим берүүнүн сапатын камсыздоо."}])["id"]
    publish(client, tokens, PID, editorial, "2024-04-01T00:00:00Z", editorial=True)
    assert ok(get(client, tokens["admin"], f"/{PID}/acknowledgements?person=reviewer2"))["must_acknowledge"] is False
    substantive = revise(client, tokens, PID, [{"op": "remove", "section_id": published["second"]}])["id"]
    publish(client, tokens, PID, substantive, "2024-05-01T00:00:00Z")
    status = ok(get(client, tokens["admin"], f"/{PID}/acknowledgements?person=reviewer2"))
    assert status["must_acknowledge"] is True and status["due"]["version"] == 3
    never = ok(get(client, tokens["admin"], f"/{PID}/acknowledgements?person=teacher"))
    assert (never["acknowledged"], never["must_acknowledge"]) == ([], True)
    twice = post(client, tokens["reviewer2"], f"/{PID}/acknowledgements", {"version": 1})
    assert twice.status_code == 409
    assert post(client, tokens["reviewer2"], f"/{PID}/acknowledgements", {"version": 9}).status_code == 404
