"""The policies API through Flask's test client: requests as a role, and the histories API tests start from."""
from __future__ import annotations

from typing import Any

from service.content.textformat import parse_policy_text
from tests.support import PASSWORD, SEED_POLICY, bearer

API = "/api/v1/policies"
PID = "oshsu-quality"
RULE = {"approvals": 2, "roles": ["approver"]}
SECTIONS = [
    {"kind": "heading", "title": "ОшМУнун миссиясы:", "text": "", "children": [
        {"kind": "item", "label": "•", "text": "билим берүүнүн сапатын камсыздоо;"},
        {"kind": "item", "label": "•", "text": "илимий-педагогикалык кадрларды даярдоо."}]},
    {"kind": "paragraph", "text": "Саясат бардык деңгээлдерде жүзөгө ашырылат."},
]


def signing(meaning: str, **extra: Any) -> dict[str, Any]:
    """Return an approvals body: the meaning and the signer's password (every test user has PASSWORD)."""
    return {"password": PASSWORD, "meaning": meaning, **extra}


def post(client, token: str | None, path: str, body: Any, **headers: str):
    """POST JSON to a path under /api/v1/policies, as the holder of a token (None: anonymous)."""
    return client.post(API + path, json=body, headers={**(bearer(token) if token else {}), **headers})


def get(client, token: str | None, path: str, **headers: str):
    """GET a path under /api/v1/policies, as the holder of a token (None: anonymous)."""
    return client.get(API + path, headers={**(bearer(token) if token else {}), **headers})


def ok(response, status: int = 200) -> dict:
    """Return a response's JSON after checking its status (showing the problem document when it differs)."""
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def seed_sections() -> list[dict]:
    """Return the seed policy's section tree as its parser reads it (no ids yet)."""
    return parse_policy_text(SEED_POLICY.read_text()).sections


def create(client, tokens, pid: str = PID, sections: list | None = None, rule: dict | None = None) -> str:
    """Create a policy as the dean; return the draft revision holding its sections."""
    body = {"id": pid, "title": parse_policy_text(SEED_POLICY.read_text()).title, "language": "ky",
            "review_interval_days": 365, "approval_rule": rule or RULE,
            "sections": seed_sections() if sections is None else sections}
    return ok(post(client, tokens["author"], "", body), 201)["draft_revision_id"]


def approve(client, tokens, pid: str, rid: str) -> dict:
    """Take a draft through review (reviewer1) and two signatures (QA director, rector)."""
    ok(post(client, tokens["author"], f"/{pid}/revisions/{rid}/submit", {"reviewers": ["reviewer1"]}))
    ok(post(client, tokens["reviewer"], f"/{pid}/revisions/{rid}/reviews", {"verdict": "approve"}), 201)
    ok(post(client, tokens["approver"], f"/{pid}/revisions/{rid}/approvals",
            signing("approved as quality assurance director")), 201)
    return ok(post(client, tokens["approver2"], f"/{pid}/revisions/{rid}/approvals",
                   signing("approved as rector")), 201)


def publish(client, tokens, pid: str, rid: str, effective_from: str, **extra: Any) -> int:
    """Approve a draft and publish it as the rector; return the version number."""
    approve(client, tokens, pid, rid)
    body = {"effective_from": effective_from, **extra}
    return ok(post(client, tokens["approver2"], f"/{pid}/revisions/{rid}/publish", body), 201)["version"]


def revise(client, tokens, pid: str, changes: list[dict], summary: str = "Өзгөртүү") -> dict:
    """Open a draft on the newest version and apply changes; return the revision as answered."""
    rid = ok(post(client, tokens["author"], f"/{pid}/revisions", {"summary": summary}), 201)["id"]
    return ok(post(client, tokens["author"], f"/{pid}/revisions/{rid}/changes", {"changes": changes}))


def find(sections: list[dict], prefix: str) -> dict:
    """Return the section whose text or title starts with a prefix, anywhere in a tree."""
    for section in sections:
        if (section["text"] or section["title"] or "").startswith(prefix):
            return section
        try:
            return find(section["children"], prefix)
        except LookupError:
            pass
    raise LookupError(prefix)


def strip_ids(sections: list[dict]) -> list[dict]:
    """Return a section tree without ids, comparable to what was sent."""
    return [{k: (strip_ids(v) if k == "children" else v) for k, v in s.items() if k != "id"} for s in sections]


PROVISION_5 = "билим берүү процессин илим менен интеграциялоо"
PROVISION_5_NEW = ("билим берүү процессин илим жана өндүрүш менен интеграциялоо, илимий мекемелер, ишканалар "
                   "менен өнөктөштүктү өнүктүрүү;")


def build_three_versions(client, tokens, clock) -> dict:
    """The seed policy with three versions: v1 from 2024-02-01, v2 (provision 5) from 2024-09-01,
    v3 (moves, a removal, a new title) from 2025-09-01."""
    clock.set("2024-01-10T09:00:00+00:00")
    draft = create(client, tokens)
    clock.set("2024-01-20T09:00:00+00:00")
    publish(client, tokens, PID, draft, "2024-02-01T00:00:00+06:00")
    doc = ok(get(client, None, f"/{PID}?version=1"))
    provision = find(doc["sections"], PROVISION_5)
    clock.set("2024-05-01T09:00:00+00:00")
    second = revise(client, tokens, PID, [
        {"op": "amend", "section_id": provision["id"], "text": PROVISION_5_NEW},
        {"op": "add", "parent_id": find(doc["sections"], "Негизги жоболор")["id"], "after_id": provision["id"],
         "kind": "item", "label": "•", "text": "санариптик сабаттуулукту өнүктүрүү;"}], "Жобо 5")
    clock.set("2024-06-01T09:00:00+00:00")
    publish(client, tokens, PID, second["id"], "2024-09-01T00:00:00Z")
    seventh = find(doc["sections"], "СТРАТЕГИЯЛЫК БАГЫТ – Адамгерчилик")
    closing = find(doc["sections"], "Саясат бардык деңгээлдерде")
    clock.set("2025-03-01T09:00:00+00:00")
    third = revise(client, tokens, PID, [
        {"op": "move", "section_id": seventh["id"], "parent_id": None,
         "after_id": find(doc["sections"], "2019-2024-жылдары")["id"]},
        {"op": "remove", "section_id": closing["id"]},
        {"op": "retitle", "title": "ОшМУнун билим берүүнүн сапаты саясаты"}], "Түзүм")
    clock.set("2025-04-01T09:00:00+00:00")
    publish(client, tokens, PID, third["id"], "2025-09-01T00:00:00Z")
    clock.set("2025-10-01T09:00:00+00:00")
    return {"v1": doc, "provision": provision["id"], "added": second["section_ids"][1], "seventh": seventh["id"],
            "closing": closing["id"], "revisions": [draft, second["id"], third["id"]]}


def build_published(client, tokens, clock) -> dict:
    """A small Kyrgyz policy with version 1 in force since 2024-02-01; the clock stands at 2024-03-01."""
    clock.set("2024-01-10T09:00:00Z")
    publish(client, tokens, PID, create(client, tokens, sections=SECTIONS), "2024-02-01T00:00:00Z")
    clock.set("2024-03-01T09:00:00Z")
    doc = ok(get(client, None, f"/{PID}"))
    mission, closing = doc["sections"]
    return {"mission": mission["id"], "first": mission["children"][0]["id"],
            "second": mission["children"][1]["id"], "closing": closing["id"]}
