"""A reproducible policy workload: who does what to which policy, in realistic proportions, from a seed."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from events.application import Context
from events.domain import commands as cmd
from events.domain.canonical import format_time, parse_time
from events.domain.policy import Actor, Policy
from events.domain.rules import ApprovalRule

from .corpus import Corpus

AUTHORS = ("dean", "head-of-department", "vice-rector-academic")
REVIEWERS = ("reviewer1", "reviewer2", "reviewer3")
APPROVERS = (("qa-director", "approved as quality assurance director"), ("rector", "approved as rector"),
             ("council-chair", "approved as chair of the academic council"))
ADMIN = Context(actor=Actor(name="quality-office", role="admin"), reason="бекитилген мурунку редакция")
STAFF = tuple(f"staff-{n:03d}" for n in range(80))
START = datetime(2015, 1, 12, 9, 0, tzinfo=UTC)
# Sizes in UTF-8 bytes: amended provisions and review comments are what make payloads about 600 bytes.
SECTION_TEXT, AMEND_TEXT, COMMENT_TEXT = 400, 800, 600


@dataclass(frozen=True)
class Command:
    """One command as the ledger takes it, with who gives it."""

    command: cmd.Command
    context: Context


def context(name: str, role: str, reason: str | None = None) -> Context:
    """Return a context for one person acting in one role."""
    return Context(actor=Actor(name=name, role=role), reason=reason)


def sections(corpus: Corpus, rng: random.Random) -> list[dict[str, Any]]:
    """Return an initial section tree shaped like the seed: headings with items, and closing paragraphs."""
    tree = []
    for number in range(rng.randint(4, 7)):
        items = [{"kind": "item", "label": "•", "text": corpus.text(rng, rng.randint(80, 2 * SECTION_TEXT))}
                 for _ in range(rng.randint(2, 7))]
        tree.append({"kind": "heading", "label": f"{number + 1}.", "title": corpus.sentence(rng)[:120],
                     "text": "", "children": items})
    tree += [{"kind": "paragraph", "text": corpus.text(rng, SECTION_TEXT)} for _ in range(rng.randint(2, 4))]
    return tree


@dataclass
class Script:
    """Decide one policy's next command from its folded state, the way its people would act."""

    policy_id: str
    corpus: Corpus
    rng: random.Random
    author: str = ""
    open_revision: str | None = None
    changes_wanted: int = 0
    acknowledged: set[tuple[str, int]] = field(default_factory=set)

    def next(self, policy: Policy, now: datetime, budget: int = 1_000_000) -> Command:
        """Return the next command; it appends at most `budget` events (one when budget is 1)."""
        rng = self.rng
        if not policy.exists:
            self.author = rng.choice(AUTHORS)
            tree = sections(self.corpus, rng)
            return Command(cmd.CreatePolicy(
                policy_id=self.policy_id, title=self.corpus.title, language="ky", review_interval_days=365,
                approval_rule=ApprovalRule(approvals=2, roles=("approver",)),
                sections=cmd.section_drafts(tree) if _count(tree) + 2 <= budget else ()),
                context(self.author, "author"))
        if not policy.versions and self.open_revision is None:
            return self._open(policy)
        if not policy.versions and self.open_revision is not None:
            rev = policy.revisions[self.open_revision]
            if not rev.changes:
                return self._change(policy, rev, budget)
            return Command(cmd.AdoptRevision(policy_id=self.policy_id, revision_id=rev.id,
                                             effective_from=parse_time(format_time(now - timedelta(days=30)))), ADMIN)
        current = policy.revisions.get(self.open_revision) if self.open_revision else None
        if current is None or current.final:
            return self._idle(policy, now)
        rev = current
        if rev.status == "draft":
            if self.changes_wanted > 0 or not rev.changes:
                return self._change(policy, rev, budget)
            if rng.random() < 0.03:
                return Command(cmd.WithdrawRevision(policy_id=self.policy_id, revision_id=rev.id),
                               context(rev.author, "author", "Өзгөртүүнүн кереги жок"))
            return Command(cmd.SubmitRevision(policy_id=self.policy_id, revision_id=rev.id,
                                              reviewers=tuple(rng.sample(REVIEWERS, 2))), context(rev.author, "author"))
        if rev.status == "in_review":
            verdicts = rev.latest_verdicts()
            pending = [r for r in rev.reviewers if verdicts.get(r) != "approve"]
            if pending:
                changes = rng.random() < 0.1
                if changes:
                    self.changes_wanted = 1
                return Command(cmd.ReviewRevision(
                    policy_id=self.policy_id, revision_id=rev.id, verdict="request_changes" if changes else "approve",
                    comment=self.corpus.text(rng, COMMENT_TEXT)), context(pending[0], "reviewer"))
            signed = {s.approver for s in rev.signatures if s.content_hash == rev.content_hash}
            unsigned = [a for a in APPROVERS if a[0] not in signed]
            if len(signed) + 1 >= policy.rule.steps[0].approvals and budget < 2:
                return self._idle(policy, now, single=True)
            name, meaning = unsigned[0]
            return Command(cmd.ApproveRevision(policy_id=self.policy_id, revision_id=rev.id, meaning=meaning,
                                               comment=self.corpus.text(rng, COMMENT_TEXT)), context(name, "approver"))
        # approved: publish, effective from a date on or after the newest version's
        name = rng.choice(APPROVERS)[0]
        after = max(parse_time(policy.versions[-1].effective_from) + timedelta(seconds=1), now)
        effective = after + timedelta(days=rng.randint(0, 45))
        return Command(cmd.PublishRevision(policy_id=self.policy_id, revision_id=rev.id,
                                           effective_from=parse_time(format_time(effective))),
                       context(name, "approver"))

    def observe(self, command: Command, result: dict[str, Any]) -> None:
        """Remember what a command answered (the ids it made)."""
        if isinstance(command.command, cmd.OpenRevision):
            self.open_revision = result["revision_id"]
            self.changes_wanted = self.rng.randint(1, 3)
        elif isinstance(command.command, cmd.CreatePolicy) and result.get("draft_revision_id"):
            self.open_revision = result["draft_revision_id"]

    def _open(self, policy: Policy) -> Command:
        author = context(self.rng.choice(AUTHORS), "author")
        return Command(cmd.OpenRevision(policy_id=self.policy_id, summary=self.corpus.text(self.rng, 120)), author)

    def _idle(self, policy: Policy, now: datetime, single: bool = False) -> Command:
        """Between revisions: acknowledgements, periodic reviews, responsibilities, or a new draft."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.45 or single:
            version = policy.latest_version
            for _ in range(5):
                person = rng.choice(STAFF)
                if (person, version) not in self.acknowledged and (person, version) not in policy.acknowledgements:
                    self.acknowledged.add((person, version))
                    return Command(cmd.AcknowledgeVersion(policy_id=self.policy_id, version=version),
                                   context(person, "author"))
            return Command(cmd.RecordPeriodicReview(policy_id=self.policy_id, outcome="no_change",
                                                    notes=self.corpus.text(rng, COMMENT_TEXT)),
                           context(APPROVERS[0][0], "approver"))
        if roll < 0.5:
            outcome = rng.choice(("no_change", "revision_needed"))
            return Command(cmd.RecordPeriodicReview(policy_id=self.policy_id, outcome=outcome,
                                                    notes=self.corpus.text(rng, COMMENT_TEXT)),
                           context(APPROVERS[0][0], "approver"))
        if roll < 0.55:
            section = rng.choice(sorted(policy.document_at(policy.latest_version).sections))
            return Command(cmd.AssignResponsibility(
                policy_id=self.policy_id, party=rng.choice(("Сапат бөлүмү", "Окуу бөлүмү", "Илимий кеңеш")),
                party_kind="unit", section_id=section, duty="responsible"), ADMIN)
        return self._open(policy)

    def _change(self, policy: Policy, rev: Any, budget: int) -> Command:
        rng = self.rng
        doc = rev.preview
        ops: list[cmd.Change] = []
        used: set[str] = set()
        for _ in range(min(rng.choice((1, 1, 2, 3)), budget)):
            leaves = [sid for sid, s in doc.sections.items() if not doc.children.get(sid) and sid not in used]
            roll = rng.random()
            if roll < 0.8 or not leaves:
                target = rng.choice(leaves) if leaves else None
                if target is None:
                    break
                used.add(target)
                text = self.corpus.text(rng, AMEND_TEXT)
                while text == doc.sections[target].text:
                    text = self.corpus.text(rng, AMEND_TEXT)
                ops.append(cmd.AmendSection(section_id=target, text=text))
            elif roll < 0.95 or len(doc.sections) < 20:
                anchor = rng.choice(leaves)
                ops.append(cmd.AddSection(parent_id=doc.parents[anchor], after_id=anchor, kind="item", label="•",
                                          text=self.corpus.text(rng, AMEND_TEXT)))
                used.add(anchor)
                break  # later ops would not see the new id; one add per command keeps the plan simple
            else:
                target = rng.choice(leaves)
                used.add(target)
                ops.append(cmd.RemoveSection(section_id=target))
        self.changes_wanted = max(0, self.changes_wanted - 1)
        return Command(cmd.ChangeRevision(policy_id=self.policy_id, revision_id=rev.id, changes=tuple(ops)),
                       context(rev.author, "author"))


def _count(tree: list[dict[str, Any]]) -> int:
    return sum(1 + _count(item.get("children") or []) for item in tree)


class Clock:
    """Simulated time that moves forward by a random step on every reading."""

    def __init__(self, rng: random.Random, mean_step_seconds: float, start: datetime = START) -> None:
        self.rng, self.mean, self.now = rng, mean_step_seconds, start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=self.rng.uniform(1, 2 * self.mean), microseconds=self.rng.randrange(10**6))
        return self.now


class Ids:
    """Reproducible ids: the prefix and 48 random bits from the workload's generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self, prefix: str) -> str:
        return f"{prefix}-{self.rng.getrandbits(48):012x}"


def policy_ids(count: int) -> list[str]:
    """Return the workload's policy ids."""
    return [f"policy-{number:04d}" for number in range(count)]
