"""Acknowledgement campaigns and retirement, as pure functions of the policy's events."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.domain import commands as cmd
from events.domain import types as ev
from events.domain.errors import ApprovalRuleNotMet, InvalidInput, NotFound, SeparationOfDuties, WrongState
from events.domain.policy import Actor, Policy
from events.domain.rules import Status
from tests.support import SequentialIds
from tests.unit.test_domain import (
    NOW,
    PID,
    QA,
    RECTOR,
    approve,
    approved_revision,
    change,
    publish,
    published_policy,
    replay,
    review,
    submit,
)

AUDIENCE = ("lecturer", "Айгүл", "teacher")


def campaign(policy: Policy, ids: SequentialIds, version: int = 1, due: datetime = NOW + timedelta(days=14),
             **fields) -> str:
    fields = {"roles": ("staff",), "users": ("teacher",), "audience": AUDIENCE, **fields}
    return policy.start_campaign(cmd.StartCampaign(policy_id=PID, version=version, due=due, **fields), ids=ids,
                                 now=NOW)


def amended(policy: Policy, ids: SequentialIds, text: str) -> str:
    """An approved revision amending the first item to `text`."""
    first_item = policy.document_at(policy.latest_version).children["s-0002"][0]
    return approved_revision(policy, ids, [cmd.AmendSection(section_id=first_item, text=text)])


def started(policy: Policy) -> list[ev.CampaignStarted]:
    return [e for e in policy.pending if isinstance(e, ev.CampaignStarted)]


def test_a_campaign_asks_its_audience_for_a_version_by_a_date():
    policy, ids = published_policy()
    cid = campaign(policy, ids)
    [event] = started(policy)
    assert event == ev.CampaignStarted(campaign_id=cid, version=1, roles=["staff"], users=["teacher"],
                                       people=sorted(AUDIENCE), due="2024-06-15T09:00:00.000000Z", follows=None)
    assert replay(policy).campaigns[cid].people == tuple(sorted(AUDIENCE))


@pytest.mark.parametrize(("fields", "field"), [
    ({"version": 2}, "version"),
    ({"roles": ("janitor",)}, "roles"),
    ({"users": (" ",)}, "users"),
    ({"roles": (), "users": ()}, "roles"),
    ({"due": NOW - timedelta(days=1)}, "due"),
    ({"audience": ()}, "roles"),
])
def test_a_campaign_refuses_an_unknown_version_role_or_name_a_past_date_and_an_empty_audience(fields, field):
    policy, ids = published_policy()
    before = len(policy.pending)
    with pytest.raises((InvalidInput, NotFound)) as refused:
        campaign(policy, ids, **fields)
    assert refused.value.field == field
    assert len(policy.pending) == before


def test_a_substantive_version_asks_the_same_people_again_and_an_editorial_one_does_not():
    policy, ids = published_policy()
    first = campaign(policy, ids)
    rid = amended(policy, ids, "үтүр оңдолду")
    policy.publish(cmd.PublishRevision(policy_id=PID, revision_id=rid, effective_from=NOW, editorial=True),
                   actor=QA, reason=None, now=NOW)
    assert [e.campaign_id for e in started(policy)] == [first]
    rid = amended(policy, ids, "жаңы милдет ө")
    publish(policy, rid, QA, effective_from=NOW + timedelta(days=30))
    renewed = started(policy)[-1]
    assert renewed.campaign_id == f"{first}-v3" and renewed.follows == first and renewed.version == 3
    assert renewed.people == sorted(AUDIENCE) and renewed.roles == ["staff"] and renewed.users == ["teacher"]
    # the fourteen days the first campaign gave, counted from the new version's effective date
    assert renewed.due == "2024-07-15T09:00:00.000000Z"
    rid = amended(policy, ids, "дагы бир милдет ң")
    publish(policy, rid, QA, effective_from=NOW + timedelta(days=30))
    assert started(policy)[-1].campaign_id == f"{first}-v4" and started(policy)[-1].follows == renewed.campaign_id
    assert set(replay(policy).campaigns) == {first, f"{first}-v3", f"{first}-v4"}


# ---- retirement ------------------------------------------------------------------------------------------

def retirement(policy: Policy, ids: SequentialIds, summary: str = "Жаңы саясат менен алмаштырылды") -> str:
    return policy.open_retirement(cmd.OpenRetirement(policy_id=PID, summary=summary), author="dean", ids=ids,
                                  now=NOW)


def approved_retirement(policy: Policy, ids: SequentialIds) -> str:
    rid = retirement(policy, ids)
    submit(policy, rid, "reviewer1")
    review(policy, rid, "approve")
    approve(policy, rid, "approved as quality assurance director", QA)
    approve(policy, rid, "approved as rector", RECTOR)
    return rid


def test_a_retirement_revision_changes_no_text_and_goes_through_review_and_the_approval_rule():
    policy, ids = published_policy()
    rid = retirement(policy, ids)
    assert isinstance(policy.pending[-1], ev.RetirementProposed) and policy.revision(rid).retire
    with pytest.raises(WrongState) as refused:
        change(policy, rid, cmd.RetitlePolicy(title="Башка"), ids=ids)
    assert refused.value.field == "changes"
    submit(policy, rid, "reviewer1")
    review(policy, rid, "approve")
    approve(policy, rid, "approved as quality assurance director", QA)
    with pytest.raises(ApprovalRuleNotMet):
        publish(policy, rid, QA)
    approve(policy, rid, "approved as rector", RECTOR)
    assert policy.revision(rid).status == Status.APPROVED
    with pytest.raises(SeparationOfDuties):
        policy.publish(cmd.PublishRevision(policy_id=PID, revision_id=rid), actor=Actor(name="dean", role="approver"),
                       reason=None, now=NOW)


def test_publishing_a_retirement_retires_the_policy_from_its_date_and_nothing_moves_on_after():
    policy, ids = published_policy()
    open_draft = approved_revision(policy, ids)
    rid = approved_retirement(policy, ids)
    effective = NOW + timedelta(days=10)
    assert publish(policy, rid, RECTOR, effective_from=effective) == 1
    assert policy.pending[-1] == ev.PolicyRetired(revision_id=rid, effective_from="2024-06-11T09:00:00.000000Z",
                                                  backdated=False, last_version=1,
                                                  reason="Жаңы саясат менен алмаштырылды")
    folded = replay(policy)
    assert folded.retirement is not None and folded.retirement.effective_from == "2024-06-11T09:00:00.000000Z"
    assert folded.revision(rid).status == Status.PUBLISHED and folded.latest_version == 1
    for refused_command in (lambda: retirement(policy, ids), lambda: publish(policy, open_draft, QA),
                            lambda: campaign(policy, ids)):
        with pytest.raises(WrongState, match="retired from 2024-06-11"):
            refused_command()
    # the revision left open has a legal way out
    policy.withdraw(cmd.WithdrawRevision(policy_id=PID, revision_id=open_draft),
                    actor=Actor(name="dean", role="author"), reason="the policy is retired", now=NOW)


def test_a_retirement_needs_something_published_a_summary_and_a_reason_when_backdated():
    policy, ids = published_policy()
    with pytest.raises(InvalidInput) as refused:
        retirement(policy, ids, summary=" ")
    assert refused.value.field == "summary"
    rid = approved_retirement(policy, ids)
    with pytest.raises(InvalidInput) as refused:
        publish(policy, rid, QA, effective_from=NOW - timedelta(days=1))
    assert refused.value.field == "reason"
    with pytest.raises(WrongState) as refused:
        publish(policy, rid, QA, effective_from=datetime(2019, 1, 1, tzinfo=UTC), reason="x")
    assert refused.value.field == "effective_from"
    fresh = Policy()
    fresh.create(cmd.CreatePolicy(policy_id=PID, title="t", language="ky", review_interval_days=30), owner="dean",
                 ids=ids, now=NOW)
    with pytest.raises(WrongState) as refused:
        retirement(fresh, ids)
    assert refused.value.field == "policy_id"
