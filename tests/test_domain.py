"""The policy's rules, as pure functions of its events: events in, command, events out (or a refusal)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from events.domain import types as ev
from events.domain.errors import (AlreadyExists, ApprovalRuleNotMet, EventOrderError, Forbidden, InvalidInput, NotFound,
                           RevisionConflict, SeparationOfDuties, WrongState)
from events.domain.policy import Actor, Policy

from .support import SequentialIds

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=timezone.utc)
AUTHOR = Actor(name="dean", role="author")
OTHER_AUTHOR = Actor(name="head", role="author")
REVIEWER = Actor(name="reviewer1", role="reviewer")
QA = Actor(name="qa-director", role="approver")
RECTOR = Actor(name="rector", role="approver")

SECTIONS = [
    {"kind": "heading", "title": "ОшМУнун миссиясы:", "text": "", "children": [
        {"kind": "item", "label": "•", "text": "билим берүүнүн сапатын камсыздоо;"},
        {"kind": "item", "label": "•", "text": "илимий-педагогикалык кадрларды даярдоо."},
    ]},
    {"kind": "paragraph", "text": "Саясат бардык деңгээлдерде жүзөгө ашырылат."},
]


def replay(policy: Policy) -> Policy:
    """Fold a fresh policy from everything the given one recorded."""
    return Policy.fold((i + 1, e, "2024-01-01T00:00:00.000000Z") for i, e in enumerate(policy.pending))


def new_policy(approvals: int = 2) -> tuple[Policy, SequentialIds, str]:
    ids = SequentialIds()
    policy = Policy()
    draft = policy.create(policy_id="oshsu-quality", title="Сапат саясаты", language="ky", owner="dean",
                          review_interval_days=365, approval_rule={"approvals": approvals, "roles": ["approver"]},
                          sections=SECTIONS, summary="Initial text", ids=ids, now=NOW)
    return policy, ids, draft


def published_policy() -> tuple[Policy, SequentialIds]:
    policy, ids, draft = new_policy()
    policy.adopt(actor=Actor(name="quality-office", role="admin"), revision_id=draft,
                 effective_from=datetime(2019, 9, 1, tzinfo=timezone.utc), reason="approved by the senate", now=NOW)
    return policy, ids


def approved_revision(policy: Policy, ids: SequentialIds, ops: list[dict] | None = None) -> str:
    rid = policy.open_revision(author="dean", summary="Amend provision", base_version=None, ids=ids, now=NOW)
    first_item = policy.document_at(policy.latest_version).children["s-0002"][0]
    policy.change(actor=AUTHOR, revision_id=rid,
                  ops=ops or [{"op": "amend", "section_id": first_item, "text": "жаңы текст ү ө ң"}], ids=ids, now=NOW)
    policy.submit(actor=AUTHOR, revision_id=rid, reviewers=["reviewer1"], now=NOW)
    policy.review(actor=REVIEWER, revision_id=rid, verdict="approve", comment="", now=NOW)
    policy.approve(actor=QA, revision_id=rid, meaning="approved as quality assurance director", comment="", now=NOW)
    policy.approve(actor=RECTOR, revision_id=rid, meaning="approved as rector", comment="", now=NOW)
    return rid


def test_creating_a_policy_with_sections_opens_a_draft_holding_them():
    policy, _, draft = new_policy()
    types = [e.type_name for e in policy.pending]
    assert types[:2] == ["PolicyCreated", "RevisionOpened"]
    assert types.count("SectionAdded") == 4
    tree = policy.revision(draft).preview.tree()
    assert tree[0]["title"] == "ОшМУнун миссиясы:"
    assert [c["text"] for c in tree[0]["children"]][1] == "илимий-педагогикалык кадрларды даярдоо."
    assert policy.latest_version == 0


def test_creating_a_policy_twice_is_refused():
    policy, ids, _ = new_policy()
    with pytest.raises(AlreadyExists):
        policy.create(policy_id="oshsu-quality", title="x", language="ky", owner="dean", review_interval_days=1,
                      approval_rule=None, sections=None, summary="", ids=ids, now=NOW)


@pytest.mark.parametrize("rule, field", [
    ({"approvals": 0}, "approval_rule.approvals"),
    ({"approvals": "2"}, "approval_rule.approvals"),
    ({"roles": ["author"]}, "approval_rule.roles"),
    ({"roles": []}, "approval_rule.roles"),
])
def test_a_bad_approval_rule_is_refused_naming_the_field(rule, field):
    with pytest.raises(InvalidInput) as refused:
        Policy().create(policy_id="pol", title="t", language="en", owner="o", review_interval_days=30,
                        approval_rule=rule, sections=None, summary="", ids=SequentialIds(), now=NOW)
    assert refused.value.field == field


def test_a_bad_initial_section_is_refused_naming_its_path():
    with pytest.raises(InvalidInput) as refused:
        Policy().create(policy_id="pol", title="t", language="en", owner="o", review_interval_days=30,
                        approval_rule=None, sections=[{"kind": "paragraph", "text": "ok"},
                                                      {"kind": "chapter", "text": "x"}],
                        summary="", ids=SequentialIds(), now=NOW)
    assert refused.value.field == "sections[1].kind"


def test_folding_the_recorded_events_gives_the_same_state():
    policy, ids = published_policy()
    approved_revision(policy, ids)
    again = replay(policy)
    assert again.version == policy.version
    assert again.document_at(1).tree() == policy.document_at(1).tree()
    assert {r: v.status for r, v in again.revisions.items()} == {r: v.status for r, v in policy.revisions.items()}


def test_events_applied_out_of_order_are_refused():
    policy = Policy()
    event = ev.PolicyCreated(policy_id="pol", title="t", language="en", owner="o", review_interval_days=1,
                             approval_rule={"approvals": 1, "roles": ["approver"]})
    with pytest.raises(EventOrderError):
        policy.apply(event, 2, "2024-01-01T00:00:00.000000Z")


def test_section_ids_survive_amendments_and_moves():
    policy, ids = published_policy()
    doc = policy.document_at(1)
    mission, paragraph = doc.children[None]
    first, second = doc.children[mission]
    rid = policy.open_revision(author="dean", summary="reorder", base_version=None, ids=ids, now=NOW)
    policy.change(actor=AUTHOR, revision_id=rid, ids=ids, now=NOW, ops=[
        {"op": "amend", "section_id": second, "text": "өзгөртүлгөн текст"},
        {"op": "move", "section_id": second, "parent_id": None, "after_id": paragraph},
    ])
    preview = policy.revision(rid).preview
    assert preview.children[None] == (mission, paragraph, second)
    assert preview.sections[second].text == "өзгөртүлгөн текст"
    assert preview.children[mission] == (first,)


@pytest.mark.parametrize("op, field", [
    ({"op": "amend", "section_id": "nope", "text": "x"}, "changes[0].section_id"),
    ({"op": "add", "kind": "item", "parent_id": "nope", "text": "x"}, "changes[0].parent_id"),
    ({"op": "add", "kind": "verse", "text": "x"}, "changes[0].kind"),
    ({"op": "add", "kind": "item", "text": ""}, "changes[0].text"),
    ({"op": "add", "kind": "item", "text": 5}, "changes[0].text"),
    ({"op": "explode"}, "changes[0].op"),
    ({"op": "remove"}, "changes[0].section_id"),
    ({"op": "remove", "section_id": "s-0003", "extra": 1}, "changes[0].extra"),
    ({"op": "retitle", "title": "  "}, "changes[0].title"),
])
def test_a_bad_change_is_refused_naming_the_field_and_records_nothing(op, field):
    policy, ids = published_policy()
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    before = len(policy.pending)
    with pytest.raises((InvalidInput, NotFound)) as refused:
        policy.change(actor=AUTHOR, revision_id=rid, ops=[op], ids=ids, now=NOW)
    assert refused.value.field == field
    assert len(policy.pending) == before


def test_a_section_cannot_move_into_its_own_subtree():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]
    child = policy.document_at(1).children[mission][0]
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    with pytest.raises(InvalidInput):
        policy.change(actor=AUTHOR, revision_id=rid, ids=ids, now=NOW,
                      ops=[{"op": "move", "section_id": mission, "parent_id": child, "after_id": None}])


def test_removing_a_section_removes_its_subtree():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    policy.change(actor=AUTHOR, revision_id=rid, ids=ids, now=NOW, ops=[{"op": "remove", "section_id": mission}])
    assert len(policy.revision(rid).preview.sections) == 1


def test_only_the_author_may_change_a_revision():
    policy, ids = published_policy()
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    with pytest.raises(Forbidden):
        policy.change(actor=OTHER_AUTHOR, revision_id=rid, ops=[{"op": "retitle", "title": "New"}], ids=ids, now=NOW)


def test_an_empty_revision_cannot_be_submitted():
    policy, ids = published_policy()
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    with pytest.raises(WrongState):
        policy.submit(actor=AUTHOR, revision_id=rid, reviewers=[], now=NOW)


def test_the_author_can_neither_review_nor_approve_nor_publish_their_revision():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    author_as_approver = Actor(name="dean", role="approver")
    with pytest.raises(SeparationOfDuties):
        policy.review(actor=author_as_approver, revision_id=rid, verdict="approve", comment="", now=NOW)
    with pytest.raises(SeparationOfDuties):
        policy.approve(actor=author_as_approver, revision_id=rid, meaning="approved", comment="", now=NOW)
    with pytest.raises(SeparationOfDuties):
        policy.publish(actor=author_as_approver, revision_id=rid, effective_from=NOW, reason=None, editorial=False,
                       now=NOW)
    with pytest.raises(SeparationOfDuties):
        policy.submit(actor=AUTHOR, revision_id=policy.open_revision(
            author="dean", summary="x", base_version=None, ids=ids, now=NOW), reviewers=["dean"], now=NOW)


def test_only_named_reviewers_may_review():
    policy, ids = published_policy()
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    policy.change(actor=AUTHOR, revision_id=rid, ops=[{"op": "retitle", "title": "Жаңы"}], ids=ids, now=NOW)
    policy.submit(actor=AUTHOR, revision_id=rid, reviewers=["reviewer1"], now=NOW)
    with pytest.raises(Forbidden):
        policy.review(actor=Actor(name="stranger", role="reviewer"), revision_id=rid, verdict="approve",
                      comment="", now=NOW)


def test_a_signature_needs_a_meaning_from_the_list_and_a_rule_role():
    policy, ids = published_policy()
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    policy.change(actor=AUTHOR, revision_id=rid, ops=[{"op": "retitle", "title": "Жаңы"}], ids=ids, now=NOW)
    policy.submit(actor=AUTHOR, revision_id=rid, reviewers=[], now=NOW)
    with pytest.raises(InvalidInput) as refused:
        policy.approve(actor=QA, revision_id=rid, meaning="reviewer", comment="", now=NOW)
    assert refused.value.field == "meaning"
    with pytest.raises(Forbidden):
        policy.approve(actor=Actor(name="x", role="reviewer"), revision_id=rid, meaning="approved", comment="",
                       now=NOW)
    policy.approve(actor=QA, revision_id=rid, meaning="approved", comment="", now=NOW)
    with pytest.raises(WrongState):
        policy.approve(actor=QA, revision_id=rid, meaning="approved", comment="", now=NOW)


def test_publishing_needs_the_approval_rule_met():
    policy, ids = published_policy()
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    policy.change(actor=AUTHOR, revision_id=rid, ops=[{"op": "retitle", "title": "Жаңы"}], ids=ids, now=NOW)
    policy.submit(actor=AUTHOR, revision_id=rid, reviewers=["reviewer1"], now=NOW)
    policy.approve(actor=QA, revision_id=rid, meaning="approved", comment="", now=NOW)
    policy.approve(actor=RECTOR, revision_id=rid, meaning="reviewed", comment="", now=NOW)
    with pytest.raises(ApprovalRuleNotMet) as refused:
        policy.publish(actor=RECTOR, revision_id=rid, effective_from=NOW, reason=None, editorial=False, now=NOW)
    assert "1 of 2 approvals" in refused.value.message
    assert "reviews pending from reviewer1" in refused.value.message


def test_a_full_approval_publishes_the_next_version():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    assert policy.revision(rid).status == "approved"
    version = policy.publish(actor=RECTOR, revision_id=rid, effective_from=datetime(2024, 9, 1, tzinfo=timezone.utc),
                             reason=None, editorial=False, now=NOW)
    assert version == 2
    published = policy.pending[-1]
    assert isinstance(published, ev.RevisionPublished)
    assert published.backdated is False
    assert published.content_hash == policy.revision(rid).content_hash


def test_changes_after_a_review_void_its_verdict_and_signatures():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    policy.review(actor=REVIEWER, revision_id=rid, verdict="request_changes", comment="шилтеме кошуңуз", now=NOW)
    rev = policy.revision(rid)
    assert rev.status == "draft"
    seen = rev.content_hash
    policy.change(actor=AUTHOR, revision_id=rid, ops=[{"op": "retitle", "title": "Башка"}], ids=ids, now=NOW)
    assert rev.content_hash != seen
    assert all(s.content_hash != rev.content_hash for s in rev.signatures)
    policy.submit(actor=AUTHOR, revision_id=rid, reviewers=["reviewer1"], now=NOW)
    assert rev.status == "in_review"  # old approvals no longer count
    with pytest.raises(ApprovalRuleNotMet):
        policy.publish(actor=RECTOR, revision_id=rid, effective_from=NOW, reason=None, editorial=False, now=NOW)


def test_a_request_for_changes_needs_a_comment():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    with pytest.raises(InvalidInput) as refused:
        policy.review(actor=REVIEWER, revision_id=rid, verdict="request_changes", comment=" ", now=NOW)
    assert refused.value.field == "comment"


def test_a_past_effective_date_needs_a_reason_and_is_marked_backdated():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    past = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(InvalidInput) as refused:
        policy.publish(actor=RECTOR, revision_id=rid, effective_from=past, reason=None, editorial=False, now=NOW)
    assert refused.value.field == "reason"
    policy.publish(actor=RECTOR, revision_id=rid, effective_from=past, reason="senate decision of 2023-12-20",
                   editorial=False, now=NOW)
    assert policy.pending[-1].backdated is True


def test_an_effective_date_before_the_previous_versions_is_refused():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    with pytest.raises(WrongState) as refused:
        policy.publish(actor=RECTOR, revision_id=rid, effective_from=datetime(2018, 1, 1, tzinfo=timezone.utc),
                       reason="old", editorial=False, now=NOW)
    assert refused.value.field == "effective_from"


def test_a_stale_revision_that_touches_other_sections_publishes_on_the_newest_version():
    policy, ids = published_policy()
    doc = policy.document_at(1)
    mission, paragraph = doc.children[None]
    item1, item2 = doc.children[mission]
    first = approved_revision(policy, ids, [{"op": "amend", "section_id": item1, "text": "биринчи"}])
    second = approved_revision(policy, ids, [{"op": "amend", "section_id": paragraph, "text": "экинчи"}])
    policy.publish(actor=RECTOR, revision_id=first, effective_from=NOW, reason=None, editorial=False, now=NOW)
    policy.publish(actor=QA, revision_id=second, effective_from=NOW, reason=None, editorial=False, now=NOW)
    final = policy.document_at(3)
    assert final.sections[item1].text == "биринчи"
    assert final.sections[paragraph].text == "экинчи"


def test_a_stale_revision_touching_a_changed_section_is_a_conflict_naming_it():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]
    item1 = policy.document_at(1).children[mission][0]
    first = approved_revision(policy, ids, [{"op": "amend", "section_id": item1, "text": "биринчи"}])
    second = approved_revision(policy, ids, [{"op": "amend", "section_id": item1, "text": "экинчи"}])
    policy.publish(actor=RECTOR, revision_id=first, effective_from=NOW, reason=None, editorial=False, now=NOW)
    before = len(policy.pending)
    with pytest.raises(RevisionConflict) as refused:
        policy.publish(actor=QA, revision_id=second, effective_from=NOW, reason=None, editorial=False, now=NOW)
    assert refused.value.sections == [item1]
    assert len(policy.pending) == before
    assert policy.document_at(2).sections[item1].text == "биринчи"


def test_a_stale_revision_anchored_on_a_removed_section_is_a_conflict():
    policy, ids = published_policy()
    mission, paragraph = policy.document_at(1).children[None]
    first = approved_revision(policy, ids, [{"op": "remove", "section_id": paragraph}])
    second = approved_revision(policy, ids, [{"op": "add", "kind": "paragraph", "parent_id": None,
                                              "after_id": paragraph, "text": "кошумча"}])
    policy.publish(actor=RECTOR, revision_id=first, effective_from=NOW, reason=None, editorial=False, now=NOW)
    with pytest.raises(RevisionConflict) as refused:
        policy.publish(actor=QA, revision_id=second, effective_from=NOW, reason=None, editorial=False, now=NOW)
    assert refused.value.sections == ["after_id"] or paragraph in refused.value.sections


def test_rejected_and_withdrawn_revisions_are_final():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    with pytest.raises(InvalidInput):
        policy.reject(actor=QA, revision_id=rid, reason="", now=NOW)
    with pytest.raises(SeparationOfDuties):
        policy.reject(actor=Actor(name="dean", role="approver"), revision_id=rid, reason="no", now=NOW)
    policy.reject(actor=QA, revision_id=rid, reason="contradicts the charter", now=NOW)
    with pytest.raises(WrongState):
        policy.withdraw(actor=AUTHOR, revision_id=rid, reason="too late", now=NOW)
    with pytest.raises(WrongState):
        policy.publish(actor=RECTOR, revision_id=rid, effective_from=NOW, reason=None, editorial=False, now=NOW)
    other = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    with pytest.raises(Forbidden):
        policy.withdraw(actor=OTHER_AUTHOR, revision_id=other, reason="not mine", now=NOW)
    policy.withdraw(actor=AUTHOR, revision_id=other, reason="superseded", now=NOW)
    assert policy.revision(other).status == "withdrawn"


def test_only_the_first_version_can_be_adopted_and_only_with_a_reason():
    policy, ids, draft = new_policy()
    admin = Actor(name="quality-office", role="admin")
    with pytest.raises(InvalidInput):
        policy.adopt(actor=admin, revision_id=draft, effective_from=NOW, reason="", now=NOW)
    policy.adopt(actor=admin, revision_id=draft, effective_from=NOW, reason="approved on paper", now=NOW)
    rid = policy.open_revision(author="dean", summary="x", base_version=None, ids=ids, now=NOW)
    policy.change(actor=AUTHOR, revision_id=rid, ops=[{"op": "retitle", "title": "Жаңы"}], ids=ids, now=NOW)
    with pytest.raises(WrongState):
        policy.adopt(actor=admin, revision_id=rid, effective_from=NOW, reason="skip review", now=NOW)


def test_responsibility_is_assigned_to_known_sections_and_revoked_once():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]
    with pytest.raises(NotFound):
        policy.assign(party="Окуу бөлүмү", party_kind="unit", section_id="s-9999", duty="owner", valid_from=None,
                      ids=ids, now=NOW)
    with pytest.raises(InvalidInput):
        policy.assign(party="x", party_kind="robot", section_id=None, duty="owner", valid_from=None, ids=ids, now=NOW)
    aid = policy.assign(party="Окуу бөлүмү", party_kind="unit", section_id=mission, duty="responsible",
                        valid_from=None, ids=ids, now=NOW)
    policy.revoke(assignment_id=aid, valid_to=None, now=NOW)
    with pytest.raises(WrongState):
        policy.revoke(assignment_id=aid, valid_to=None, now=NOW)


def test_a_periodic_review_is_recorded_even_with_no_change():
    policy, ids = published_policy()
    policy.record_periodic_review(outcome="no_change", notes="Өзгөртүү талап кылынбайт", ids=ids, now=NOW)
    event = policy.pending[-1]
    assert isinstance(event, ev.PeriodicReviewRecorded)
    assert event.next_review_due.startswith("2025-06-01")
    with pytest.raises(InvalidInput):
        policy.record_periodic_review(outcome="maybe", notes="", ids=ids, now=NOW)


def test_an_acknowledgement_is_bound_to_the_versions_content_hash():
    policy, ids = published_policy()
    policy.acknowledge(person="teacher", version=1, now=NOW)
    assert policy.pending[-1].content_hash == policy.versions[0].content_hash
    with pytest.raises(WrongState):
        policy.acknowledge(person="teacher", version=1, now=NOW)
    with pytest.raises(NotFound):
        policy.acknowledge(person="teacher", version=7, now=NOW)


def test_an_upcaster_brings_an_old_payload_to_the_current_schema():
    from dataclasses import dataclass
    from typing import ClassVar

    @dataclass(frozen=True, kw_only=True)
    class Noted(ev.Event):
        type_name: ClassVar[str] = "Noted"
        schema: ClassVar[int] = 3
        text: str
        language: str

    steps = {("Noted", 1): lambda d: {"text": d["body"]}, ("Noted", 2): lambda d: {**d, "language": "ky"}}
    data = ev.upcast("Noted", 1, {"body": "саламатсызбы"}, registry={"Noted": Noted}, upcasters=steps)
    assert data == {"text": "саламатсызбы", "language": "ky"}
    with pytest.raises(ValueError):
        ev.upcast("Noted", 4, {}, registry={"Noted": Noted}, upcasters=steps)


@pytest.mark.parametrize("policy_id", ["", "a", "Upper", "-lead", "trail-", "has space", "x" * 101, "ҮӨҢ"])
def test_a_policy_id_must_be_a_slug(policy_id):
    with pytest.raises(InvalidInput) as refused:
        Policy().create(policy_id=policy_id, title="t", language="en", owner="o", review_interval_days=30,
                        approval_rule=None, sections=None, summary="", ids=SequentialIds(), now=NOW)
    assert refused.value.field == "id"
