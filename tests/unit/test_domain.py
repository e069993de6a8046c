"""The policy's rules, as pure functions of its events: events in, command, events out (or a refusal)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from events.domain import commands as cmd
from events.domain import policy as policy_module
from events.domain import rules
from events.domain import types as ev
from events.domain.errors import (
    AlreadyExists,
    ApprovalRuleNotMet,
    EventOrderError,
    Forbidden,
    InvalidInput,
    NotFound,
    RevisionConflict,
    SeparationOfDuties,
    WrongState,
)
from events.domain.policy import Actor, Policy
from events.domain.rules import ApprovalRule
from tests.support import SequentialIds

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
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


PID = "oshsu-quality"


def create(policy_id: str = PID, **fields) -> cmd.CreatePolicy:
    """A CreatePolicy command with plain defaults."""
    return cmd.CreatePolicy(**{"policy_id": policy_id, "title": "t", "language": "en", "review_interval_days": 30,
                               **fields})


def new_policy(approvals: int = 2) -> tuple[Policy, SequentialIds, str]:
    ids = SequentialIds()
    policy = Policy()
    draft = policy.create(create(title="Сапат саясаты", language="ky", review_interval_days=365,
                                 approval_rule=ApprovalRule(approvals=approvals, roles=("approver",)),
                                 sections=cmd.section_drafts(SECTIONS)), owner="dean", ids=ids, now=NOW)
    assert draft is not None
    return policy, ids, draft


def published_policy() -> tuple[Policy, SequentialIds]:
    policy, ids, draft = new_policy()
    policy.adopt(cmd.AdoptRevision(policy_id=PID, revision_id=draft,
                                   effective_from=datetime(2019, 9, 1, tzinfo=UTC)),
                 reason="approved by the senate", now=NOW)
    return policy, ids


def open_revision(policy: Policy, ids: SequentialIds, summary: str = "x") -> str:
    return policy.open_revision(cmd.OpenRevision(policy_id=PID, summary=summary), author="dean", ids=ids, now=NOW)


def change(policy: Policy, rid: str, *ops: cmd.Change, ids: SequentialIds, actor: Actor = AUTHOR) -> list[str]:
    return policy.change(cmd.ChangeRevision(policy_id=PID, revision_id=rid, changes=ops), actor=actor, ids=ids, now=NOW)


def submit(policy: Policy, rid: str, *reviewers: str) -> None:
    policy.submit(cmd.SubmitRevision(policy_id=PID, revision_id=rid, reviewers=reviewers), actor=AUTHOR, now=NOW)


def review(policy: Policy, rid: str, verdict: str, comment: str = "", actor: Actor = REVIEWER) -> None:
    policy.review(cmd.ReviewRevision(policy_id=PID, revision_id=rid, verdict=verdict, comment=comment), actor=actor,
                  now=NOW)


def approve(policy: Policy, rid: str, meaning: str, actor: Actor) -> None:
    policy.approve(cmd.ApproveRevision(policy_id=PID, revision_id=rid, meaning=meaning), actor=actor, now=NOW)


def publish(policy: Policy, rid: str, actor: Actor, effective_from: datetime = NOW, reason: str | None = None) -> int:
    return policy.publish(cmd.PublishRevision(policy_id=PID, revision_id=rid, effective_from=effective_from),
                          actor=actor, reason=reason, now=NOW)


def approved_revision(policy: Policy, ids: SequentialIds, ops: list[cmd.Change] | None = None) -> str:
    rid = open_revision(policy, ids, "Amend provision")
    first_item = policy.document_at(policy.latest_version).children["s-0002"][0]
    change(policy, rid, *(ops or [cmd.AmendSection(section_id=first_item, text="жаңы текст ү ө ң")]), ids=ids)
    submit(policy, rid, "reviewer1")
    review(policy, rid, "approve")
    approve(policy, rid, "approved as quality assurance director", QA)
    approve(policy, rid, "approved as rector", RECTOR)
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
        policy.create(create(title="x", language="ky", review_interval_days=1), owner="dean", ids=ids, now=NOW)


@pytest.mark.parametrize("rule, field", [
    ({"approvals": 0}, "approval_rule.approvals"),
    ({"approvals": "2"}, "approval_rule.approvals"),
    ({"approvals": 21}, "approval_rule.approvals"),
    ({"roles": ("author",)}, "approval_rule.roles"),
    ({"roles": ()}, "approval_rule.roles"),
])
def test_a_bad_approval_rule_is_refused_naming_the_field(rule, field):
    with pytest.raises(InvalidInput) as refused:
        ApprovalRule(**rule)
    assert refused.value.field == field


@pytest.mark.parametrize("fields, field", [
    ({"title": "  "}, "title"),
    ({"language": "Kyrgyz"}, "language"),
    ({"review_interval_days": 0}, "review_interval_days"),
    ({"review_interval_days": 3661}, "review_interval_days"),
])
def test_a_bad_policy_field_is_refused_naming_it(fields, field):
    with pytest.raises(InvalidInput) as refused:
        Policy().create(create("pol", **fields), owner="o", ids=SequentialIds(), now=NOW)
    assert refused.value.field == field


def test_a_bad_initial_section_is_refused_naming_its_path():
    with pytest.raises(InvalidInput) as refused:
        Policy().create(create("pol", sections=cmd.section_drafts([{"kind": "paragraph", "text": "ok"},
                                                                   {"kind": "chapter", "text": "x"}])),
                        owner="o", ids=SequentialIds(), now=NOW)
    assert refused.value.field == "sections[1].kind"


def test_folding_the_recorded_events_gives_the_same_state():
    policy, ids = published_policy()
    approved_revision(policy, ids)
    again = replay(policy)
    assert again.version == policy.version
    assert again.document_at(1).tree() == policy.document_at(1).tree()
    assert {r: v.status for r, v in again.revisions.items()} == {r: v.status for r, v in policy.revisions.items()}
    assert {r: v.preview for r, v in again.revisions.items()} == {r: v.preview for r, v in policy.revisions.items()}


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
    rid = open_revision(policy, ids, "reorder")
    change(policy, rid, cmd.AmendSection(section_id=second, text="өзгөртүлгөн текст"),
           cmd.MoveSection(section_id=second, parent_id=None, after_id=paragraph), ids=ids)
    preview = policy.revision(rid).preview
    assert preview.children[None] == [mission, paragraph, second]
    assert preview.sections[second].text == "өзгөртүлгөн текст"
    assert preview.children[mission] == [first]
    assert policy.document_at(1).children[mission] == [first, second], "the published version is never touched"


def test_an_amendment_keeps_what_it_does_not_name_and_clears_what_it_sets_to_none():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]
    rid = open_revision(policy, ids)
    change(policy, rid, cmd.AmendSection(section_id=mission, label="I."), ids=ids)
    assert policy.revision(rid).preview.sections[mission].title == "ОшМУнун миссиясы:"
    change(policy, rid, cmd.AmendSection(section_id=mission, label=None, text="миссия"), ids=ids)
    amended = policy.revision(rid).preview.sections[mission]
    assert (amended.label, amended.title, amended.text) == (None, "ОшМУнун миссиясы:", "миссия")


@pytest.mark.parametrize("op, field", [
    (cmd.AmendSection(section_id="nope", text="x"), "changes[0].section_id"),
    (cmd.AmendSection(section_id="s-0002"), "changes[0].text"),
    (cmd.AddSection(kind="item", parent_id="nope", text="x"), "changes[0].parent_id"),
    (cmd.AddSection(kind="item", after_id="s-0003", text="x"), "changes[0].after_id"),
    (cmd.AddSection(kind="verse", text="x"), "changes[0].kind"),
    (cmd.AddSection(kind="item", text=""), "changes[0].text"),
    (cmd.AddSection(kind="item", text=5), "changes[0].text"),  # type: ignore[arg-type]
    (cmd.RemoveSection(section_id="nope"), "changes[0].section_id"),
    (cmd.MoveSection(section_id="s-0003", after_id="s-0003"), "changes[0].after_id"),
    (cmd.RetitlePolicy(title="  "), "changes[0].title"),
])
def test_a_bad_change_is_refused_naming_the_field_and_records_nothing(op, field):
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    before = len(policy.pending)
    with pytest.raises((InvalidInput, NotFound)) as refused:
        change(policy, rid, op, ids=ids)
    assert refused.value.field == field
    assert len(policy.pending) == before


def test_a_refused_change_in_a_batch_names_its_index():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    with pytest.raises(NotFound) as refused:
        change(policy, rid, cmd.RetitlePolicy(title="Жаңы"), cmd.RemoveSection(section_id="nope"), ids=ids)
    assert refused.value.field == "changes[1].section_id"


def test_a_section_cannot_move_into_its_own_subtree():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]
    child = policy.document_at(1).children[mission][0]
    rid = open_revision(policy, ids)
    with pytest.raises(InvalidInput):
        change(policy, rid, cmd.MoveSection(section_id=mission, parent_id=child, after_id=None), ids=ids)


def test_removing_a_section_removes_its_subtree():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]
    rid = open_revision(policy, ids)
    change(policy, rid, cmd.RemoveSection(section_id=mission), ids=ids)
    assert len(policy.revision(rid).preview.sections) == 1
    assert len(policy.document_at(1).sections) == 4, "the published version is never touched"


def test_only_the_author_may_change_a_revision():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    with pytest.raises(Forbidden):
        change(policy, rid, cmd.RetitlePolicy(title="New"), ids=ids, actor=OTHER_AUTHOR)


def test_an_empty_revision_cannot_be_submitted():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    with pytest.raises(WrongState):
        submit(policy, rid)


def test_a_blank_reviewer_name_is_refused():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    change(policy, rid, cmd.RetitlePolicy(title="Жаңы"), ids=ids)
    with pytest.raises(InvalidInput) as refused:
        submit(policy, rid, " ")
    assert refused.value.field == "reviewers"


def test_the_author_can_neither_review_nor_approve_nor_publish_their_revision():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    author_as_approver = Actor(name="dean", role="approver")
    with pytest.raises(SeparationOfDuties):
        review(policy, rid, "approve", actor=author_as_approver)
    with pytest.raises(SeparationOfDuties):
        approve(policy, rid, "approved", author_as_approver)
    with pytest.raises(SeparationOfDuties):
        publish(policy, rid, author_as_approver)
    with pytest.raises(SeparationOfDuties):
        submit(policy, open_revision(policy, ids), "dean")


def test_only_named_reviewers_may_review():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    change(policy, rid, cmd.RetitlePolicy(title="Жаңы"), ids=ids)
    submit(policy, rid, "reviewer1")
    with pytest.raises(Forbidden):
        review(policy, rid, "approve", actor=Actor(name="stranger", role="reviewer"))


def test_a_signature_needs_a_meaning_from_the_list_and_a_rule_role():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    change(policy, rid, cmd.RetitlePolicy(title="Жаңы"), ids=ids)
    submit(policy, rid)
    with pytest.raises(InvalidInput) as refused:
        approve(policy, rid, "reviewer", QA)
    assert refused.value.field == "meaning"
    with pytest.raises(Forbidden):
        approve(policy, rid, "approved", Actor(name="x", role="reviewer"))
    approve(policy, rid, "approved", QA)
    with pytest.raises(WrongState):
        approve(policy, rid, "approved", QA)


def test_publishing_needs_the_approval_rule_met():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    change(policy, rid, cmd.RetitlePolicy(title="Жаңы"), ids=ids)
    submit(policy, rid, "reviewer1")
    approve(policy, rid, "approved", QA)
    approve(policy, rid, "reviewed", RECTOR)
    with pytest.raises(ApprovalRuleNotMet) as refused:
        publish(policy, rid, RECTOR)
    assert "1 of 2 approvals" in refused.value.message
    assert "reviews pending from reviewer1" in refused.value.message


def test_a_full_approval_publishes_the_next_version():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    assert policy.revision(rid).status == "approved"
    version = publish(policy, rid, RECTOR, datetime(2024, 9, 1, tzinfo=UTC))
    assert version == 2
    published = policy.pending[-1]
    assert isinstance(published, ev.RevisionPublished)
    assert published.backdated is False
    assert published.content_hash == policy.revision(rid).content_hash


def test_changes_after_a_review_void_its_verdict_and_signatures():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    review(policy, rid, "request_changes", "шилтеме кошуңуз")
    rev = policy.revision(rid)
    assert rev.status == "draft"
    seen = rev.content_hash
    change(policy, rid, cmd.RetitlePolicy(title="Башка"), ids=ids)
    assert rev.content_hash != seen
    assert all(s.content_hash != rev.content_hash for s in rev.signatures)
    submit(policy, rid, "reviewer1")
    assert rev.status == "in_review"  # old approvals no longer count
    with pytest.raises(ApprovalRuleNotMet):
        publish(policy, rid, RECTOR)


def test_a_request_for_changes_needs_a_comment():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    with pytest.raises(InvalidInput) as refused:
        review(policy, rid, "request_changes", " ")
    assert refused.value.field == "comment"
    with pytest.raises(InvalidInput) as refused:
        review(policy, rid, "maybe")
    assert refused.value.field == "verdict"


def test_a_past_effective_date_needs_a_reason_and_is_marked_backdated():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    past = datetime(2024, 1, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput) as refused:
        publish(policy, rid, RECTOR, past)
    assert refused.value.field == "reason"
    publish(policy, rid, RECTOR, past, reason="senate decision of 2023-12-20")
    assert policy.pending[-1].backdated is True


def test_an_effective_date_before_the_previous_versions_is_refused():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    with pytest.raises(WrongState) as refused:
        publish(policy, rid, RECTOR, datetime(2018, 1, 1, tzinfo=UTC), reason="old")
    assert refused.value.field == "effective_from"


def test_a_stale_revision_that_touches_other_sections_publishes_on_the_newest_version():
    policy, ids = published_policy()
    doc = policy.document_at(1)
    mission, paragraph = doc.children[None]
    item1, _item2 = doc.children[mission]
    first = approved_revision(policy, ids, [cmd.AmendSection(section_id=item1, text="биринчи")])
    second = approved_revision(policy, ids, [cmd.AmendSection(section_id=paragraph, text="экинчи")])
    publish(policy, first, RECTOR)
    publish(policy, second, QA)
    final = policy.document_at(3)
    assert final.sections[item1].text == "биринчи"
    assert final.sections[paragraph].text == "экинчи"
    assert policy.document_at(2).sections[paragraph].text != "экинчи", "version 2 is never touched by the rebase"


def test_a_stale_revision_touching_a_changed_section_is_a_conflict_naming_it():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]
    item1 = policy.document_at(1).children[mission][0]
    first = approved_revision(policy, ids, [cmd.AmendSection(section_id=item1, text="биринчи")])
    second = approved_revision(policy, ids, [cmd.AmendSection(section_id=item1, text="экинчи")])
    publish(policy, first, RECTOR)
    before = len(policy.pending)
    with pytest.raises(RevisionConflict) as refused:
        publish(policy, second, QA)
    assert refused.value.sections == [item1]
    assert len(policy.pending) == before
    assert policy.document_at(2).sections[item1].text == "биринчи"


def test_a_stale_revision_anchored_on_a_removed_section_is_a_conflict():
    policy, ids = published_policy()
    _mission, paragraph = policy.document_at(1).children[None]
    first = approved_revision(policy, ids, [cmd.RemoveSection(section_id=paragraph)])
    second = approved_revision(policy, ids, [cmd.AddSection(kind="paragraph", parent_id=None, after_id=paragraph,
                                                            text="кошумча")])
    publish(policy, first, RECTOR)
    with pytest.raises(RevisionConflict) as refused:
        publish(policy, second, QA)
    assert refused.value.sections == ["after_id"] or paragraph in refused.value.sections


def test_rejected_and_withdrawn_revisions_are_final():
    policy, ids = published_policy()
    rid = approved_revision(policy, ids)
    on = {"policy_id": PID, "revision_id": rid}
    with pytest.raises(InvalidInput):
        policy.reject(cmd.RejectRevision(**on), actor=QA, reason="", now=NOW)
    with pytest.raises(SeparationOfDuties):
        policy.reject(cmd.RejectRevision(**on), actor=Actor(name="dean", role="approver"), reason="no", now=NOW)
    policy.reject(cmd.RejectRevision(**on), actor=QA, reason="contradicts the charter", now=NOW)
    with pytest.raises(WrongState):
        policy.withdraw(cmd.WithdrawRevision(**on), actor=AUTHOR, reason="too late", now=NOW)
    with pytest.raises(WrongState):
        publish(policy, rid, RECTOR)
    other = {"policy_id": PID, "revision_id": open_revision(policy, ids)}
    with pytest.raises(Forbidden):
        policy.withdraw(cmd.WithdrawRevision(**other), actor=OTHER_AUTHOR, reason="not mine", now=NOW)
    policy.withdraw(cmd.WithdrawRevision(**other), actor=AUTHOR, reason="superseded", now=NOW)
    assert policy.revision(other["revision_id"]).status == "withdrawn"


def test_only_the_first_version_can_be_adopted_and_only_with_a_reason():
    policy, ids, draft = new_policy()
    adopt = cmd.AdoptRevision(policy_id=PID, revision_id=draft, effective_from=NOW)
    with pytest.raises(InvalidInput):
        policy.adopt(adopt, reason="", now=NOW)
    policy.adopt(adopt, reason="approved on paper", now=NOW)
    rid = open_revision(policy, ids)
    change(policy, rid, cmd.RetitlePolicy(title="Жаңы"), ids=ids)
    with pytest.raises(WrongState):
        policy.adopt(cmd.AdoptRevision(policy_id=PID, revision_id=rid, effective_from=NOW), reason="skip review",
                     now=NOW)


def test_responsibility_is_assigned_to_known_sections_and_revoked_once():
    policy, ids = published_policy()
    mission = policy.document_at(1).children[None][0]

    def assign(**fields) -> str:
        return policy.assign(cmd.AssignResponsibility(policy_id=PID, **fields), ids=ids, now=NOW)

    with pytest.raises(NotFound):
        assign(party="Окуу бөлүмү", party_kind="unit", section_id="s-9999", duty="owner")
    with pytest.raises(InvalidInput):
        assign(party="x", party_kind="robot", duty="owner")
    with pytest.raises(InvalidInput) as refused:
        assign(party=" ", duty="owner")
    assert refused.value.field == "party"
    aid = assign(party="Окуу бөлүмү", party_kind="unit", section_id=mission, duty="responsible")
    policy.revoke(cmd.RevokeResponsibility(policy_id=PID, assignment_id=aid), now=NOW)
    with pytest.raises(WrongState):
        policy.revoke(cmd.RevokeResponsibility(policy_id=PID, assignment_id=aid), now=NOW)


def test_a_periodic_review_is_recorded_even_with_no_change():
    policy, ids = published_policy()
    policy.record_periodic_review(cmd.RecordPeriodicReview(policy_id=PID, outcome="no_change",
                                                           notes="Өзгөртүү талап кылынбайт"), ids=ids, now=NOW)
    event = policy.pending[-1]
    assert isinstance(event, ev.PeriodicReviewRecorded)
    assert event.next_review_due.startswith("2025-06-01")
    with pytest.raises(InvalidInput):
        policy.record_periodic_review(cmd.RecordPeriodicReview(policy_id=PID, outcome="maybe"), ids=ids, now=NOW)


def test_an_acknowledgement_is_bound_to_the_versions_content_hash():
    policy, _ids = published_policy()

    def acknowledge(version: int) -> None:
        policy.acknowledge(cmd.AcknowledgeVersion(policy_id=PID, version=version), person="teacher", now=NOW)

    acknowledge(1)
    assert policy.pending[-1].content_hash == policy.versions[0].content_hash
    with pytest.raises(WrongState):
        acknowledge(1)
    with pytest.raises(NotFound):
        acknowledge(7)


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
        Policy().create(create(policy_id), owner="o", ids=SequentialIds(), now=NOW)
    assert refused.value.field == "id"


# ---- limits on a document and on one call -------------------------------------------------------

def test_a_section_text_title_or_label_over_its_limit_is_refused_naming_it():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    before = len(policy.pending)
    for op, field in ((cmd.AddSection(kind="item", text="ү" * (rules.MAX_SECTION_TEXT + 1)), "changes[0].text"),
                      (cmd.AmendSection(section_id="s-0002", title="ө" * (rules.MAX_TITLE + 1)), "changes[0].title"),
                      (cmd.AmendSection(section_id="s-0002", label="ң" * (rules.MAX_LABEL + 1)), "changes[0].label"),
                      (cmd.RetitlePolicy(title="т" * (rules.MAX_TITLE + 1)), "changes[0].title")):
        with pytest.raises(InvalidInput) as refused:
            change(policy, rid, op, ids=ids)
        assert refused.value.field == field and "at most" in refused.value.message
    assert len(policy.pending) == before
    change(policy, rid, cmd.AddSection(kind="item", text="ү" * rules.MAX_SECTION_TEXT), ids=ids)  # exactly fits


def test_a_change_that_would_take_a_document_past_its_sections_or_text_is_refused(monkeypatch):
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    held = len(policy.revisions[rid].preview.sections)
    monkeypatch.setattr(rules, "MAX_SECTIONS", held + 1)
    change(policy, rid, cmd.AddSection(kind="item", text="бир"), ids=ids)
    with pytest.raises(InvalidInput) as refused:
        change(policy, rid, cmd.AddSection(kind="item", text="эки"), ids=ids)
    assert refused.value.field == "changes[0].sections" and f"at most {held + 1:,} sections" in refused.value.message
    monkeypatch.setattr(rules, "MAX_SECTIONS", 50_000)
    characters = policy.revisions[rid].preview.characters
    monkeypatch.setattr(rules, "MAX_DOCUMENT_TEXT", characters + 5)
    with pytest.raises(InvalidInput) as refused:
        change(policy, rid, cmd.AmendSection(section_id="s-0002", text="ү" * 200), ids=ids)
    assert "characters of text" in refused.value.message
    assert policy.revisions[rid].preview.characters == characters  # the document kept its count


def test_the_document_keeps_its_character_count_as_sections_change():
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    preview = policy.revisions[rid].preview
    counted = lambda: sum(len(s.text) + len(s.title or "") + len(s.label or "")  # noqa: E731
                          for s in preview.sections.values())
    assert preview.characters == counted()
    change(policy, rid, cmd.AmendSection(section_id="s-0002", text="жаңы ү ө ң"), ids=ids)
    change(policy, rid, cmd.AddSection(kind="item", label="1.", text="дагы"), ids=ids)
    change(policy, rid, cmd.RemoveSection(section_id="s-0003"), ids=ids)
    assert preview.characters == counted() and preview.copy().characters == counted()


def test_a_new_policy_or_one_call_bringing_too_many_sections_is_refused(monkeypatch):
    policy, ids = published_policy()
    rid = open_revision(policy, ids)
    monkeypatch.setattr(policy_module, "MAX_SECTIONS_PER_CALL", 3)
    with pytest.raises(InvalidInput) as refused:
        Policy().create(create(sections=cmd.section_drafts(SECTIONS)), owner="dean", ids=SequentialIds(), now=NOW)
    assert refused.value.field == "sections" and "at most 3 sections (these are 4)" in refused.value.message
    with pytest.raises(InvalidInput) as refused:
        policy.change(cmd.ChangeRevision(policy_id=PID, revision_id=rid, changes=tuple(
            cmd.AddSection(kind="item", text=f"{n}") for n in range(4))), actor=AUTHOR, ids=ids, now=NOW)
    assert refused.value.field == "changes" and "at most 3 changes" in refused.value.message
