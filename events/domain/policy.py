"""The policy aggregate: a fold of its events whose commands check every rule and record new events."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from . import commands as cmd
from . import types as ev
from .canonical import format_time, parse_time
from .document import CHANGE_EVENTS, TITLE_KEY, Document, SectionChange
from .errors import (
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
from .revision import ROUTE_KEY, Review, Revision
from .rules import (
    LANGUAGE,
    MAX_SECTIONS_PER_CALL,
    MAX_TITLE,
    MEANINGS,
    PARTY_KINDS,
    PERIODIC_OUTCOMES,
    POLICY_ID,
    POLICY_ID_RULE,
    REVIEW_INTERVAL_DAYS,
    ROLES,
    VERDICTS,
    ApprovalRule,
    Route,
    Signature,
    Status,
    check_document,
    check_length,
    check_range,
    check_section,
    route_progress,
    route_signer,
    status_after,
    waiting_step,
)

IdFactory = Callable[[str], str]


@dataclass(frozen=True, kw_only=True)
class Actor:
    """A person acting in one role at this moment."""

    name: str
    role: str


@dataclass(frozen=True, kw_only=True)
class PublishedVersion:
    """Version N of the policy: its document, when it takes effect and which sections it touched."""

    number: int
    revision_id: str
    effective_from: str
    published_at: str
    content_hash: str
    document: Document  # never changed once published: revisions opened on it change a copy
    touched: frozenset[str]
    editorial: bool


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """A person's or unit's responsibility for the policy or one section, from a date."""

    id: str
    party: str
    party_kind: str
    section_id: str | None
    duty: str
    valid_from: str
    valid_to: str | None = None


@dataclass(frozen=True, kw_only=True)
class Campaign:
    """People asked to acknowledge a version by a date; `root` is the first campaign of the chain it renews."""

    id: str
    root: str
    version: int
    roles: tuple[str, ...]
    users: tuple[str, ...]
    people: tuple[str, ...]
    due: str
    started_at: str
    follows: str | None


@dataclass(frozen=True, kw_only=True)
class Retirement:
    """The policy is in force nowhere from `effective_from`; `last_version` was the newest when it was retired."""

    revision_id: str
    effective_from: str
    last_version: int
    reason: str


@dataclass(kw_only=True)
class Policy:
    """One policy's state, folded from its stream; `pending` holds events recorded by a command."""

    id: str = ""
    title: str = ""
    language: str = ""
    owner: str = ""
    review_interval_days: int = 0
    rule: Route = field(default_factory=lambda: Route.of(ApprovalRule()))
    version: int = 0
    versions: list[PublishedVersion] = field(default_factory=list)
    revisions: dict[str, Revision] = field(default_factory=dict)
    known_sections: set[str] = field(default_factory=set)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    acknowledgements: dict[tuple[str, int], str] = field(default_factory=dict)
    campaigns: dict[str, Campaign] = field(default_factory=dict)
    retirement: Retirement | None = None
    pending: list[ev.Event] = field(default_factory=list)
    _created_title: str = ""
    _now: str = ""

    # ---- folding -------------------------------------------------------------------------------

    @classmethod
    def fold(cls, history: Iterable[tuple[int, ev.Event, str]]) -> Policy:
        """Rebuild a policy from (stream version, event, occurred_at) triples in order."""
        policy = cls()
        for version, event, occurred_at in history:
            policy.apply(event, version, occurred_at)
        return policy

    @property
    def exists(self) -> bool:
        """Tell whether the policy has been created."""
        return self.version > 0

    def apply(self, event: ev.Event, version: int, occurred_at: str) -> None:
        """Fold one event in; checks only the order, never the rules."""
        if version != self.version + 1:
            raise EventOrderError(f"event version {version} applied after {self.version}")
        self.version = version
        handler = _APPLY.get(type(event))
        if handler is None:
            raise EventOrderError(f"no fold for {event.type_name}")
        handler(self, event, occurred_at)

    # ---- reading -------------------------------------------------------------------------------

    @property
    def latest_version(self) -> int:
        """Return the number of the newest published version (0 before the first)."""
        return len(self.versions)

    def document_at(self, number: int) -> Document:
        """Return the document of version `number` (0 is the empty document); change only a copy of it."""
        if number == 0:
            return Document.empty(self._created_title)
        return self.versions[number - 1].document

    def revision(self, revision_id: str) -> Revision:
        """Return a revision or refuse naming the unknown id."""
        try:
            return self.revisions[revision_id]
        except KeyError:
            raise NotFound(f"no revision {revision_id!r} in policy {self.id!r}", field="revision_id") from None

    def conflicts(self, rev: Revision) -> list[str]:
        """Return the ids a stale revision touches that changed since its base."""
        changed: set[str] = set()
        for version in self.versions[rev.base_version:]:
            changed |= version.touched
        return sorted(rev.touched & changed)

    # ---- commands ------------------------------------------------------------------------------

    def _record(self, event: ev.Event) -> None:
        self.apply(event, self.version + 1, self._now)
        self.pending.append(event)

    def _begin(self, now: datetime) -> None:
        self._now = format_time(now)
        if not self.exists:
            raise NotFound("no such policy", field="policy_id")

    def create(self, command: cmd.CreatePolicy, *, owner: str, ids: IdFactory, now: datetime) -> str | None:
        """Create the policy; initial sections become a draft revision whose id is returned."""
        self._now = format_time(now)
        if not POLICY_ID.fullmatch(command.policy_id):
            raise InvalidInput(f"id must be {POLICY_ID_RULE}", field="id")
        if self.exists:
            raise AlreadyExists(f"policy {command.policy_id!r} already exists", field="id")
        _require_text(command.title, "title")
        check_length(command.title, MAX_TITLE, "title")
        if not LANGUAGE.fullmatch(command.language):
            raise InvalidInput("language must be a language tag such as ky, ru or en", field="language")
        check_range(command.review_interval_days, REVIEW_INTERVAL_DAYS, "review_interval_days")
        given = command.approval_rule or ApprovalRule()
        rule = Route.of(given) if isinstance(given, ApprovalRule) else given
        self._record(ev.PolicyCreated(policy_id=command.policy_id, title=command.title, language=command.language,
                                      owner=owner, review_interval_days=command.review_interval_days,
                                      approval_rule=rule.to_data()))
        if not command.sections:
            return None
        brought = _count(command.sections)
        if brought > MAX_SECTIONS_PER_CALL:
            raise InvalidInput(f"a new policy brings at most {MAX_SECTIONS_PER_CALL:,} sections (these are "
                               f"{brought:,}); add the rest to its draft in later changes", field="sections")
        revision_id = self.open_revision(cmd.OpenRevision(policy_id=command.policy_id, summary=command.summary,
                                                          base_version=0), author=owner, ids=ids, now=now)
        self._add_tree(revision_id, command.sections, None, ids)
        return revision_id

    def _add_tree(self, revision_id: str, sections: tuple[cmd.SectionDraft, ...], parent_id: str | None,
                  ids: IdFactory, path: str = "sections") -> None:
        after = None
        for index, item in enumerate(sections):
            where = f"{path}[{index}]"
            add = cmd.AddSection(kind=item.kind, parent_id=parent_id, after_id=after, label=item.label,
                                 title=item.title, text=item.text)
            try:
                event = self._change_event(revision_id, add, ids)
                self._record(event)
            except InvalidInput as error:
                raise InvalidInput(error.message, field=f"{where}.{error.field}") from None
            assert isinstance(event, ev.SectionAdded)
            after = event.section_id
            self._add_tree(revision_id, item.children, after, ids, f"{where}.children")

    def open_revision(self, command: cmd.OpenRevision, *, author: str, ids: IdFactory, now: datetime) -> str:
        """Open a draft revision against a published version (the newest by default)."""
        self._begin(now)
        self._not_retired()
        base = self.latest_version if command.base_version is None else command.base_version
        if not 0 <= base <= self.latest_version:
            raise NotFound(f"no version {command.base_version} to base a revision on", field="base_version")
        revision_id = ids("rev")
        self._record(ev.RevisionOpened(revision_id=revision_id, base_version=base, summary=command.summary,
                                       author=author))
        return revision_id

    def _editable(self, actor: Actor, revision_id: str) -> Revision:
        rev = self.revision(revision_id)
        if actor.name != rev.author:
            raise Forbidden("only the revision's author may change, submit or withdraw it", field="author")
        if rev.status != Status.DRAFT:
            raise WrongState(f"revision is {rev.status}; only a draft can change", field="status")
        return rev

    def change(self, command: cmd.ChangeRevision, *, actor: Actor, ids: IdFactory, now: datetime) -> list[str]:
        """Apply add, amend, move, remove and retitle ops to a draft, all or none; return the ids they touched."""
        self._begin(now)
        if self._editable(actor, command.revision_id).retire:
            raise WrongState("a retirement revision changes no text; open another revision to change it",
                             field="changes")
        if not command.changes:
            raise InvalidInput("changes must be a non-empty list", field="changes")
        if len(command.changes) > MAX_SECTIONS_PER_CALL:
            raise InvalidInput(f"one call makes at most {MAX_SECTIONS_PER_CALL:,} changes (these are "
                               f"{len(command.changes):,})", field="changes")
        touched = []
        for index, op in enumerate(command.changes):
            try:
                event = self._change_event(command.revision_id, op, ids)
                self._record(event)
            except (InvalidInput, NotFound) as error:
                raise type(error)(error.message, field=f"changes[{index}].{error.field}") from None
            touched.append(ROUTE_KEY if isinstance(event, ev.ApprovalRouteChanged)
                           else getattr(event, "section_id", TITLE_KEY))
        return touched

    def _change_event(self, revision_id: str, op: cmd.Change,
                      ids: IdFactory) -> SectionChange | ev.ApprovalRouteChanged:
        preview = self.revisions[revision_id].preview
        if isinstance(op, cmd.ChangeRoute):
            route = op.approval_rule.to_data()
            if route == self.rule.to_data() and self.revisions[revision_id].proposed_route is None:
                raise InvalidInput("the route is the policy's route already", field="approval_rule")
            return ev.ApprovalRouteChanged(revision_id=revision_id, approval_rule=route)
        if isinstance(op, cmd.AddSection):
            check_section(op.text, op.title, op.label)
            check_document(len(preview.sections) + 1, preview.characters + _characters(op.text, op.title, op.label))
            return ev.SectionAdded(revision_id=revision_id, section_id=ids("s"), parent_id=op.parent_id,
                                   after_id=op.after_id, kind=op.kind, label=op.label, title=op.title, text=op.text)
        if isinstance(op, cmd.AmendSection):
            old = preview.require(op.section_id)
            amended = ev.SectionAmended(
                revision_id=revision_id, section_id=old.id,
                text=old.text if op.text is cmd.KEEP else op.text,
                title=old.title if op.title is cmd.KEEP else op.title,
                label=old.label if op.label is cmd.KEEP else op.label)
            if (amended.text, amended.title, amended.label) == (old.text, old.title, old.label):
                raise InvalidInput("the amendment changes nothing", field="text")
            check_section(amended.text, amended.title, amended.label)
            check_document(len(preview.sections), preview.characters - _characters(old.text, old.title, old.label)
                           + _characters(amended.text, amended.title, amended.label))
            return amended
        if isinstance(op, cmd.MoveSection):
            return ev.SectionMoved(revision_id=revision_id, section_id=op.section_id, parent_id=op.parent_id,
                                   after_id=op.after_id)
        if isinstance(op, cmd.RemoveSection):
            preview.require(op.section_id)
            return ev.SectionRemoved(revision_id=revision_id, section_id=op.section_id)
        check_length(op.title, MAX_TITLE, "title")
        return ev.PolicyRetitled(revision_id=revision_id, title=op.title)

    def submit(self, command: cmd.SubmitRevision, *, actor: Actor, now: datetime) -> None:
        """Send a draft to review by named reviewers."""
        self._begin(now)
        rev = self._editable(actor, command.revision_id)
        _check_reviewers(rev, command.reviewers)
        if not rev.changes and rev.proposed_route is None and not rev.retire:
            raise WrongState("the revision has no changes to review", field="changes")
        for number, step in enumerate(self.rule.steps, start=1):
            others = [u for u in step.users if u != rev.author]
            if not step.roles and len(others) < step.approvals:  # it would wait for good on its own author
                raise SeparationOfDuties(f"step {number} of the approval route names its author among too few "
                                         "signers: another author must propose it", field="author")
        self._record(ev.RevisionSubmitted(revision_id=rev.id, reviewers=list(dict.fromkeys(command.reviewers)),
                                          content_hash=rev.content_hash))
        self._settle(rev)

    def _settle(self, rev: Revision) -> None:
        if rev.status == Status.IN_REVIEW and rev.ready(self.rule):
            approvers = sorted({name for item in route_progress(self.rule, rev.signatures, rev.content_hash)
                                for name in item.signers})
            self._record(ev.RevisionApprovalCompleted(revision_id=rev.id, content_hash=rev.content_hash,
                                                      approvers=approvers))

    def _in_review(self, actor: Actor, revision_id: str, duty: str) -> Revision:
        rev = self.revision(revision_id)
        if actor.name == rev.author:
            raise SeparationOfDuties(f"the author of a revision cannot {duty} it", field="actor")
        if rev.status not in (Status.IN_REVIEW, Status.APPROVED):
            raise WrongState(f"revision is {rev.status}; it is not in review", field="status")
        return rev

    def review(self, command: cmd.ReviewRevision, *, actor: Actor, now: datetime) -> None:
        """Record a reviewer's verdict on the content as it stands."""
        self._begin(now)
        rev = self._in_review(actor, command.revision_id, "review")
        if command.verdict not in VERDICTS:
            raise InvalidInput(f"verdict must be one of {', '.join(VERDICTS)}", field="verdict")
        if rev.reviewers and actor.name not in rev.reviewers:
            raise Forbidden("only the reviewers the author named may review this revision", field="actor")
        if command.verdict == "request_changes" and not command.comment.strip():
            raise InvalidInput("a request for changes needs a comment", field="comment")
        self._record(ev.RevisionReviewed(revision_id=rev.id, reviewer=actor.name, verdict=command.verdict,
                                         comment=command.comment, content_hash=rev.content_hash))
        self._settle(rev)

    def approve(self, command: cmd.ApproveRevision, *, actor: Actor, now: datetime) -> None:
        """Sign the revision's current content, for the step of its route it waits on, with a meaning."""
        self._begin(now)
        rev = self._in_review(actor, command.revision_id, "approve")
        if command.meaning not in MEANINGS:
            raise InvalidInput(f"meaning must be one of: {', '.join(MEANINGS)}", field="meaning")
        signer, role = actor.name, actor.role
        if command.on_behalf_of is not None:
            if command.on_behalf_of == actor.name:
                raise InvalidInput("a person signs for themselves without naming a delegation", field="on_behalf_of")
            if command.on_behalf_of == rev.author:  # separation of duties binds the delegating person too
                raise SeparationOfDuties("the author of a revision cannot approve it, nor through a delegate",
                                         field="on_behalf_of")
            signer, role = command.on_behalf_of, command.on_behalf_of_role or actor.role
        route = self.rule  # the route in force: a revision that changes it is signed under the old one
        index = waiting_step(route, rev.signatures, rev.content_hash)
        if index is None:
            raise WrongState("every step of the approval route is signed already", field="status")
        step = route.steps[index]
        if not step.admits(signer, role):
            raise Forbidden(f"step {index + 1} of the approval route waits on {_step_signers(step)}", field="actor")
        counts = command.meaning in step.counted_meanings
        if not counts and command.meaning != "reviewed":
            raise InvalidInput(f"step {index + 1} counts only the meanings: {', '.join(sorted(step.counted_meanings))}",
                               field="meaning")
        for s in rev.signatures:
            if s.content_hash != rev.content_hash or s.step != index:
                continue
            same_person = signer in (s.approver, route_signer(s)) or actor.name in (s.approver, route_signer(s))
            if same_person and (s.meaning == command.meaning or (counts and s.meaning in step.counted_meanings)):
                raise WrongState("you have already signed this content", field="actor")
        self._record(ev.RevisionApproved(revision_id=rev.id, approver=actor.name, role=role,
                                         meaning=command.meaning, comment=command.comment,
                                         content_hash=rev.content_hash, step=index,
                                         full_name=command.full_name.strip() or actor.name,
                                         on_behalf_of=command.on_behalf_of))
        self._settle(rev)

    def publish(self, command: cmd.PublishRevision, *, actor: Actor, reason: str | None, now: datetime) -> int:
        """Publish an approved revision as the next version; returns its number."""
        self._begin(now)
        rev = self.revision(command.revision_id)
        if actor.name == rev.author:
            raise SeparationOfDuties("the author of a revision cannot publish it", field="actor")
        if rev.status == Status.IN_REVIEW:
            raise ApprovalRuleNotMet(self._missing_approvals(rev), field="status")
        if rev.status != Status.APPROVED:
            raise WrongState(f"revision is {rev.status}; only an approved revision can be published", field="status")
        self._not_retired()
        if rev.retire:
            return self._retire(rev, command.effective_from or now, reason)
        return self._publish(rev, command.effective_from or now, reason, command.editorial, adopted=False)

    def adopt(self, command: cmd.AdoptRevision, *, reason: str | None, now: datetime) -> int:
        """Publish a policy's first version as adopted before the ledger kept it; needs a reason."""
        self._begin(now)
        rev = self.revision(command.revision_id)
        if self.versions:
            raise WrongState("only a policy's first version can be adopted; later ones need approval",
                             field="revision_id")
        if rev.status != Status.DRAFT or not rev.changes:
            raise WrongState("adoption takes a draft with sections", field="status")
        if not (reason or "").strip():
            raise InvalidInput("adopting without review needs a reason (where it was approved)", field="reason")
        return self._publish(rev, command.effective_from or now, reason, editorial=False, adopted=True)

    def _missing_approvals(self, rev: Revision) -> str:
        pending = [r for r in rev.reviewers if rev.latest_verdicts().get(r) != "approve"]
        parts = []
        for item, step in zip(route_progress(self.rule, rev.signatures, rev.content_hash), self.rule.steps,
                              strict=True):
            if item.status == "waiting":
                where = f"step {item.step} of {len(self.rule.steps)}: " if len(self.rule.steps) > 1 else ""
                parts.append(f"{where}{len(item.signers)} of {step.approvals} approvals from {_step_signers(step)}")
        if pending:
            parts.append(f"reviews pending from {', '.join(pending)}")
        return "approval rule not met: " + "; ".join(parts)

    def _publish(self, rev: Revision, effective_from: datetime, reason: str | None, editorial: bool,
                 adopted: bool) -> int:
        effective = format_time(effective_from)
        if self.versions and effective < self.versions[-1].effective_from:
            raise WrongState(f"effective_from precedes version {self.latest_version}'s "
                             f"({self.versions[-1].effective_from})", field="effective_from")
        backdated = effective < self._now
        if backdated and not (reason or "").strip():
            raise InvalidInput("a past effective date needs a reason", field="reason")
        document = self._rebased(rev)
        self._record(ev.RevisionPublished(
            revision_id=rev.id, version=self.latest_version + 1, base_version=rev.base_version,
            effective_from=effective, backdated=backdated, editorial=bool(editorial), adopted=adopted,
            title=document.title, content_hash=document.content_hash(self.id, self.language),
            signed_content_hash=rev.content_hash, rebased=rev.base_version != self.latest_version,
            approval_rule=rev.proposed_route))
        if not editorial and not adopted:
            self._renew_campaigns(effective)
        return self.latest_version

    def _rebased(self, rev: Revision) -> Document:
        if rev.base_version == self.latest_version:
            return rev.preview
        clashes = self.conflicts(rev)
        if clashes:
            raise RevisionConflict(f"sections changed since version {rev.base_version}: {', '.join(clashes)}; "
                                   "rebase the revision", sections=clashes)
        document = self.document_at(self.latest_version).copy()
        for change in rev.changes:
            try:
                document.apply(change)
            except (InvalidInput, NotFound) as error:
                anchor = [error.field or "section"]
                raise RevisionConflict(f"a change no longer fits version {self.latest_version}: {error.message}",
                                       sections=anchor) from None
        return document

    def reject(self, command: cmd.RejectRevision, *, actor: Actor, reason: str | None, now: datetime) -> None:
        """Reject a revision for good, with a reason."""
        self._begin(now)
        rev = self.revision(command.revision_id)
        if actor.name == rev.author:
            raise SeparationOfDuties("the author of a revision cannot reject it; withdraw it instead", field="actor")
        if rev.final:
            raise WrongState(f"revision is already {rev.status}", field="status")
        _require_text(reason, "reason")
        self._record(ev.RevisionRejected(revision_id=rev.id, reason=reason or ""))

    def withdraw(self, command: cmd.WithdrawRevision, *, actor: Actor, reason: str | None, now: datetime) -> None:
        """Withdraw one's own revision for good, with a reason."""
        self._begin(now)
        rev = self.revision(command.revision_id)
        if actor.name != rev.author:
            raise Forbidden("only the revision's author may withdraw it", field="actor")
        if rev.final:
            raise WrongState(f"revision is already {rev.status}", field="status")
        _require_text(reason, "reason")
        self._record(ev.RevisionWithdrawn(revision_id=rev.id, reason=reason or ""))

    def recall(self, command: cmd.RecallRevision, *, actor: Actor, now: datetime) -> None:
        """Take one's own revision back from review to draft; its reviews and signatures become void."""
        self._begin(now)
        rev = self.revision(command.revision_id)
        if actor.name != rev.author:
            raise Forbidden("only the revision's author may recall it", field="actor")
        if rev.status not in (Status.IN_REVIEW, Status.APPROVED):
            raise WrongState(f"revision is {rev.status}; only a revision in review can be recalled", field="status")
        self._record(ev.RevisionRecalled(revision_id=rev.id))

    def change_reviewers(self, command: cmd.ChangeReviewers, *, actor: Actor, now: datetime) -> None:
        """Name other reviewers for one's own revision while it is in review."""
        self._begin(now)
        rev = self.revision(command.revision_id)
        if actor.name != rev.author:
            raise Forbidden("only the revision's author may change its reviewers", field="actor")
        if rev.status != Status.IN_REVIEW:
            raise WrongState(f"revision is {rev.status}; reviewers change only while it is in review",
                             field="status")
        _check_reviewers(rev, command.reviewers)
        reviewers = list(dict.fromkeys(command.reviewers))
        if tuple(reviewers) == rev.reviewers:
            raise InvalidInput("these are the revision's reviewers already", field="reviewers")
        self._record(ev.ReviewersChanged(revision_id=rev.id, reviewers=reviewers))
        self._settle(rev)

    def assign(self, command: cmd.AssignResponsibility, *, ids: IdFactory, now: datetime) -> str:
        """Make a person or unit responsible for the policy or one section; returns the assignment id."""
        self._begin(now)
        _require_text(command.party, "party")
        _require_text(command.duty, "duty")
        if command.party_kind not in PARTY_KINDS:
            raise InvalidInput(f"party_kind must be one of {', '.join(PARTY_KINDS)}", field="party_kind")
        if command.section_id is not None and command.section_id not in self.known_sections:
            raise NotFound(f"no section {command.section_id!r} in this policy", field="section_id")
        assignment_id = ids("asg")
        self._record(ev.ResponsibilityAssigned(
            assignment_id=assignment_id, party=command.party, party_kind=command.party_kind,
            section_id=command.section_id, duty=command.duty,
            valid_from=format_time(command.valid_from) if command.valid_from else self._now))
        return assignment_id

    def revoke(self, command: cmd.RevokeResponsibility, *, now: datetime) -> None:
        """End a responsibility assignment."""
        self._begin(now)
        assignment = self.assignments.get(command.assignment_id)
        if assignment is None:
            raise NotFound(f"no assignment {command.assignment_id!r}", field="assignment_id")
        if assignment.valid_to is not None:
            raise WrongState("the assignment is already revoked", field="assignment_id")
        end = format_time(command.valid_to) if command.valid_to else self._now
        if end < assignment.valid_from:
            raise InvalidInput("valid_to precedes the assignment's start", field="valid_to")
        self._record(ev.ResponsibilityRevoked(assignment_id=command.assignment_id, valid_to=end))

    def record_periodic_review(self, command: cmd.RecordPeriodicReview, *, ids: IdFactory, now: datetime) -> str:
        """Record a periodic review of the version in force, even when nothing needs to change."""
        self._begin(now)
        if command.outcome not in PERIODIC_OUTCOMES:
            raise InvalidInput(f"outcome must be one of {', '.join(PERIODIC_OUTCOMES)}", field="outcome")
        if not self.versions:
            raise WrongState("nothing is published yet to review", field="policy_id")
        review_id = ids("prv")
        due = format_time(now + timedelta(days=self.review_interval_days))
        self._record(ev.PeriodicReviewRecorded(review_id=review_id, outcome=command.outcome, notes=command.notes,
                                               version=self._version_in_force(), next_review_due=due))
        return review_id

    def _version_in_force(self) -> int:
        current = [v.number for v in self.versions if v.effective_from <= self._now]
        return current[-1] if current else self.latest_version

    def acknowledge(self, command: cmd.AcknowledgeVersion, *, person: str, now: datetime) -> None:
        """Record that a staff member has read a version, bound to its content hash."""
        self._begin(now)
        if not 1 <= command.version <= self.latest_version:
            raise NotFound(f"no version {command.version}", field="version")
        if (person, command.version) in self.acknowledgements:
            raise WrongState(f"{person} has already acknowledged version {command.version}", field="version")
        self._record(ev.AcknowledgementRecorded(person=person, version=command.version,
                                                content_hash=self.versions[command.version - 1].content_hash))


    # ---- acknowledgement campaigns and retirement ---------------------------------------------------

    def start_campaign(self, command: cmd.StartCampaign, *, ids: IdFactory, now: datetime) -> str:
        """Ask people, by role or by name, to acknowledge a version by a date; returns the campaign's id."""
        self._begin(now)
        self._not_retired()
        if not 1 <= command.version <= self.latest_version:
            raise NotFound(f"no version {command.version}", field="version")
        if any(role not in ROLES for role in command.roles):
            raise InvalidInput(f"roles must be drawn from {', '.join(ROLES)}", field="roles")
        if any(not user.strip() for user in command.users):
            raise InvalidInput("users must be a list of user names", field="users")
        if not command.roles and not command.users:
            raise InvalidInput("name the roles or the users to ask", field="roles")
        due = format_time(command.due)
        if due <= self._now:
            raise InvalidInput("due must be a time to come", field="due")
        people = sorted(set(command.audience))
        if not people:
            raise InvalidInput("nobody holds these roles", field="roles")
        campaign_id = ids("cmp")
        self._record(ev.CampaignStarted(campaign_id=campaign_id, version=command.version,
                                        roles=list(dict.fromkeys(command.roles)),
                                        users=list(dict.fromkeys(command.users)), people=people, due=due,
                                        follows=None))
        return campaign_id

    def _renew_campaigns(self, effective: str) -> None:
        """A substantive version asks the same people again, with the time the campaign it renews gave them."""
        followed = {c.follows for c in self.campaigns.values()}
        start = parse_time(max(effective, self._now))
        for campaign in [c for c in self.campaigns.values() if c.id not in followed]:
            allowed = parse_time(campaign.due) - parse_time(campaign.started_at)
            self._record(ev.CampaignStarted(
                campaign_id=f"{campaign.root}-v{self.latest_version}", version=self.latest_version,
                roles=list(campaign.roles), users=list(campaign.users), people=list(campaign.people),
                due=format_time(start + allowed), follows=campaign.id))

    def open_retirement(self, command: cmd.OpenRetirement, *, author: str, ids: IdFactory, now: datetime) -> str:
        """Open a revision that retires the policy; it goes through review and the approval rule as any other."""
        self._begin(now)
        self._not_retired()
        if not self.versions:
            raise WrongState("nothing is published yet to retire", field="policy_id")
        _require_text(command.summary, "summary")
        revision_id = self.open_revision(cmd.OpenRevision(policy_id=self.id, summary=command.summary),
                                         author=author, ids=ids, now=now)
        self._record(ev.RetirementProposed(revision_id=revision_id))
        return revision_id

    def _retire(self, rev: Revision, effective_from: datetime, reason: str | None) -> int:
        effective = format_time(effective_from)
        if effective < self.versions[-1].effective_from:
            raise WrongState(f"effective_from precedes version {self.latest_version}'s "
                             f"({self.versions[-1].effective_from})", field="effective_from")
        backdated = effective < self._now
        if backdated and not (reason or "").strip():
            raise InvalidInput("a past effective date needs a reason", field="reason")
        self._record(ev.PolicyRetired(revision_id=rev.id, effective_from=effective, backdated=backdated,
                                      last_version=self.latest_version, reason=rev.summary))
        return self.latest_version

    def _not_retired(self) -> None:
        if self.retirement is not None:
            raise WrongState(f"the policy is retired from {self.retirement.effective_from}", field="policy_id")


def _characters(text: object, title: object, label: object) -> int:
    return sum(len(value) for value in (text, title, label) if isinstance(value, str))


def _count(sections: tuple[cmd.SectionDraft, ...]) -> int:
    total, todo = 0, list(sections)
    while todo:
        total += 1
        todo.extend(todo.pop().children)
    return total


def _check_reviewers(rev: Revision, reviewers: tuple[str, ...]) -> None:
    if any(not reviewer.strip() for reviewer in reviewers):
        raise InvalidInput("reviewers must be a list of names", field="reviewers")
    if rev.author in reviewers:
        raise SeparationOfDuties("the author of a revision cannot review it", field="reviewers")


def _step_signers(step: Any) -> str:
    named = [*step.users, *(f"any {role}" for role in step.roles)]
    return " or ".join(named)


def _require_text(value: str | None, field: str) -> None:
    if value is None or not value.strip():
        raise InvalidInput(f"{field} is required", field=field)


# ---- the fold, one function per event type ---------------------------------------------------------

def _created(p: Policy, e: ev.PolicyCreated, at: str) -> None:
    p.id, p.title, p.language, p.owner = e.policy_id, e.title, e.language, e.owner
    p._created_title = e.title
    p.review_interval_days = e.review_interval_days
    p.rule = Route.from_data(e.approval_rule)


def _opened(p: Policy, e: ev.RevisionOpened, at: str) -> None:
    p.revisions[e.revision_id] = Revision(id=e.revision_id, policy_id=p.id, language=p.language, author=e.author,
                                          base_version=e.base_version, summary=e.summary,
                                          preview=p.document_at(e.base_version).copy())


def _changed(p: Policy, e: SectionChange, at: str) -> None:
    p.revisions[e.revision_id].change(e)
    if isinstance(e, ev.SectionAdded):
        p.known_sections.add(e.section_id)


def _moved_on(p: Policy, e: Any, at: str) -> None:
    status = status_after(e)
    if status is not None:
        p.revisions[e.revision_id].status = status


def _submitted(p: Policy, e: ev.RevisionSubmitted, at: str) -> None:
    p.revisions[e.revision_id].reviewers = tuple(e.reviewers)
    _moved_on(p, e, at)


def _reviewed(p: Policy, e: ev.RevisionReviewed, at: str) -> None:
    p.revisions[e.revision_id].reviews.append(Review(reviewer=e.reviewer, verdict=e.verdict, comment=e.comment,
                                                     content_hash=e.content_hash))
    _moved_on(p, e, at)


def _approved(p: Policy, e: ev.RevisionApproved, at: str) -> None:
    p.revisions[e.revision_id].signatures.append(
        Signature(approver=e.approver, role=e.role, meaning=e.meaning, content_hash=e.content_hash, step=e.step,
                  on_behalf_of=e.on_behalf_of))


def _published(p: Policy, e: ev.RevisionPublished, at: str) -> None:
    rev = p.revisions[e.revision_id]
    document = p._rebased(rev)
    p.versions.append(PublishedVersion(number=e.version, revision_id=rev.id, effective_from=e.effective_from,
                                       published_at=at, content_hash=e.content_hash, document=document,
                                       touched=frozenset(rev.touched), editorial=e.editorial))
    p.title = document.title
    if e.approval_rule is not None:
        p.rule = Route.from_data(e.approval_rule)
    _moved_on(p, e, at)


def _assigned(p: Policy, e: ev.ResponsibilityAssigned, at: str) -> None:
    p.assignments[e.assignment_id] = Assignment(id=e.assignment_id, party=e.party, party_kind=e.party_kind,
                                                section_id=e.section_id, duty=e.duty, valid_from=e.valid_from)


def _revoked(p: Policy, e: ev.ResponsibilityRevoked, at: str) -> None:
    p.assignments[e.assignment_id] = replace(p.assignments[e.assignment_id], valid_to=e.valid_to)


def _periodic_review(p: Policy, e: ev.PeriodicReviewRecorded, at: str) -> None:
    pass  # nothing a later command checks depends on it


def _acknowledged(p: Policy, e: ev.AcknowledgementRecorded, at: str) -> None:
    p.acknowledgements[(e.person, e.version)] = e.content_hash


def _route_changed(p: Policy, e: ev.ApprovalRouteChanged, at: str) -> None:
    p.revisions[e.revision_id].propose_route(e.approval_rule)


def _recalled(p: Policy, e: ev.RevisionRecalled, at: str) -> None:
    rev = p.revisions[e.revision_id]
    rev.status, rev.reviews, rev.signatures = Status.DRAFT, [], []  # a recall voids them, content unchanged or not


def _reviewers_changed(p: Policy, e: ev.ReviewersChanged, at: str) -> None:
    p.revisions[e.revision_id].reviewers = tuple(e.reviewers)


def _campaign_started(p: Policy, e: ev.CampaignStarted, at: str) -> None:
    root = p.campaigns[e.follows].root if e.follows else e.campaign_id
    p.campaigns[e.campaign_id] = Campaign(id=e.campaign_id, root=root, version=e.version, roles=tuple(e.roles),
                                          users=tuple(e.users), people=tuple(e.people), due=e.due,
                                          started_at=at, follows=e.follows)


def _retirement_proposed(p: Policy, e: ev.RetirementProposed, at: str) -> None:
    p.revisions[e.revision_id].retire = True


def _retired(p: Policy, e: ev.PolicyRetired, at: str) -> None:
    p.retirement = Retirement(revision_id=e.revision_id, effective_from=e.effective_from,
                              last_version=e.last_version, reason=e.reason)
    _moved_on(p, e, at)


_APPLY: dict[type[ev.Event], Callable[[Policy, Any, str], None]] = {
    ev.PolicyCreated: _created,
    ev.RevisionOpened: _opened,
    **dict.fromkeys(CHANGE_EVENTS, _changed),
    ev.RevisionSubmitted: _submitted,
    ev.RevisionReviewed: _reviewed,
    ev.RevisionApproved: _approved,
    ev.RevisionApprovalCompleted: _moved_on,
    ev.RevisionPublished: _published,
    ev.RevisionRejected: _moved_on,
    ev.RevisionWithdrawn: _moved_on,
    ev.ResponsibilityAssigned: _assigned,
    ev.ResponsibilityRevoked: _revoked,
    ev.PeriodicReviewRecorded: _periodic_review,
    ev.AcknowledgementRecorded: _acknowledged,
    ev.ApprovalRouteChanged: _route_changed,
    ev.RevisionRecalled: _recalled,
    ev.ReviewersChanged: _reviewers_changed,
    ev.CampaignStarted: _campaign_started,
    ev.RetirementProposed: _retirement_proposed,
    ev.PolicyRetired: _retired,
}
