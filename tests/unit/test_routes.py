"""Approval routes, delegation, recall and changed reviewers, as pure functions of the policy's events."""
from __future__ import annotations

import pytest

from events.domain import commands as cmd
from events.domain import types as ev
from events.domain.errors import Forbidden, InvalidInput, RevisionConflict, SeparationOfDuties, WrongState
from events.domain.policy import Actor, Policy
from events.domain.rules import Route, Step, route_progress
from tests.unit.test_domain import (
    AUTHOR,
    NOW,
    PID,
    QA,
    RECTOR,
    REVIEWER,
    approve,
    change,
    open_revision,
    publish,
    published_policy,
    replay,
    review,
    submit,
)

COUNCIL = [Actor(name=f"council{i}", role="approver") for i in range(3)]
ROUTE = Route(steps=(Step(users=("qa-director",), meanings=("approved as quality assurance director",)),
                     Step(approvals=2, users=tuple(a.name for a in COUNCIL)),
                     Step(users=("rector",), meanings=("approved as rector",))))


def routed_policy(route: Route = ROUTE):
    """A published policy whose route was brought in by a revision of its own."""
    policy, ids = published_policy()
    rid = open_revision(policy, ids, "маршрут")
    change(policy, rid, cmd.ChangeRoute(approval_rule=route), ids=ids)
    submit(policy, rid)
    approve(policy, rid, "approved", QA)
    approve(policy, rid, "approved", RECTOR)
    publish(policy, rid, RECTOR)
    return policy, ids


def draft_in_review(policy: Policy, ids, *reviewers: str) -> str:
    rid = open_revision(policy, ids)
    change(policy, rid, cmd.RetitlePolicy(title="Жаңы аталыш"), ids=ids)
    submit(policy, rid, *reviewers)
    return rid


def sign(policy: Policy, rid: str, meaning: str, actor: Actor, **extra) -> None:
    policy.approve(cmd.ApproveRevision(policy_id=PID, revision_id=rid, meaning=meaning, **extra), actor=actor, now=NOW)


def test_the_simple_rule_is_one_step_and_keeps_its_stored_shape():
    route = Route.from_data({"approvals": 2, "roles": ["approver"]})
    assert route.steps == (Step(approvals=2, roles=("approver",)),)
    assert route.to_data() == {"approvals": 2, "roles": ["approver"]}
    assert Route.from_data(ROUTE.to_data()) == ROUTE


@pytest.mark.parametrize("data, field", [
    ({"steps": []}, "approval_rule.steps"),
    ({"steps": [{"approvals": 1}]}, "approval_rule.steps[0].users"),
    ({"steps": [{"approvals": 3, "users": ["a", "b"]}]}, "approval_rule.steps[0].approvals"),
    ({"steps": [{"roles": ["reviewer"]}]}, "approval_rule.steps[0].roles"),
    ({"steps": [{"roles": ["approver"], "meanings": ["reviewed"]}]}, "approval_rule.steps[0].meanings"),
])
def test_a_route_that_could_never_be_met_is_refused_naming_the_field(data, field):
    with pytest.raises(InvalidInput) as refused:
        Route.from_data(data)
    assert refused.value.field == field


def test_a_route_changes_only_through_a_published_revision():
    policy, ids = published_policy()
    rid = open_revision(policy, ids, "маршрут")
    change(policy, rid, cmd.ChangeRoute(approval_rule=ROUTE), ids=ids)
    submit(policy, rid)
    approve(policy, rid, "approved", QA)
    approve(policy, rid, "approved", RECTOR)  # signed under the old rule: two approvers
    assert policy.rule != ROUTE
    publish(policy, rid, RECTOR)
    assert policy.rule == ROUTE
    published = policy.pending[-1]
    assert isinstance(published, ev.RevisionPublished) and published.approval_rule == ROUTE.to_data()
    assert replay(policy).rule == ROUTE


def test_changing_the_route_after_signatures_voids_them_like_a_change_of_text():
    policy, ids = published_policy()
    rid = open_revision(policy, ids, "маршрут")
    change(policy, rid, cmd.ChangeRoute(approval_rule=ROUTE), ids=ids)
    before = policy.revision(rid).content_hash
    other = Route(steps=(Step(users=("rector",)),))
    change(policy, rid, cmd.ChangeRoute(approval_rule=other), ids=ids)
    assert policy.revision(rid).content_hash != before


def test_two_revisions_changing_the_route_clash_like_two_changing_one_section():
    policy, ids = published_policy()
    first, second = open_revision(policy, ids, "a"), open_revision(policy, ids, "b")
    for rid, route in ((first, ROUTE), (second, Route(steps=(Step(users=("rector",)),)))):
        change(policy, rid, cmd.ChangeRoute(approval_rule=route), ids=ids)
        submit(policy, rid)
        approve(policy, rid, "approved", QA)
        approve(policy, rid, "approved", RECTOR)
    publish(policy, first, RECTOR)
    with pytest.raises(RevisionConflict):
        publish(policy, second, RECTOR)


def test_steps_sign_in_order_with_the_meanings_each_accepts():
    policy, ids = routed_policy()
    rid = draft_in_review(policy, ids)
    with pytest.raises(Forbidden) as early:
        sign(policy, rid, "approved as rector", RECTOR)
    assert "step 1" in early.value.message
    with pytest.raises(InvalidInput) as meaning:
        sign(policy, rid, "approved", QA)
    assert meaning.value.field == "meaning"
    sign(policy, rid, "approved as quality assurance director", QA)
    with pytest.raises(Forbidden):
        sign(policy, rid, "approved", RECTOR)  # step 2 is the council's
    sign(policy, rid, "approved", COUNCIL[0])
    progress = route_progress(policy.rule, policy.revision(rid).signatures, policy.revision(rid).content_hash)
    assert [(p.status, p.signers) for p in progress] == [
        ("done", ("qa-director",)), ("waiting", ("council0",)), ("pending", ())]
    sign(policy, rid, "approved", COUNCIL[2])
    assert policy.revision(rid).status == "in_review"
    sign(policy, rid, "approved as rector", RECTOR)
    assert policy.revision(rid).status == "approved"
    completed = policy.pending[-1]
    assert isinstance(completed, ev.RevisionApprovalCompleted)
    assert completed.approvers == ["council0", "council2", "qa-director", "rector"]


def test_a_person_named_in_two_steps_signs_each_of_them():
    route = Route(steps=(Step(roles=("approver",)), Step(users=("rector",))))
    policy, ids = routed_policy(route)
    rid = draft_in_review(policy, ids)
    sign(policy, rid, "approved", RECTOR)
    sign(policy, rid, "approved as rector", RECTOR)
    assert policy.revision(rid).status == "approved"


def test_reviewed_then_approved_by_one_approver_on_the_same_content_both_stand():
    policy, ids = published_policy()
    rid = draft_in_review(policy, ids)
    sign(policy, rid, "reviewed", QA)
    sign(policy, rid, "approved", QA)
    with pytest.raises(WrongState):
        sign(policy, rid, "approved as rector", QA)
    with pytest.raises(WrongState):
        sign(policy, rid, "reviewed", QA)
    sign(policy, rid, "approved", RECTOR)
    assert policy.revision(rid).status == "approved"


def test_a_delegates_signature_counts_for_the_absent_person_and_records_both():
    policy, ids = routed_policy()
    rid = draft_in_review(policy, ids)
    deputy = Actor(name="prorector", role="approver")
    sign(policy, rid, "approved as quality assurance director", deputy, on_behalf_of="qa-director",
         on_behalf_of_role="approver", full_name="Проректор Ү.")
    signed = policy.pending[-1]
    assert isinstance(signed, ev.RevisionApproved)
    assert (signed.approver, signed.on_behalf_of, signed.full_name, signed.step) == (
        "prorector", "qa-director", "Проректор Ү.", 0)
    progress = route_progress(policy.rule, policy.revision(rid).signatures, policy.revision(rid).content_hash)
    assert progress[0].status == "done" and progress[0].signers == ("qa-director",)


def test_separation_of_duties_binds_the_delegate_and_the_person_they_sign_for():
    policy, ids = published_policy()
    rid = draft_in_review(policy, ids)
    with pytest.raises(SeparationOfDuties):  # the author's delegate cannot approve the author's revision
        sign(policy, rid, "approved", QA, on_behalf_of=AUTHOR.name, on_behalf_of_role="approver")
    with pytest.raises(SeparationOfDuties):  # nor can the author sign as someone's delegate
        sign(policy, rid, "approved", Actor(name=AUTHOR.name, role="approver"), on_behalf_of="rector",
             on_behalf_of_role="approver")
    sign(policy, rid, "approved", QA, on_behalf_of="rector", on_behalf_of_role="approver")
    with pytest.raises(WrongState):  # one person does not count twice in a step, in person and as a delegate
        sign(policy, rid, "approved", QA)
    with pytest.raises(WrongState):  # nor does the absent person, whose delegate signed for them
        sign(policy, rid, "approved", RECTOR)


def test_recall_takes_a_revision_back_to_draft_and_voids_its_reviews_and_signatures():
    policy, ids = published_policy()
    rid = draft_in_review(policy, ids, "reviewer1")
    review(policy, rid, "approve")
    sign(policy, rid, "approved", QA)
    with pytest.raises(Forbidden):
        policy.recall(cmd.RecallRevision(policy_id=PID, revision_id=rid), actor=Actor(name="head", role="author"),
                      now=NOW)
    policy.recall(cmd.RecallRevision(policy_id=PID, revision_id=rid), actor=AUTHOR, now=NOW)
    rev = policy.revision(rid)
    assert rev.status == "draft" and rev.reviews == [] and rev.signatures == []
    with pytest.raises(WrongState):
        policy.recall(cmd.RecallRevision(policy_id=PID, revision_id=rid), actor=AUTHOR, now=NOW)
    submit(policy, rid, "reviewer1")  # the same content: the old review no longer counts
    sign(policy, rid, "approved", QA)
    sign(policy, rid, "approved", RECTOR)
    assert policy.revision(rid).status == "in_review"
    assert replay(policy).revision(rid).signatures == policy.revision(rid).signatures


def test_reviewers_change_while_in_review_and_the_revision_moves_on_when_they_are_satisfied():
    policy, ids = published_policy()
    rid = draft_in_review(policy, ids, "reviewer1", "reviewer2")
    review(policy, rid, "approve")
    sign(policy, rid, "approved", QA)
    sign(policy, rid, "approved", RECTOR)
    assert policy.revision(rid).status == "in_review"  # reviewer2 has not reviewed
    with pytest.raises(SeparationOfDuties):
        policy.change_reviewers(cmd.ChangeReviewers(policy_id=PID, revision_id=rid, reviewers=("dean",)),
                                actor=AUTHOR, now=NOW)
    with pytest.raises(Forbidden):
        policy.change_reviewers(cmd.ChangeReviewers(policy_id=PID, revision_id=rid, reviewers=("reviewer1",)),
                                actor=REVIEWER, now=NOW)
    policy.change_reviewers(cmd.ChangeReviewers(policy_id=PID, revision_id=rid, reviewers=("reviewer1",)),
                            actor=AUTHOR, now=NOW)
    assert policy.revision(rid).status == "approved"


def test_old_signatures_and_publications_are_read_in_the_new_shape():
    signed = ev.from_record("RevisionApproved", 1, {
        "revision_id": "r", "approver": "rector", "role": "approver", "meaning": "approved", "comment": "",
        "content_hash": "sha256:x"})
    assert isinstance(signed, ev.RevisionApproved)
    assert (signed.step, signed.full_name, signed.on_behalf_of) == (0, "rector", None)
    published = ev.from_record("RevisionPublished", 1, {
        "revision_id": "r", "version": 3, "base_version": 1, "effective_from": "x", "backdated": False,
        "editorial": False, "adopted": False, "title": "t", "content_hash": "sha256:y"})
    assert isinstance(published, ev.RevisionPublished)
    assert (published.rebased, published.signed_content_hash, published.approval_rule) == (True, None, None)


def test_a_revision_whose_author_is_a_step_s_only_signer_is_refused_at_submission_not_left_waiting():
    policy, ids = routed_policy(Route(steps=(Step(users=("rector",)),)))
    rid = policy.open_revision(cmd.OpenRevision(policy_id=PID, summary="ректордун"), author="rector", ids=ids,
                               now=NOW)
    author = Actor(name="rector", role="author")
    policy.change(cmd.ChangeRevision(policy_id=PID, revision_id=rid, changes=(cmd.RetitlePolicy(title="Ж"),)),
                  actor=author, ids=ids, now=NOW)
    with pytest.raises(SeparationOfDuties) as refused:
        policy.submit(cmd.SubmitRevision(policy_id=PID, revision_id=rid, reviewers=()), actor=author, now=NOW)
    assert "step 1" in refused.value.message and policy.revision(rid).status == "draft"
