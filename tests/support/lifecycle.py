"""A realistic lifecycle on the real ledger, shared by read-model and API-level tests."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from events.application import Context, Ledger
from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.policy import Actor
from events.domain.rules import ApprovalRule
from events.store import EventStore
from events.store.engine import make_engine
from tests.support import FakeClock, SequentialIds

AUTHOR = Context(actor=Actor(name="dean", role="author"))
ADMIN = Context(actor=Actor(name="quality-office", role="admin"), reason="adopted by the academic council in 2019")
REVIEWER = Context(actor=Actor(name="reviewer1", role="reviewer"))
QA = Context(actor=Actor(name="qa-director", role="approver"))
RECTOR = Context(actor=Actor(name="rector", role="approver"))

SECTIONS = [
    {"kind": "heading", "title": "ОшМУнун миссиясы:", "text": "", "children": [
        {"kind": "item", "label": "•", "text": "билим берүүнүн сапатын камсыздоо;"},
        {"kind": "item", "label": "•", "text": "илимий-педагогикалык кадрларды даярдоо."},
    ]},
    {"kind": "paragraph", "text": "Саясат бардык деңгээлдерде жүзөгө ашырылат."},
]


def run_lifecycle(ledger: Ledger, clock: FakeClock, policy_id: str = "oshsu-quality") -> dict:
    """Create, adopt, revise, review, approve and publish; return the ids it made."""
    clock.set("2019-08-20T10:00:00+00:00")
    draft = ledger.handle(
        cmd.CreatePolicy(
            policy_id=policy_id, title="Билим берүүнүн сапаты саясаты", language="ky", review_interval_days=365,
            approval_rule=ApprovalRule(approvals=2, roles=("approver",)), sections=cmd.section_drafts(SECTIONS),
        ),
        AUTHOR,
    ).result["draft_revision_id"]
    ledger.handle(
        cmd.AdoptRevision(policy_id=policy_id, revision_id=draft, effective_from=parse_time("2019-09-01T00:00:00Z")),
        ADMIN,
    )
    policy = ledger.load(policy_id)
    doc = policy.document_at(1)
    mission, closing = doc.children[None]
    first_item = doc.children[mission][0]
    ledger.handle(
        cmd.AssignResponsibility(
            policy_id=policy_id, party="Сапат бөлүмү", party_kind="unit", section_id=mission, duty="responsible",
        ),
        ADMIN,
    )

    clock.set("2021-05-10T09:00:00+00:00")
    rid = ledger.handle(cmd.OpenRevision(policy_id=policy_id, summary="Миссияны тактоо"), AUTHOR).result["revision_id"]
    ledger.handle(
        cmd.ChangeRevision(
            policy_id=policy_id,
            revision_id=rid,
            changes=(
                cmd.AmendSection(section_id=first_item, text="билим берүүнүн сапатын кепилдөө;"),
                cmd.AddSection(parent_id=mission, after_id=first_item, kind="item", label="•",
                               text="санариптик чөйрөнү өнүктүрүү;"),
            ),
        ),
        AUTHOR,
    )
    ledger.handle(cmd.SubmitRevision(policy_id=policy_id, revision_id=rid, reviewers=("reviewer1",)), AUTHOR)
    ledger.handle(
        cmd.ReviewRevision(
            policy_id=policy_id, revision_id=rid, verdict="request_changes", comment="Сөз айкашын тактаңыз",
        ),
        REVIEWER,
    )
    ledger.handle(
        cmd.ChangeRevision(
            policy_id=policy_id,
            revision_id=rid,
            changes=(cmd.AmendSection(section_id=first_item, text="билим берүүнүн сапатын кепилдөөнү камсыздоо;"),),
        ),
        AUTHOR,
    )
    ledger.handle(cmd.SubmitRevision(policy_id=policy_id, revision_id=rid, reviewers=("reviewer1",)), AUTHOR)
    ledger.handle(cmd.ReviewRevision(policy_id=policy_id, revision_id=rid, verdict="approve", comment="ок"), REVIEWER)
    ledger.handle(
        cmd.ApproveRevision(policy_id=policy_id, revision_id=rid, meaning="approved as quality assurance director"), QA)
    ledger.handle(cmd.ApproveRevision(policy_id=policy_id, revision_id=rid, meaning="approved as rector"), RECTOR)
    clock.set("2021-08-20T10:00:00+00:00")
    ledger.handle(
        cmd.PublishRevision(policy_id=policy_id, revision_id=rid, effective_from=parse_time("2021-09-01T00:00:00Z")),
        RECTOR,
    )
    clock.set("2022-06-01T10:00:00+00:00")
    ledger.handle(cmd.RecordPeriodicReview(policy_id=policy_id, outcome="no_change", notes="Өзгөртүү керек эмес"), QA)
    ledger.handle(cmd.AcknowledgeVersion(policy_id=policy_id, version=2),
                  Context(actor=Actor(name="teacher", role="author")))
    clock.set("2024-03-01T10:00:00+00:00")
    rejected = ledger.handle(cmd.OpenRevision(policy_id=policy_id, summary="Жобону алып салуу"),
                             AUTHOR).result["revision_id"]
    ledger.handle(
        cmd.ChangeRevision(policy_id=policy_id, revision_id=rejected, changes=(cmd.RemoveSection(section_id=closing),)),
        AUTHOR,
    )
    ledger.handle(cmd.SubmitRevision(policy_id=policy_id, revision_id=rejected, reviewers=()), AUTHOR)
    ledger.handle(cmd.RejectRevision(policy_id=policy_id, revision_id=rejected),
                  Context(actor=RECTOR.actor, reason="Жобо милдеттүү"))
    return {"mission": mission, "closing": closing, "first_item": first_item, "revision": rid,
            "rejected": rejected, "draft": draft}


def run_interleaved_lifecycle(ledger: Ledger, clock: FakeClock, policy_id: str = "oshsu-quality",
                              library_title: str = "Китепкана") -> dict:
    """The lifecycle, with another policy's ("library") events before, inside and after its own; return its ids."""
    clock.set("2019-06-01T09:00:00+00:00")
    ledger.handle(
        cmd.CreatePolicy(policy_id="library", title=library_title, language="ky", review_interval_days=365), AUTHOR)
    ids = run_lifecycle(ledger, clock, policy_id)
    ledger.handle(cmd.OpenRevision(policy_id="library", summary="Жаңы бөлүм"), AUTHOR)
    ledger.handle(cmd.OpenRevision(policy_id=policy_id, summary="Акыркы"), AUTHOR)
    ledger.handle(cmd.OpenRevision(policy_id="library", summary="Дагы бир"), AUTHOR)
    return ids


@contextmanager
def ledger_on(database_url: str, clock: FakeClock) -> Iterator[Ledger]:
    """A ledger of its own on a database (sequential ids, the given clock), its engine closed after."""
    engine = make_engine(database_url)
    try:
        yield Ledger(store=EventStore(engine, clock=clock), clock=clock, ids=SequentialIds())
    finally:
        engine.dispose()


def run_campaign_and_retirement(ledger: Ledger, clock: FakeClock, policy_id: str = "oshsu-quality") -> dict:
    """After run_lifecycle: a campaign on version 2, acknowledged in part, renewed by a substantive version 3,
    then the policy retired through a reviewed and signed retirement revision; return the ids it made."""
    clock.set("2024-04-01T09:00:00+00:00")
    campaign = ledger.handle(cmd.StartCampaign(
        policy_id=policy_id, version=2, due=parse_time("2024-05-01T00:00:00Z"), roles=("staff",),
        users=("teacher",), audience=("teacher", "lecturer", "Айгүл")), ADMIN).result["campaign_id"]
    ledger.handle(cmd.AcknowledgeVersion(policy_id=policy_id, version=2),
                  Context(actor=Actor(name="lecturer", role="staff")))
    rid = ledger.handle(cmd.OpenRevision(policy_id=policy_id, summary="Жаңы жобо"), AUTHOR).result["revision_id"]
    ledger.handle(cmd.ChangeRevision(policy_id=policy_id, revision_id=rid, changes=(
        cmd.AddSection(kind="paragraph", text="Ар бир кызматкер таанышып чыгат ү ө ң."),)), AUTHOR)
    ledger.handle(cmd.SubmitRevision(policy_id=policy_id, revision_id=rid, reviewers=()), AUTHOR)
    for signer in (QA, RECTOR):
        ledger.handle(cmd.ApproveRevision(policy_id=policy_id, revision_id=rid, meaning="approved"), signer)
    ledger.handle(cmd.PublishRevision(policy_id=policy_id, revision_id=rid,
                                      effective_from=parse_time("2024-05-01T00:00:00Z")), RECTOR)
    clock.set("2024-06-01T09:00:00+00:00")
    retirement = ledger.handle(cmd.OpenRetirement(policy_id=policy_id, summary="Жаңы саясат менен алмаштырылды"),
                               AUTHOR).result["revision_id"]
    ledger.handle(cmd.SubmitRevision(policy_id=policy_id, revision_id=retirement, reviewers=("reviewer1",)), AUTHOR)
    ledger.handle(cmd.ReviewRevision(policy_id=policy_id, revision_id=retirement, verdict="approve"), REVIEWER)
    for signer in (QA, RECTOR):
        ledger.handle(cmd.ApproveRevision(policy_id=policy_id, revision_id=retirement, meaning="approved"), signer)
    ledger.handle(cmd.PublishRevision(policy_id=policy_id, revision_id=retirement,
                                      effective_from=parse_time("2024-09-01T00:00:00Z")), RECTOR)
    return {"campaign": campaign, "renewed": f"{campaign}-v3", "revision": rid, "retirement": retirement}
