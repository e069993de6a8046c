"""The workspace with an approval route of named steps: which step waits on whom, the inbox of that step's
signers only, a delegate signing on someone's behalf, recall and changed reviewers (on a copy of the demo)."""
from __future__ import annotations

from datetime import timedelta

from events.application import Context
from events.domain import commands as cmd
from events.domain.canonical import format_time
from events.domain.policy import Actor
from events.domain.rules import Route, Step
from service import delegations
from tests.api import test_web_workspace as ws
from tests.api.test_web_workspace import (
    PID,
    amend,
    in_force_section,
    inbox_sections,
    open_revision,
    page,
    post,
    revision,
    signed,
    submitted,
    workspace_path,
)

# The demo copy each test works on, as the workspace's own tests have it.
demo_database, site, app, loaded, people, clock = ws.demo_database, ws.site, ws.app, ws.loaded, ws.people, ws.clock

ROUTE = Route(steps=(Step(users=("qa-director",)), Step(users=("rector",), meanings=("approved as rector",))))


def routed(app) -> None:
    """Bring a two-step route (the QA director, then the rector) into force through a revision of its own."""
    ledger = app.extensions["policy_ledger"].ledger
    dean, qa, rector = (Context(actor=Actor(name=n, role=r)) for n, r in (
        ("dean", "author"), ("qa-director", "approver"), ("rector", "approver")))
    rid = ledger.handle(cmd.OpenRevision(policy_id=PID, summary="Маршрут"), dean).result["revision_id"]
    on = {"policy_id": PID, "revision_id": rid}
    ledger.handle(cmd.ChangeRevision(**on, changes=(cmd.ChangeRoute(approval_rule=ROUTE),)), dean)
    ledger.handle(cmd.SubmitRevision(**on, reviewers=()), dean)
    ledger.handle(cmd.ApproveRevision(**on, meaning="approved"), qa)
    ledger.handle(cmd.ApproveRevision(**on, meaning="approved"), rector)
    ledger.handle(cmd.PublishRevision(**on), rector)


def in_review(app, people) -> str:
    rid = open_revision(people)
    amend(people, rid, in_force_section(app)[3]["id"], "Маршрут боюнча текст ү ө ң")
    submitted(app, people, rid, reviewers=())
    return rid


def test_the_workspace_shows_which_step_waits_on_whom_and_the_inbox_lists_only_its_signers(app, people, loaded):
    routed(app)
    rid = in_review(app, people)
    html = page(people("head-of-department"), workspace_path(rid))
    assert "Approval route" in html
    assert html.count('data-step-status="waiting"') == 1 and html.count('data-step-status="pending"') == 1
    assert rid in inbox_sections(people("qa-director"))["signatures"]
    assert rid not in inbox_sections(people("rector")).get("signatures", "")
    assert signed(people, loaded, rid, "qa-director").status_code == 303
    assert rid in inbox_sections(people("rector"))["signatures"]
    assert rid not in inbox_sections(people("qa-director")).get("signatures", "")
    html = page(people("rector"), workspace_path(rid))
    assert html.count('data-step-status="done"') == 1 and html.count('data-step-status="waiting"') == 1


def test_a_delegate_signs_on_the_page_on_behalf_of_the_absent_signer(app, people, loaded):
    routed(app)
    rid = in_review(app, people)
    assert signed(people, loaded, rid, "qa-director").status_code == 303
    start = app.extensions["policy_ledger"].ledger.clock()
    delegations.add(app.extensions["policy_ledger"].engine, delegator="rector", delegate="quality-office",
                    valid_from=format_time(start - timedelta(hours=1)),
                    valid_until=format_time(start + timedelta(days=7)),
                    reason="иш сапарында", created_by="rector", now=start)
    client = people("quality-office")
    assert rid in inbox_sections(client)["signatures"]  # waiting on the rector, whose delegate this is
    html = page(client, workspace_path(rid))
    assert 'name="on_behalf_of"' in html
    answer = post(client, html, "/sign", meaning="approved as rector", comment="", on_behalf_of="rector",
                  password=loaded.passwords["quality-office"])
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    found = revision(app, rid)
    assert found["status"] == "approved"
    assert [(a["approver"], a["on_behalf_of"]) for a in found["approvals"]] == [
        ("qa-director", None), ("quality-office", "rector")]
    assert "on behalf of" in page(client, workspace_path(rid))


def test_the_author_recalls_a_revision_and_changes_its_reviewers_on_the_page(app, people, loaded):
    rid = open_revision(people)
    amend(people, rid, in_force_section(app)[3]["id"], "Кайтарылып алына турган текст")
    submitted(app, people, rid, reviewers=("reviewer1",))
    author = people("head-of-department")
    html = page(author, workspace_path(rid))
    assert post(author, html, "/reviewers", reviewers=["reviewer2"]).status_code == 303
    assert revision(app, rid)["reviewers"] == ["reviewer2"]
    assert post(author, page(author, workspace_path(rid)), "/recall", reason="толуктайм").status_code == 303
    assert revision(app, rid)["status"] == "draft"
    assert rid in inbox_sections(author)["drafts"]
