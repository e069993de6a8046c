"""Approval routes, re-authenticated signatures, delegation, recall and changed reviewers, through the API;
and what the first users found: unknown reviewers, `reviewed` then `approved`, rebased publications."""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import func, select

from tests.support import PASSWORD, bearer
from tests.support.api import PID, get, ok, post, publish, revise, signing

ROUTE = {"steps": [{"approvals": 1, "users": ["qa-director"], "meanings": ["approved as quality assurance director"]},
                   {"approvals": 1, "roles": ["approver"], "meanings": ["approved as rector"]}]}


def log_length(store) -> int:
    return store.head()[0]


def submitted(client, tokens, published, reviewers: list[str] | None = None) -> str:
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы ү ө ң"}])["id"]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": reviewers or []}))
    return rid


def rerouted(client, tokens, published, clock) -> None:
    """Bring ROUTE into force through a revision of its own, signed under the old two-approver rule."""
    rid = revise(client, tokens, PID, [{"op": "route", "approval_rule": ROUTE}], summary="Жаңы маршрут")["id"]
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": []}))
    ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/publish", {}), 201)


@pytest.mark.parametrize("reviewer, why", [("nobody-x", "no user"), ("qa-director", "does not hold")])
def test_submit_refuses_reviewers_who_do_not_exist_or_do_not_review(client, tokens, published, store, reviewer, why):
    rid = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "жаңы"}])["id"]
    before = log_length(store)
    response = post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": ["reviewer1", reviewer]})
    assert response.status_code == 422
    assert why in response.json["errors"]["reviewers[1]"][0]
    assert log_length(store) == before


def test_an_approver_who_signed_reviewed_can_still_sign_approved_on_the_same_content(client, tokens, published):
    rid = submitted(client, tokens, published)
    ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("reviewed")), 201)
    ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    twice = post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved as rector"))
    assert twice.status_code == 409  # one counting signature per person and step
    done = ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    assert done["status"] == "approved"


def test_a_route_changes_only_through_a_revision_and_its_steps_sign_in_order(client, tokens, published, clock):
    policy = ok(get(client, tokens["author"], f"/{PID}/revisions"))  # the route is the simple rule until then
    assert policy["items"]
    rerouted(client, tokens, published, clock)
    rid = submitted(client, tokens, published)
    waiting = ok(get(client, tokens["author"], f"/{PID}/revisions/{rid}"))["route"]
    assert [(s["step"], s["status"], s["users"], s["roles"]) for s in waiting] == [
        (1, "waiting", ["qa-director"], []), (2, "pending", [], ["approver"])]
    early = post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/approvals", signing("approved as rector"))
    assert early.status_code == 403 and "step 1" in early.json["detail"]
    wrong = post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved as rector"))
    assert wrong.status_code == 422 and "meaning" in wrong.json["errors"]
    first = ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals",
                    signing("approved as quality assurance director")), 201)
    assert [(s["status"], s["signers"]) for s in first["route"]] == [("done", ["qa-director"]), ("waiting", [])]
    last = ok(post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/approvals", signing("approved as rector")),
              201)
    assert last["status"] == "approved" and [s["status"] for s in last["route"]] == ["done", "done"]


def test_a_wrong_password_signs_nothing_and_is_counted_for_admins(client, tokens, published, store, app):
    from service.accounts import signing_failures
    rid = submitted(client, tokens, published)
    before = log_length(store)
    body = {"meaning": "approved", "password": "not-the-password"}
    response = post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", body)
    assert response.status_code == 403 and response.json["type"].endswith("reauthentication_failed")
    assert post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", {"meaning": "approved"}
                ).status_code == 403
    assert log_length(store) == before
    with app.extensions["policy_ledger"].engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(signing_failures)).scalar() == 1
    seen = ok(client.get("/api/v1/signing-failures", headers=bearer(tokens["admin"])))
    assert [(f["user"], f["revision_id"]) for f in seen["items"]] == [("qa-director", rid)]
    assert client.get("/api/v1/signing-failures", headers=bearer(tokens["approver"])).status_code == 403


def test_a_signature_records_the_signers_full_name(client, tokens, published, app):
    from sqlalchemy import update

    from service.accounts import users
    with app.extensions["policy_ledger"].engine.begin() as connection:
        connection.execute(update(users).where(users.c.name == "qa-director").values(full_name="Айгүл Өмүрова"))
    rid = submitted(client, tokens, published)
    signed = ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    assert [(a["approver"], a["full_name"], a["on_behalf_of"]) for a in signed["approvals"]] == [
        ("qa-director", "Айгүл Өмүрова", None)]


def test_without_a_password_a_user_cannot_sign_while_the_deployment_asks_for_one(client, tokens, published, app):
    from service.accounts import add_user
    nopass = add_user(app.extensions["policy_ledger"].engine, "council-member", ["approver"])
    rid = submitted(client, tokens, published)
    response = post(client, nopass, f"/{PID}/revisions/{rid}/approvals", {"meaning": "approved"})
    assert response.status_code == 403 and "password" in response.json["detail"]


def test_a_delegate_signs_on_behalf_of_an_absent_approver_and_separation_of_duties_holds(client, tokens, published,
                                                                                        app, clock):
    from service.accounts import add_user
    deputy = add_user(app.extensions["policy_ledger"].engine, "prorector", ["approver", "author"], password=PASSWORD)
    made = client.post("/api/v1/delegations", headers=bearer(tokens["approver2"]), json={
        "delegate": "prorector", "until": "2024-04-01T00:00:00Z", "reason": "өргүүдө"})
    assert made.status_code == 201, made.get_data(as_text=True)
    rid = submitted(client, tokens, published)
    ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    signed = ok(post(client, deputy, f"/{PID}/revisions/{rid}/approvals",
                     signing("approved as rector", on_behalf_of="rector")), 201)
    assert signed["status"] == "approved"
    assert [(a["approver"], a["on_behalf_of"]) for a in signed["approvals"]] == [
        ("qa-director", None), ("prorector", "rector")]
    # the absent rector cannot sign again for themselves on the same step and content
    again = post(client, tokens["approver2"], f"/{PID}/revisions/{rid}/approvals", signing("approved"))
    assert again.status_code == 409
    # no delegation from qa-director: refused
    other = submitted(client, tokens, published)
    refused = post(client, deputy, f"/{PID}/revisions/{other}/approvals",
                   signing("approved", on_behalf_of="qa-director"))
    assert refused.status_code == 403 and "on_behalf_of" in refused.json["errors"]
    # the deputy's own revision: neither in person nor on the rector's behalf
    own = revise(client, {**tokens, "author": deputy}, PID,
                 [{"op": "amend", "section_id": published["second"], "text": "орун басар"}])["id"]
    ok(post(client, deputy, f"/{PID}/revisions/{own}/submit", {"reviewers": []}))
    for body in (signing("approved"), signing("approved", on_behalf_of="rector")):
        response = post(client, deputy, f"/{PID}/revisions/{own}/approvals", body)
        assert response.status_code == 403 and response.json["type"].endswith("separation_of_duties")
    listed = ok(client.get("/api/v1/delegations", headers=bearer(deputy)))
    assert [(d["delegator"], d["delegate"]) for d in listed["items"]] == [("rector", "prorector")]
    ended = client.delete(f"/api/v1/delegations/{made.json['id']}", headers=bearer(tokens["approver2"]))
    assert ended.status_code == 200 and ended.json["revoked_by"] == "rector"
    late = post(client, deputy, f"/{PID}/revisions/{other}/approvals", signing("approved", on_behalf_of="rector"))
    assert late.status_code == 403


def test_recall_voids_the_reviews_and_reviewers_change_while_in_review(client, tokens, published):
    rid = submitted(client, tokens, published, ["reviewer1"])
    ok(post(client, tokens["reviewer"], f"/{PID}/revisions/{rid}/reviews", {"verdict": "approve"}), 201)
    ok(post(client, tokens["approver"], f"/{PID}/revisions/{rid}/approvals", signing("approved")), 201)
    assert post(client, tokens["author2"], f"/{PID}/revisions/{rid}/recall", {}).status_code == 403
    recalled = ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/recall", {"reason": "кошумча"}))
    assert recalled["status"] == "draft"
    assert [r["void"] for r in recalled["reviews"]] == [True]
    assert [a["void"] for a in recalled["approvals"]] == [True]
    assert post(client, tokens["author"], f"/{PID}/revisions/{rid}/recall", {}).status_code == 409
    ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/submit", {"reviewers": ["reviewer1"]}))
    bad = post(client, tokens["author"], f"/{PID}/revisions/{rid}/reviewers", {"reviewers": ["nobody-x"]})
    assert bad.status_code == 422 and "reviewers[0]" in bad.json["errors"]
    changed = ok(post(client, tokens["author"], f"/{PID}/revisions/{rid}/reviewers", {"reviewers": ["reviewer2"]}))
    assert changed["reviewers"] == ["reviewer2"]
    assert post(client, tokens["reviewer"], f"/{PID}/revisions/{rid}/reviews",
                {"verdict": "approve"}).status_code == 403
    ok(post(client, tokens["reviewer2"], f"/{PID}/revisions/{rid}/reviews", {"verdict": "approve"}), 201)


def test_a_rebased_publication_records_what_its_signers_saw_and_says_so(client, tokens, published, clock):
    stale = revise(client, tokens, PID, [{"op": "amend", "section_id": published["second"], "text": "экинчи"}])
    publish(client, tokens, PID,
            revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"], "text": "биринчи"}])["id"],
            "2024-04-01T00:00:00Z")
    publish(client, tokens, PID, stale["id"], "2024-05-01T00:00:00Z")
    signed_hash = ok(get(client, tokens["author"], f"/{PID}/revisions/{stale['id']}"))["approvals"][0]["content_hash"]
    versions = {v["version"]: v for v in ok(get(client, None, f"/{PID}/versions"))["items"]}
    third = versions[3]
    assert third["rebased"] is True and third["base_version"] == 1
    assert third["signed_content_hash"] == signed_hash != third["content_hash"]
    assert versions[2]["rebased"] is False and versions[2]["signed_content_hash"] == versions[2]["content_hash"]


def test_a_policy_is_created_with_a_route_and_its_named_signers_must_be_users_who_sign(client, tokens, clock):
    from tests.support.api import create
    bad = {**ROUTE, "steps": [{"approvals": 1, "users": ["nobody-x"]}]}
    response = post(client, tokens["author"], "", {"id": "routed", "title": "Т", "language": "ky",
                                                   "review_interval_days": 30, "approval_rule": bad})
    assert response.status_code == 422 and "approval_rule.steps[0].users[0]" in response.json["errors"]
    impossible = {"steps": [{"approvals": 2, "users": ["rector"]}]}
    response = post(client, tokens["author"], "", {"id": "routed", "title": "Т", "language": "ky",
                                                   "review_interval_days": 30, "approval_rule": impossible})
    assert response.status_code == 422
    assert response.json["errors"]["approval_rule.steps[0].approvals"] == [
        "the step asks for 2 approvals from 1 named users"]
    rid = create(client, tokens, "routed", sections=[{"kind": "paragraph", "text": "Бир."}], rule=ROUTE)
    created = ok(get(client, tokens["author"], f"/routed/revisions/{rid}"))
    assert [s["users"] for s in created["route"]] == [["qa-director"], []]
    reviewer_step = {"steps": [{"approvals": 1, "users": ["reviewer1"]}]}
    changed = post(client, tokens["author"], f"/routed/revisions/{rid}/changes",
                   {"changes": [{"op": "route", "approval_rule": reviewer_step}]})
    assert changed.status_code == 422 and "changes[0].approval_rule.steps[0].users[0]" in changed.json["errors"]


def test_a_signature_retried_under_its_idempotency_key_keeps_no_digest_of_the_password(client, tokens, published,
                                                                                       app, store):
    from service.http.idempotency import http_idempotency
    rid = submitted(client, tokens, published)
    path = f"/{PID}/revisions/{rid}/approvals"
    first = post(client, tokens["approver"], path, signing("approved"), **{"Idempotency-Key": "sign-1"})
    assert first.status_code == 201
    before = log_length(store)
    again = post(client, tokens["approver"], path, signing("approved"), **{"Idempotency-Key": "sign-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert log_length(store) == before
    body = client.application.json.dumps(signing("approved")).encode()
    with app.extensions["policy_ledger"].engine.connect() as connection:
        kept = connection.execute(select(http_idempotency.c.fingerprint)).scalars().all()
    assert kept
    assert hashlib.sha256(b"\n".join([b"POST", f"/api/v1/policies{path}?".encode(), body])).hexdigest() not in kept


def test_a_route_asking_more_signatures_than_people_can_give_is_refused_and_no_revision_waits_on_one(
        client, tokens, published, app):
    response = post(client, tokens["author"], "", {"id": "too-many", "title": "Т", "language": "ky",
                                                   "review_interval_days": 30,
                                                   "approval_rule": {"approvals": 3, "roles": ["approver"]}})
    assert response.status_code == 422
    assert response.json["errors"]["approval_rule.steps[0].approvals"] == [
        "the step asks for 3 signatures, and only 2 people can sign it"]
    # an approver who writes a revision of a policy needing both approvers' signatures: it would wait for good
    from sqlalchemy import update

    from service.accounts import users
    with app.extensions["policy_ledger"].engine.begin() as connection:
        connection.execute(update(users).where(users.c.name == "rector").values(roles="author,approver"))
    rector_writes = revise(client, {**tokens, "author": tokens["approver2"]}, PID,
                           [{"op": "amend", "section_id": published["second"], "text": "ректор"}])["id"]
    refused = post(client, tokens["approver2"], f"/{PID}/revisions/{rector_writes}/submit", {"reviewers": []})
    assert refused.status_code == 409 and "other than the author" in refused.json["detail"]
