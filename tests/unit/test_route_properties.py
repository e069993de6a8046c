"""Random routes and random people acting on one revision: no revision reaches a state with no legal way forward
except by a final decision (published, rejected, withdrawn)."""
from __future__ import annotations

import copy
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from events.domain import commands as cmd
from events.domain.errors import DomainError
from events.domain.policy import Actor, Policy
from events.domain.rules import APPROVING_MEANINGS, MEANINGS, Route, Step, route_signer, waiting_step
from tests.support import SequentialIds

NOW = datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
PID = "routed"
SIGNERS = {"a1": "approver", "a2": "approver", "a3": "approver", "a4": "approver", "adm": "admin"}
REVIEWERS = ("r1", "r2", "r3")
AUTHORS = ("au1", "a1", "a2")  # approvers write policies too
MEANING_LIST = sorted(APPROVING_MEANINGS)


@st.composite
def steps(draw: st.DrawFn) -> Step:
    users = draw(st.lists(st.sampled_from(sorted(SIGNERS)), max_size=3, unique=True))
    roles = draw(st.lists(st.sampled_from(("approver", "admin")), max_size=2, unique=True))
    if not users and not roles:
        roles = ["approver"]
    # A step counting roles may ask for no more signers than hold them, less one who may be the author: the
    # service refuses any other route when it is given and at submission (the domain knows no role holders).
    admitted = [n for n, role in SIGNERS.items() if n in users or role in roles]
    most = max(1, len(admitted) - 1) if roles else len(users)
    meanings = draw(st.lists(st.sampled_from(MEANING_LIST), max_size=2, unique=True))
    return Step(approvals=draw(st.integers(1, most)), users=tuple(users), roles=tuple(roles),
                meanings=tuple(meanings))


routes = st.lists(steps(), min_size=1, max_size=3).map(lambda found: Route(steps=tuple(found)))
people = st.sampled_from(sorted({*SIGNERS, *REVIEWERS, *AUTHORS}))
actions = st.one_of(
    st.tuples(st.just("change"), st.text("абвгүөң ", min_size=1, max_size=8)),
    st.tuples(st.just("submit"), st.lists(st.sampled_from(REVIEWERS), max_size=2, unique=True)),
    st.tuples(st.just("review"), people, st.sampled_from(("approve", "request_changes"))),
    st.tuples(st.just("sign"), people, st.sampled_from(MEANINGS), st.one_of(st.none(), people)),
    st.tuples(st.just("recall"), people),
    st.tuples(st.just("reviewers"), st.lists(st.sampled_from(REVIEWERS), max_size=2, unique=True)),
    st.tuples(st.just("publish"), people),
)


def role_of(name: str) -> str:
    return SIGNERS.get(name) or ("reviewer" if name in REVIEWERS else "author")


def act(policy: Policy, rid: str, author: str, action: tuple, ids: SequentialIds) -> None:
    kind, on = action[0], {"policy_id": PID, "revision_id": rid}
    me = Actor(name=author, role="author")
    if kind == "change":
        policy.change(cmd.ChangeRevision(**on, changes=(cmd.AddSection(kind="paragraph", text=action[1]),)),
                      actor=me, ids=ids, now=NOW)
    elif kind == "submit":
        policy.submit(cmd.SubmitRevision(**on, reviewers=tuple(action[1])), actor=me, now=NOW)
    elif kind == "review":
        policy.review(cmd.ReviewRevision(**on, verdict=action[2], comment="себеби"),
                      actor=Actor(name=action[1], role=role_of(action[1])), now=NOW)
    elif kind == "sign":
        name, meaning, behalf = action[1], action[2], action[3]
        policy.approve(cmd.ApproveRevision(**on, meaning=meaning, on_behalf_of=behalf,
                                           on_behalf_of_role=role_of(behalf) if behalf else None),
                       actor=Actor(name=name, role=role_of(name)), now=NOW)
    elif kind == "recall":
        policy.recall(cmd.RecallRevision(**on), actor=Actor(name=action[1], role="author"), now=NOW)
    elif kind == "reviewers":
        policy.change_reviewers(cmd.ChangeReviewers(**on, reviewers=tuple(action[1])), actor=me, now=NOW)
    else:
        policy.publish(cmd.PublishRevision(**on), actor=Actor(name=action[1], role=role_of(action[1])),
                       reason=None, now=NOW)


def finish(policy: Policy, rid: str, author: str, ids: SequentialIds) -> str:
    """Take the revision to publication by legal moves only (on a copy); return the status it ends in.

    A delegated signature uses two people in its step (the delegate and the one it counts for): a step left
    with too few signers that way is a way forward still, through the author's recall (every signature void)
    and signing again without delegation.
    """
    policy = copy.deepcopy(policy)
    rev = policy.revision(rid)
    on = {"policy_id": PID, "revision_id": rid}
    recalled = False
    while True:
        if rev.status == "draft":
            if not rev.changes:
                act(policy, rid, author, ("change", "текст"), ids)
            act(policy, rid, author, ("submit", list(rev.reviewers)), ids)
        for reviewer in rev.reviewers:
            if rev.status == "in_review" and rev.latest_verdicts().get(reviewer) != "approve":
                act(policy, rid, author, ("review", reviewer, "approve"), ids)
        while rev.status == "in_review":
            index = waiting_step(policy.rule, rev.signatures, rev.content_hash)
            assert index is not None, "every step is signed, yet the revision is still in review"
            step = policy.rule.steps[index]
            used = {name for s in rev.signatures if s.content_hash == rev.content_hash and s.step == index
                    for name in (s.approver, route_signer(s))}
            candidates = [n for n in sorted(SIGNERS) if n != author and n not in used and step.admits(n, SIGNERS[n])]
            if not candidates:
                assert not recalled, f"step {index + 1} waits on nobody who may sign it, even after a recall"
                act(policy, rid, author, ("recall", author), ids)
                recalled = True
                break
            meaning = sorted(step.counted_meanings)[0]
            policy.approve(cmd.ApproveRevision(**on, meaning=meaning),
                           actor=Actor(name=candidates[0], role=SIGNERS[candidates[0]]), now=NOW)
        if rev.status != "draft":
            break
    publisher = next(n for n, role in SIGNERS.items() if role == "approver" and n != author)
    act(policy, rid, author, ("publish", publisher), ids)
    return rev.status


@settings(max_examples=150, deadline=None)
@given(route=routes, author=st.sampled_from(AUTHORS), script=st.lists(actions, max_size=25))
def test_no_revision_gets_stuck_whatever_the_route_and_whoever_acts(route, author, script):
    ids = SequentialIds()
    policy = Policy()
    draft = policy.create(cmd.CreatePolicy(policy_id=PID, title="Маршрут", language="ky", review_interval_days=30,
                                           approval_rule=route, sections=(cmd.SectionDraft(kind="paragraph",
                                                                                           text="Биринчи."),)),
                          owner="au1", ids=ids, now=NOW)
    assert draft is not None
    policy.adopt(cmd.AdoptRevision(policy_id=PID, revision_id=draft), reason="кабыл алынган", now=NOW)
    rid = policy.open_revision(cmd.OpenRevision(policy_id=PID, summary="өзгөртүү"), author=author, ids=ids, now=NOW)
    for action in script:
        before = copy.deepcopy(policy)
        try:
            act(policy, rid, author, action, ids)
        except DomainError:
            policy = before  # a refusal records nothing
        if policy.revision(rid).final:
            return
        try:
            assert finish(policy, rid, author, ids) == "published"
        except DomainError as refused:
            if refused.code == "separation_of_duties" and "names its author" in refused.message:
                return  # refused at submission, as it should be: the author may only withdraw it
            raise
