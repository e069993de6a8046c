"""A realistic lifecycle on the real ledger, shared by read-model and API-level tests."""
from __future__ import annotations

from events.application import Context, Ledger
from events.domain.policy import Actor

from .support import FakeClock

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
    draft = ledger.handle("create_policy", policy_id, AUTHOR, {
        "id": policy_id, "title": "Билим берүүнүн сапаты саясаты", "language": "ky", "review_interval_days": 365,
        "approval_rule": {"approvals": 2, "roles": ["approver"]}, "sections": SECTIONS}).result["draft_revision_id"]
    ledger.handle("adopt_revision", policy_id, ADMIN, {"revision_id": draft, "effective_from": "2019-09-01T00:00:00Z"})
    policy = ledger.load(policy_id)
    doc = policy.document_at(1)
    mission, closing = doc.children[None]
    first_item = doc.children[mission][0]
    ledger.handle("assign_responsibility", policy_id, ADMIN, {
        "party": "Сапат бөлүмү", "party_kind": "unit", "section_id": mission, "duty": "responsible"})

    clock.set("2021-05-10T09:00:00+00:00")
    rid = ledger.handle("open_revision", policy_id, AUTHOR, {"summary": "Миссияны тактоо"}).result["revision_id"]
    ledger.handle("change_revision", policy_id, AUTHOR, {"revision_id": rid, "changes": [
        {"op": "amend", "section_id": first_item, "text": "билим берүүнүн сапатын кепилдөө;"},
        {"op": "add", "parent_id": mission, "after_id": first_item, "kind": "item", "label": "•",
         "text": "санариптик чөйрөнү өнүктүрүү;"}]})
    ledger.handle("submit_revision", policy_id, AUTHOR, {"revision_id": rid, "reviewers": ["reviewer1"]})
    ledger.handle("review_revision", policy_id, REVIEWER, {"revision_id": rid, "verdict": "request_changes",
                                                          "comment": "Сөз айкашын тактаңыз"})
    ledger.handle("change_revision", policy_id, AUTHOR, {"revision_id": rid, "changes": [
        {"op": "amend", "section_id": first_item, "text": "билим берүүнүн сапатын кепилдөөнү камсыздоо;"}]})
    ledger.handle("submit_revision", policy_id, AUTHOR, {"revision_id": rid, "reviewers": ["reviewer1"]})
    ledger.handle("review_revision", policy_id, REVIEWER, {"revision_id": rid, "verdict": "approve", "comment": "ок"})
    ledger.handle("approve_revision", policy_id, QA, {"revision_id": rid,
                                                      "meaning": "approved as quality assurance director"})
    ledger.handle("approve_revision", policy_id, RECTOR, {"revision_id": rid, "meaning": "approved as rector"})
    clock.set("2021-08-20T10:00:00+00:00")
    ledger.handle("publish_revision", policy_id, RECTOR, {"revision_id": rid, "effective_from": "2021-09-01T00:00:00Z"})
    clock.set("2022-06-01T10:00:00+00:00")
    ledger.handle("record_periodic_review", policy_id, QA, {"outcome": "no_change", "notes": "Өзгөртүү керек эмес"})
    ledger.handle("acknowledge_version", policy_id, Context(actor=Actor(name="teacher", role="author")),
                  {"version": 2})
    clock.set("2024-03-01T10:00:00+00:00")
    rejected = ledger.handle("open_revision", policy_id, AUTHOR, {"summary": "Жобону алып салуу"}).result["revision_id"]
    ledger.handle("change_revision", policy_id, AUTHOR, {"revision_id": rejected, "changes": [
        {"op": "remove", "section_id": closing}]})
    ledger.handle("submit_revision", policy_id, AUTHOR, {"revision_id": rejected, "reviewers": []})
    ledger.handle("reject_revision", policy_id, Context(actor=RECTOR.actor, reason="Жобо милдеттүү"),
                  {"revision_id": rejected})
    return {"mission": mission, "closing": closing, "first_item": first_item, "revision": rid,
            "rejected": rejected, "draft": draft}
