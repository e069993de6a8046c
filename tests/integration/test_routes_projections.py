"""The read models through routes, recall, changed reviewers, delegated signatures and a rebased publication:
what they answer live, and that a rebuild from the log gives exactly the same."""
from __future__ import annotations

import json

from events.application import Context
from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.policy import Actor
from events.domain.rules import Route, Step
from projections import catalog, revisions
from projections.documents import reads as versions
from projections.rebuild import rebuild, snapshot
from tests.support.lifecycle import AUTHOR, QA, RECTOR, REVIEWER, run_lifecycle

PID = "oshsu-quality"
ROUTE = Route(steps=(Step(users=("qa-director",)), Step(roles=("approver",), meanings=("approved as rector",))))
DEPUTY = Context(actor=Actor(name="prorector", role="approver"))


def step(ledger, command: cmd.Command, context: Context) -> dict:
    return ledger.handle(command, context).result


def test_routes_recalls_delegations_and_rebases_read_the_same_live_and_rebuilt(ledger, clock, store, engine):
    ids = run_lifecycle(ledger, clock)
    clock.set("2025-03-01T09:00:00+00:00")
    route = step(ledger, cmd.OpenRevision(policy_id=PID, summary="Маршрут"), AUTHOR)["revision_id"]
    on = {"policy_id": PID, "revision_id": route}
    step(ledger, cmd.ChangeRevision(**on, changes=(cmd.ChangeRoute(approval_rule=ROUTE),)), AUTHOR)
    step(ledger, cmd.SubmitRevision(**on, reviewers=("reviewer1",)), AUTHOR)
    step(ledger, cmd.ReviewRevision(**on, verdict="approve"), REVIEWER)
    step(ledger, cmd.RecallRevision(**on), AUTHOR)  # voids the review
    step(ledger, cmd.SubmitRevision(**on, reviewers=("reviewer1",)), AUTHOR)
    step(ledger, cmd.ChangeReviewers(**on, reviewers=("reviewer2",)), AUTHOR)
    step(ledger, cmd.ReviewRevision(**on, verdict="approve"), Context(actor=Actor(name="reviewer2", role="reviewer")))
    step(ledger, cmd.ApproveRevision(**on, meaning="approved", full_name="Сапат Ү."), QA)
    step(ledger, cmd.ApproveRevision(**on, meaning="approved", on_behalf_of="rector", on_behalf_of_role="approver",
                                     full_name="Проректор Ө."), DEPUTY)
    # a stale revision opened before the route's publication, published after it: rebased
    stale = step(ledger, cmd.OpenRevision(policy_id=PID, summary="Эски негиз"), AUTHOR)["revision_id"]
    step(ledger, cmd.ChangeRevision(policy_id=PID, revision_id=stale, changes=(
        cmd.AmendSection(section_id=ids["closing"], text="Жаңы жыйынтык ү ө ң"),)), AUTHOR)
    step(ledger, cmd.PublishRevision(**on, effective_from=parse_time("2025-04-01T00:00:00Z")), RECTOR)
    on = {"policy_id": PID, "revision_id": stale}
    step(ledger, cmd.SubmitRevision(**on, reviewers=()), AUTHOR)
    step(ledger, cmd.ApproveRevision(**on, meaning="approved"), QA)
    step(ledger, cmd.ApproveRevision(**on, meaning="approved as rector"), RECTOR)
    published = step(ledger, cmd.PublishRevision(**on, effective_from=parse_time("2025-05-01T00:00:00Z")), RECTOR)

    with engine.connect() as connection:
        row = revisions.get(connection, route)
        assert row is not None and row["reviewers"] == ["reviewer2"] and row["recalled_position"] is not None
        signed = revisions.approvals(connection, [route])[route]
        assert [(a["approver"], a["on_behalf_of"], a["full_name"], a["step"]) for a in signed] == [
            ("qa-director", None, "Сапат Ү.", 0), ("prorector", "rector", "Проректор Ө.", 0)]
        policy = catalog.get(connection, PID)
        assert policy is not None and Route.from_data(json.loads(policy["approval_rule"])) == ROUTE
        assert policy["next_review_due"].startswith("2026-05-01")  # from the effective date of the newest version
        newest = versions.get(connection, PID, published["version"])
        assert newest is not None
        assert newest["rebased"] is True and newest["base_version"] == published["version"] - 2
        # the version between changed only the route, so the text its signers signed is the text published
        assert newest["signed_content_hash"] == newest["content_hash"]
    live = snapshot(store)
    rebuild(store)
    assert snapshot(store) == live
