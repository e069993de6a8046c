"""Random sequences of valid and invalid commands: read models always equal a rebuild, the chain verifies."""
from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.application import Context
from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.errors import DomainError
from events.domain.policy import Actor
from events.domain.rules import ApprovalRule
from projections.rebuild import rebuild, snapshot

PEOPLE = {
    "dean": "author", "head": "author", "reviewer1": "reviewer", "reviewer2": "reviewer",
    "qa-director": "approver", "rector": "approver", "office": "admin",
}
WORDS = st.sampled_from(["сапат", "билим", "өнүгүү", "жоопкерчилик", "ң", "policy", "quality", "— ", "«текст»"])
TEXT = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)
# Weighted so that whole review-approve-publish paths happen often, not just refusals.
ACTIONS = ("change", "submit", "review", "approve", "publish", "change", "review", "approve", "submit", "approve",
           "publish", "review", "change", "reject", "withdraw", "assign", "periodic", "acknowledge", "open")
_policy_numbers = itertools.count(1)


# Who usually does what: the right person most of the time, anybody sometimes (to hit the refusals).
LIKELY = {
    "open": ["dean"], "change": ["dean"], "submit": ["dean"], "withdraw": ["dean"],
    "review": ["reviewer1", "reviewer2"], "approve": ["qa-director", "rector"], "publish": ["qa-director", "rector"],
    "reject": ["rector"], "assign": ["office"], "periodic": ["qa-director"], "acknowledge": ["head"],
}


def _context(data, action: str, reason: bool = False) -> Context:
    name = data.draw(st.one_of(st.sampled_from(LIKELY[action]), st.sampled_from(sorted(PEOPLE))), label="actor")
    return Context(actor=Actor(name=name, role=PEOPLE[name]),
                   reason=data.draw(st.one_of(st.none(), TEXT), label="reason") if reason else None)


def _change(data, known: list[str]) -> cmd.Change:
    section = (st.one_of(st.sampled_from(known), st.sampled_from(known), st.just("s-missing")) if known
               else st.just("s-missing"))
    op = data.draw(st.sampled_from(["add", "amend", "move", "remove", "retitle"]), label="op")
    if op == "add":
        return cmd.AddSection(kind=data.draw(st.sampled_from(["item", "item", "paragraph", "heading", "bogus"])),
                              parent_id=data.draw(st.one_of(st.none(), section)), after_id=None,
                              label=data.draw(st.one_of(st.none(), st.just("•"))), text=data.draw(TEXT))
    if op == "amend":
        return cmd.AmendSection(section_id=data.draw(section), text=data.draw(TEXT))
    if op == "move":
        return cmd.MoveSection(section_id=data.draw(section), parent_id=data.draw(st.one_of(st.none(), section)),
                               after_id=None)
    if op == "remove":
        return cmd.RemoveSection(section_id=data.draw(section))
    return cmd.RetitlePolicy(title=data.draw(TEXT))


def _step(ledger, data, pid: str) -> None:
    policy = ledger.load(pid)
    revisions = list(policy.revisions) or ["rev-missing"]
    action = data.draw(st.sampled_from(ACTIONS), label="action")
    rid = data.draw(st.one_of(st.just(revisions[-1]), st.sampled_from(revisions)), label="revision")
    known = sorted(policy.revisions[rid].preview.sections) if rid in policy.revisions else []
    when = data.draw(st.sampled_from(["2019-01-01T00:00:00Z", "2030-01-01T00:00:00Z", None]), label="when")
    on = {"policy_id": pid, "revision_id": rid}
    commands = {
        "open": lambda: (cmd.OpenRevision(policy_id=pid, summary=data.draw(TEXT)), _context(data, "open")),
        "change": lambda: (cmd.ChangeRevision(**on, changes=tuple(
            _change(data, known) for _ in range(data.draw(st.integers(1, 2))))), _context(data, "change")),
        "submit": lambda: (cmd.SubmitRevision(**on, reviewers=tuple(data.draw(
            st.lists(st.sampled_from(["reviewer1", "reviewer2", "dean"]), max_size=2, unique=True)))),
            _context(data, "submit")),
        "review": lambda: (cmd.ReviewRevision(
            **on, verdict=data.draw(st.sampled_from(["approve", "request_changes", "meh"])),
            comment=data.draw(st.one_of(st.just(""), TEXT))), _context(data, "review")),
        "approve": lambda: (cmd.ApproveRevision(
            **on, meaning=data.draw(st.sampled_from(["approved", "approved as rector", "reviewer"]))),
            _context(data, "approve")),
        "publish": lambda: (cmd.PublishRevision(**on, effective_from=parse_time(when) if when else None),
                            _context(data, "publish", reason=True)),
        "reject": lambda: (cmd.RejectRevision(**on), _context(data, "reject", reason=True)),
        "withdraw": lambda: (cmd.WithdrawRevision(**on), _context(data, "withdraw", reason=True)),
        "assign": lambda: (cmd.AssignResponsibility(
            policy_id=pid, party=data.draw(TEXT), party_kind=data.draw(st.sampled_from(["unit", "person", "robot"])),
            section_id=data.draw(st.one_of(st.none(), st.sampled_from(known or ["s-missing"]))), duty="owner"),
            _context(data, "assign")),
        "periodic": lambda: (cmd.RecordPeriodicReview(
            policy_id=pid, outcome=data.draw(st.sampled_from(["no_change", "revision_needed", "later"])), notes="ок"),
            _context(data, "periodic")),
        "acknowledge": lambda: (cmd.AcknowledgeVersion(policy_id=pid, version=data.draw(st.integers(0, 3))),
                                _context(data, "acknowledge")),
    }
    command, context = commands[action]()
    before = ledger.store.head()[0]
    try:
        ledger.handle(command, context)
    except DomainError:
        assert ledger.store.head()[0] == before, f"a refused {type(command).__name__} appended events"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_random_command_sequences_keep_read_models_equal_to_a_rebuild(ledger, clock, store, data):
    pid = f"policy-{next(_policy_numbers)}"
    ledger.handle(cmd.CreatePolicy(
        policy_id=pid, title="Сапат", language="ky", review_interval_days=365,
        approval_rule=ApprovalRule(approvals=data.draw(st.integers(1, 2)), roles=("approver",)),
        sections=cmd.section_drafts([{"kind": "paragraph", "text": "Башталыш"}, {"kind": "item", "label": "•",
                                                                                "text": "бир"}])),
        Context(actor=Actor(name="dean", role="author")))
    draft = sorted(ledger.load(pid).revisions)[0]
    if data.draw(st.booleans(), label="adopt first"):
        ledger.handle(cmd.AdoptRevision(policy_id=pid, revision_id=draft,
                                        effective_from=parse_time("2019-01-01T00:00:00Z")),
                      Context(actor=Actor(name="office", role="admin"), reason="adopted"))
    for _ in range(data.draw(st.integers(1, 40), label="steps")):
        clock.advance(days=data.draw(st.integers(0, 400), label="days later"))
        _step(ledger, data, pid)
    live = snapshot(store)
    rebuild(store)
    assert snapshot(store) == live
    assert store.verify().ok
