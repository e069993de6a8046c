"""The policy aggregate: a fold of its events whose commands check every rule and record new events."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Iterable

from . import types as ev
from .canonical import format_time
from .document import Document, Section
from .errors import (AlreadyExists, ApprovalRuleNotMet, EventOrderError, Forbidden, InvalidInput, NotFound,
                     RevisionConflict, SeparationOfDuties, WrongState)
from .revision import Review, Revision
from .rules import (MEANINGS, PARTY_KINDS, PERIODIC_OUTCOMES, VERDICTS, ApprovalRule, Signature,
                    counting_approvers)

IdFactory = Callable[[str], str]
POLICY_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])")
TITLE_KEY = "title"  # the pseudo-section a retitle touches, for conflict detection


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
    document: Document
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


@dataclass(kw_only=True)
class Policy:
    """One policy's state, folded from its stream; `pending` holds events recorded by a command."""

    id: str = ""
    title: str = ""
    language: str = ""
    owner: str = ""
    review_interval_days: int = 0
    rule: ApprovalRule = field(default_factory=ApprovalRule)
    version: int = 0
    versions: list[PublishedVersion] = field(default_factory=list)
    revisions: dict[str, Revision] = field(default_factory=dict)
    known_sections: set[str] = field(default_factory=set)
    assignments: dict[str, Assignment] = field(default_factory=dict)
    acknowledgements: dict[tuple[str, int], str] = field(default_factory=dict)
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
        """Return the document of version `number` (0 is the empty document)."""
        if number == 0:
            return Document.empty(self._created_title)
        return self.versions[number - 1].document

    def revision(self, revision_id: str) -> Revision:
        """Return a revision or refuse naming the unknown id."""
        try:
            return self.revisions[revision_id]
        except KeyError:
            raise NotFound(f"no revision {revision_id!r} in policy {self.id!r}", field="revision_id") from None

    # ---- commands ------------------------------------------------------------------------------

    def _record(self, event: ev.Event) -> None:
        self.apply(event, self.version + 1, self._now)
        self.pending.append(event)

    def _begin(self, now: datetime) -> None:
        self._now = format_time(now)
        if not self.exists:
            raise NotFound("no such policy", field="policy_id")

    def create(self, *, policy_id: str, title: str, language: str, owner: str, review_interval_days: int,
               approval_rule: dict[str, Any] | None, sections: list[dict[str, Any]] | None,
               summary: str, ids: IdFactory, now: datetime) -> str | None:
        """Create the policy; initial sections become a draft revision whose id is returned."""
        self._now = format_time(now)
        if not isinstance(policy_id, str) or not POLICY_ID.fullmatch(policy_id):
            raise InvalidInput("id must be 2 to 100 lowercase letters, digits and hyphens, not starting or "
                               "ending with a hyphen", field="id")
        if self.exists:
            raise AlreadyExists(f"policy {policy_id!r} already exists", field="id")
        _require_text(title, "title")
        _require_text(language, "language")
        if not isinstance(review_interval_days, int) or not 1 <= review_interval_days <= 3660:
            raise InvalidInput("review_interval_days must be from 1 to 3660", field="review_interval_days")
        rule = ApprovalRule.parse(approval_rule)
        self._record(ev.PolicyCreated(policy_id=policy_id, title=title, language=language, owner=owner,
                                      review_interval_days=review_interval_days, approval_rule=rule.to_data()))
        if not sections:
            return None
        if not isinstance(sections, list):
            raise InvalidInput("sections must be a list", field="sections")
        revision_id = self.open_revision(author=owner, summary=summary, base_version=0, ids=ids, now=now)
        self._add_tree(revision_id, sections, None, ids)
        return revision_id

    def _add_tree(self, revision_id: str, sections: list[dict[str, Any]], parent_id: str | None,
                  ids: IdFactory, path: str = "sections") -> None:
        after = None
        for index, item in enumerate(sections):
            where = f"{path}[{index}]"
            if not isinstance(item, dict):
                raise InvalidInput("a section must be an object", field=where)
            op = {"op": "add", "parent_id": parent_id, "after_id": after,
                  **{k: item.get(k) for k in ("kind", "label", "title")}, "text": item.get("text", "")}
            try:
                event = self._change_event(revision_id, op, ids)
            except InvalidInput as error:
                raise InvalidInput(error.message, field=f"{where}.{error.field}") from None
            self._record(event)
            after = event.section_id
            children = item.get("children") or []
            if not isinstance(children, list):
                raise InvalidInput("children must be a list", field=f"{where}.children")
            self._add_tree(revision_id, children, after, ids, f"{where}.children")

    def open_revision(self, *, author: str, summary: str, base_version: int | None, ids: IdFactory,
                      now: datetime) -> str:
        """Open a draft revision against a published version (the newest by default)."""
        self._begin(now)
        base = self.latest_version if base_version is None else base_version
        if not isinstance(base, int) or not 0 <= base <= self.latest_version:
            raise NotFound(f"no version {base_version} to base a revision on", field="base_version")
        if not isinstance(summary, str):
            raise InvalidInput("summary must be a string", field="summary")
        revision_id = ids("rev")
        self._record(ev.RevisionOpened(revision_id=revision_id, base_version=base, summary=summary, author=author))
        return revision_id

    def _editable(self, actor: Actor, revision_id: str) -> Revision:
        rev = self.revision(revision_id)
        if actor.name != rev.author:
            raise Forbidden("only the revision's author may change, submit or withdraw it", field="author")
        if rev.status != "draft":
            raise WrongState(f"revision is {rev.status}; only a draft can change", field="status")
        return rev

    def change(self, *, actor: Actor, revision_id: str, ops: list[dict[str, Any]], ids: IdFactory,
               now: datetime) -> list[str]:
        """Apply add, amend, move, remove and retitle ops to a draft; return the ids they touched."""
        self._begin(now)
        self._editable(actor, revision_id)
        if not isinstance(ops, list) or not ops:
            raise InvalidInput("changes must be a non-empty list", field="changes")
        touched = []
        for index, op in enumerate(ops):
            try:
                event = self._change_event(revision_id, op, ids)
            except InvalidInput as error:
                raise InvalidInput(error.message, field=f"changes[{index}].{error.field}") from None
            except NotFound as error:
                raise NotFound(error.message, field=f"changes[{index}].{error.field}") from None
            self._record(event)
            touched.append(getattr(event, "section_id", TITLE_KEY))
        return touched

    def _change_event(self, revision_id: str, op: Any, ids: IdFactory) -> ev.Event:
        if not isinstance(op, dict):
            raise InvalidInput("a change must be an object", field="op")
        name = op.get("op")
        fields = _CHANGE_FIELDS.get(name)
        if fields is None:
            raise InvalidInput("op must be one of add, amend, move, remove, retitle", field="op")
        required, optional = fields
        unknown = set(op) - {"op", *required, *optional}
        if unknown:
            raise InvalidInput(f"unknown field for {name}", field=sorted(unknown)[0])
        for key in required:
            if key not in op:
                raise InvalidInput(f"{key} is required for {name}", field=key)
        preview = self.revisions[revision_id].preview
        if name == "add":
            section_id = ids("s")
            event: ev.Event = ev.SectionAdded(
                revision_id=revision_id, section_id=section_id, parent_id=op.get("parent_id"),
                after_id=op.get("after_id"), kind=op.get("kind"), label=_opt_text(op, "label"),
                title=_opt_text(op, "title"), text=_text(op, "text"))
        elif name == "amend":
            old = preview.require(_text(op, "section_id"))
            event = ev.SectionAmended(
                revision_id=revision_id, section_id=old.id, text=_text(op, "text") if "text" in op else old.text,
                title=_opt_text(op, "title") if "title" in op else old.title,
                label=_opt_text(op, "label") if "label" in op else old.label)
            if (event.text, event.title, event.label) == (old.text, old.title, old.label):
                raise InvalidInput("the amendment changes nothing", field="text")
        elif name == "move":
            event = ev.SectionMoved(revision_id=revision_id, section_id=_text(op, "section_id"),
                                    parent_id=_opt_text(op, "parent_id"), after_id=_opt_text(op, "after_id"))
        elif name == "remove":
            preview.require(_text(op, "section_id"))
            event = ev.SectionRemoved(revision_id=revision_id, section_id=op["section_id"])
        else:
            event = ev.PolicyRetitled(revision_id=revision_id, title=_text(op, "title"))
        _apply_change(preview, event)  # validates against the preview before anything is recorded
        return event

    def submit(self, *, actor: Actor, revision_id: str, reviewers: list[str], now: datetime) -> None:
        """Send a draft to review by named reviewers."""
        self._begin(now)
        rev = self._editable(actor, revision_id)
        if not isinstance(reviewers, list) or any(not isinstance(r, str) or not r.strip() for r in reviewers):
            raise InvalidInput("reviewers must be a list of names", field="reviewers")
        if rev.author in reviewers:
            raise SeparationOfDuties("the author of a revision cannot review it", field="reviewers")
        if not rev.changes:
            raise WrongState("the revision has no changes to review", field="changes")
        self._record(ev.RevisionSubmitted(revision_id=revision_id, reviewers=list(dict.fromkeys(reviewers)),
                                          content_hash=rev.content_hash))
        self._settle(rev)

    def _settle(self, rev: Revision) -> None:
        if rev.status == "in_review" and rev.ready(self.rule):
            approvers = sorted(counting_approvers(self.rule, rev.signatures, rev.content_hash))
            self._record(ev.RevisionApprovalCompleted(revision_id=rev.id, content_hash=rev.content_hash,
                                                      approvers=approvers))

    def _in_review(self, actor: Actor, revision_id: str, duty: str) -> Revision:
        rev = self.revision(revision_id)
        if actor.name == rev.author:
            raise SeparationOfDuties(f"the author of a revision cannot {duty} it", field="actor")
        if rev.status not in ("in_review", "approved"):
            raise WrongState(f"revision is {rev.status}; it is not in review", field="status")
        return rev

    def review(self, *, actor: Actor, revision_id: str, verdict: str, comment: str, now: datetime) -> None:
        """Record a reviewer's verdict on the content as it stands."""
        self._begin(now)
        rev = self._in_review(actor, revision_id, "review")
        if verdict not in VERDICTS:
            raise InvalidInput("verdict must be approve or request_changes", field="verdict")
        if rev.reviewers and actor.name not in rev.reviewers:
            raise Forbidden("only the reviewers the author named may review this revision", field="actor")
        if verdict == "request_changes" and not (comment or "").strip():
            raise InvalidInput("a request for changes needs a comment", field="comment")
        self._record(ev.RevisionReviewed(revision_id=revision_id, reviewer=actor.name, verdict=verdict,
                                         comment=comment or "", content_hash=rev.content_hash))
        self._settle(rev)

    def approve(self, *, actor: Actor, revision_id: str, meaning: str, comment: str, now: datetime) -> None:
        """Sign the revision's current content with a meaning from the fixed list."""
        self._begin(now)
        rev = self._in_review(actor, revision_id, "approve")
        if meaning not in MEANINGS:
            raise InvalidInput(f"meaning must be one of: {', '.join(MEANINGS)}", field="meaning")
        if actor.role not in self.rule.roles:
            raise Forbidden(f"signatures count only from roles {', '.join(self.rule.roles)}", field="role")
        if any(s.approver == actor.name and s.content_hash == rev.content_hash for s in rev.signatures):
            raise WrongState("you have already signed this content", field="actor")
        self._record(ev.RevisionApproved(revision_id=revision_id, approver=actor.name, role=actor.role,
                                         meaning=meaning, comment=comment or "", content_hash=rev.content_hash))
        self._settle(rev)

    def publish(self, *, actor: Actor, revision_id: str, effective_from: datetime, reason: str | None,
                editorial: bool, now: datetime) -> int:
        """Publish an approved revision as the next version; returns its number."""
        self._begin(now)
        rev = self.revision(revision_id)
        if actor.name == rev.author:
            raise SeparationOfDuties("the author of a revision cannot publish it", field="actor")
        if rev.status == "in_review":
            raise ApprovalRuleNotMet(self._missing_approvals(rev), field="status")
        if rev.status != "approved":
            raise WrongState(f"revision is {rev.status}; only an approved revision can be published", field="status")
        return self._publish(rev, effective_from, reason, editorial, adopted=False)

    def adopt(self, *, actor: Actor, revision_id: str, effective_from: datetime, reason: str,
              now: datetime) -> int:
        """Publish a policy's first version as adopted before the ledger kept it; needs a reason."""
        self._begin(now)
        rev = self.revision(revision_id)
        if self.versions:
            raise WrongState("only a policy's first version can be adopted; later ones need approval",
                             field="revision_id")
        if rev.status != "draft" or not rev.changes:
            raise WrongState("adoption takes a draft with sections", field="status")
        if not (reason or "").strip():
            raise InvalidInput("adopting without review needs a reason (where it was approved)", field="reason")
        return self._publish(rev, effective_from, reason, editorial=False, adopted=True)

    def _missing_approvals(self, rev: Revision) -> str:
        have = len(counting_approvers(self.rule, rev.signatures, rev.content_hash))
        pending = [r for r in rev.reviewers if rev.latest_verdicts().get(r) != "approve"]
        parts = [f"{have} of {self.rule.approvals} approvals from {', '.join(self.rule.roles)}"]
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
            title=document.title, content_hash=document.content_hash(self.id, self.language)))
        return self.latest_version

    def conflicts(self, rev: Revision) -> list[str]:
        """Return the ids a stale revision touches that changed since its base."""
        changed: set[str] = set()
        for version in self.versions[rev.base_version:]:
            changed |= version.touched
        return sorted(rev.touched & changed)

    def _rebased(self, rev: Revision) -> Document:
        if rev.base_version == self.latest_version:
            return rev.preview
        clashes = self.conflicts(rev)
        if clashes:
            raise RevisionConflict(f"sections changed since version {rev.base_version}: {', '.join(clashes)}; "
                                   "rebase the revision", sections=clashes)
        document = self.document_at(self.latest_version)
        for change in rev.changes:
            try:
                document = _apply_change(document, change)
            except (InvalidInput, NotFound) as error:
                anchor = [error.field or "section"]
                raise RevisionConflict(f"a change no longer fits version {self.latest_version}: {error.message}",
                                       sections=anchor) from None
        return document

    def reject(self, *, actor: Actor, revision_id: str, reason: str, now: datetime) -> None:
        """Reject a revision for good, with a reason."""
        self._begin(now)
        rev = self.revision(revision_id)
        if actor.name == rev.author:
            raise SeparationOfDuties("the author of a revision cannot reject it; withdraw it instead", field="actor")
        if rev.final:
            raise WrongState(f"revision is already {rev.status}", field="status")
        _require_text(reason, "reason")
        self._record(ev.RevisionRejected(revision_id=revision_id, reason=reason))

    def withdraw(self, *, actor: Actor, revision_id: str, reason: str, now: datetime) -> None:
        """Withdraw one's own revision for good, with a reason."""
        self._begin(now)
        rev = self.revision(revision_id)
        if actor.name != rev.author:
            raise Forbidden("only the revision's author may withdraw it", field="actor")
        if rev.final:
            raise WrongState(f"revision is already {rev.status}", field="status")
        _require_text(reason, "reason")
        self._record(ev.RevisionWithdrawn(revision_id=revision_id, reason=reason))

    def assign(self, *, party: str, party_kind: str, section_id: str | None, duty: str,
               valid_from: datetime | None, ids: IdFactory, now: datetime) -> str:
        """Make a person or unit responsible for the policy or one section; returns the assignment id."""
        self._begin(now)
        _require_text(party, "party")
        _require_text(duty, "duty")
        if party_kind not in PARTY_KINDS:
            raise InvalidInput("party_kind must be person or unit", field="party_kind")
        if section_id is not None and section_id not in self.known_sections:
            raise NotFound(f"no section {section_id!r} in this policy", field="section_id")
        assignment_id = ids("asg")
        self._record(ev.ResponsibilityAssigned(
            assignment_id=assignment_id, party=party, party_kind=party_kind, section_id=section_id, duty=duty,
            valid_from=format_time(valid_from) if valid_from else self._now))
        return assignment_id

    def revoke(self, *, assignment_id: str, valid_to: datetime | None, now: datetime) -> None:
        """End a responsibility assignment."""
        self._begin(now)
        assignment = self.assignments.get(assignment_id)
        if assignment is None:
            raise NotFound(f"no assignment {assignment_id!r}", field="assignment_id")
        if assignment.valid_to is not None:
            raise WrongState("the assignment is already revoked", field="assignment_id")
        end = format_time(valid_to) if valid_to else self._now
        if end < assignment.valid_from:
            raise InvalidInput("valid_to precedes the assignment's start", field="valid_to")
        self._record(ev.ResponsibilityRevoked(assignment_id=assignment_id, valid_to=end))

    def record_periodic_review(self, *, outcome: str, notes: str, ids: IdFactory, now: datetime) -> str:
        """Record a periodic review of the version in force, even when nothing needs to change."""
        self._begin(now)
        if outcome not in PERIODIC_OUTCOMES:
            raise InvalidInput("outcome must be no_change or revision_needed", field="outcome")
        if not self.versions:
            raise WrongState("nothing is published yet to review", field="policy_id")
        review_id = ids("prv")
        due = format_time(now + timedelta(days=self.review_interval_days))
        self._record(ev.PeriodicReviewRecorded(review_id=review_id, outcome=outcome, notes=notes or "",
                                               version=self._version_in_force(), next_review_due=due))
        return review_id

    def _version_in_force(self) -> int:
        current = [v.number for v in self.versions if v.effective_from <= self._now]
        return current[-1] if current else self.latest_version

    def acknowledge(self, *, person: str, version: int, now: datetime) -> None:
        """Record that a staff member has read a version, bound to its content hash."""
        self._begin(now)
        if not isinstance(version, int) or not 1 <= version <= self.latest_version:
            raise NotFound(f"no version {version}", field="version")
        if (person, version) in self.acknowledgements:
            raise WrongState(f"{person} has already acknowledged version {version}", field="version")
        self._record(ev.AcknowledgementRecorded(person=person, version=version,
                                                content_hash=self.versions[version - 1].content_hash))


_CHANGE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "add": (("kind",), ("parent_id", "after_id", "label", "title", "text")),
    "amend": (("section_id",), ("text", "title", "label")),
    "move": (("section_id",), ("parent_id", "after_id")),
    "remove": (("section_id",), ()),
    "retitle": (("title",), ()),
}


def _text(op: dict[str, Any], key: str) -> str:
    value = op.get(key, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string", field=key)
    return value


def _opt_text(op: dict[str, Any], key: str) -> str | None:
    value = op.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput(f"{key} must be a string or null", field=key)
    return value


def _require_text(value: Any, field: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} is required", field=field)


def _apply_change(doc: Document, event: ev.Event) -> Document:
    if isinstance(event, ev.SectionAdded):
        section = Section(id=event.section_id, kind=event.kind, label=event.label, title=event.title, text=event.text)
        return doc.add(section, event.parent_id, event.after_id)
    if isinstance(event, ev.SectionAmended):
        return doc.amend(event.section_id, text=event.text, title=event.title, label=event.label)
    if isinstance(event, ev.SectionMoved):
        return doc.move(event.section_id, event.parent_id, event.after_id)
    if isinstance(event, ev.SectionRemoved):
        return doc.remove(event.section_id)
    if isinstance(event, ev.PolicyRetitled):
        return doc.retitle(event.title)
    raise TypeError(event)


def apply_change(doc: Document, event: ev.Event) -> Document:
    """Apply one section or title change event to a document (read models use the same code)."""
    return _apply_change(doc, event)


def touched_by(doc: Document, event: ev.Event) -> set[str]:
    """Return the ids a change event touches, given the document before it."""
    if isinstance(event, ev.PolicyRetitled):
        return {TITLE_KEY}
    if isinstance(event, ev.SectionRemoved):
        return {event.section_id, *doc.descendants(event.section_id)}
    return {event.section_id}


# ---- the fold, one function per event type ---------------------------------------------------------

def _created(p: Policy, e: ev.PolicyCreated, at: str) -> None:
    p.id, p.title, p.language, p.owner = e.policy_id, e.title, e.language, e.owner
    p._created_title = e.title
    p.review_interval_days = e.review_interval_days
    p.rule = ApprovalRule(approvals=e.approval_rule["approvals"], roles=tuple(e.approval_rule["roles"]))


def _opened(p: Policy, e: ev.RevisionOpened, at: str) -> None:
    p.revisions[e.revision_id] = Revision(id=e.revision_id, policy_id=p.id, language=p.language, author=e.author,
                                          base_version=e.base_version, summary=e.summary,
                                          preview=p.document_at(e.base_version))


def _changed(p: Policy, e: ev.Event, at: str) -> None:
    rev = p.revisions[e.revision_id]
    touched = touched_by(rev.preview, e)
    rev.changed(_apply_change(rev.preview, e), touched)
    rev.changes.append(e)
    if isinstance(e, ev.SectionAdded):
        p.known_sections.add(e.section_id)


def _submitted(p: Policy, e: ev.RevisionSubmitted, at: str) -> None:
    rev = p.revisions[e.revision_id]
    rev.status, rev.reviewers = "in_review", tuple(e.reviewers)


def _reviewed(p: Policy, e: ev.RevisionReviewed, at: str) -> None:
    rev = p.revisions[e.revision_id]
    rev.reviews.append(Review(reviewer=e.reviewer, verdict=e.verdict, comment=e.comment,
                              content_hash=e.content_hash))
    if e.verdict == "request_changes":
        rev.status = "draft"


def _approved(p: Policy, e: ev.RevisionApproved, at: str) -> None:
    p.revisions[e.revision_id].signatures.append(
        Signature(approver=e.approver, role=e.role, meaning=e.meaning, content_hash=e.content_hash))


def _approval_completed(p: Policy, e: ev.RevisionApprovalCompleted, at: str) -> None:
    p.revisions[e.revision_id].status = "approved"


def _published(p: Policy, e: ev.RevisionPublished, at: str) -> None:
    rev = p.revisions[e.revision_id]
    document = p._rebased(rev)
    p.versions.append(PublishedVersion(number=e.version, revision_id=rev.id, effective_from=e.effective_from,
                                       published_at=at, content_hash=e.content_hash, document=document,
                                       touched=frozenset(rev.touched), editorial=e.editorial))
    p.title = document.title
    rev.status = "published"


def _rejected(p: Policy, e: ev.RevisionRejected, at: str) -> None:
    p.revisions[e.revision_id].status = "rejected"


def _withdrawn(p: Policy, e: ev.RevisionWithdrawn, at: str) -> None:
    p.revisions[e.revision_id].status = "withdrawn"


def _assigned(p: Policy, e: ev.ResponsibilityAssigned, at: str) -> None:
    p.assignments[e.assignment_id] = Assignment(id=e.assignment_id, party=e.party, party_kind=e.party_kind,
                                                section_id=e.section_id, duty=e.duty, valid_from=e.valid_from)


def _revoked(p: Policy, e: ev.ResponsibilityRevoked, at: str) -> None:
    old = p.assignments[e.assignment_id]
    p.assignments[e.assignment_id] = Assignment(**{**old.__dict__, "valid_to": e.valid_to})


def _periodic_review(p: Policy, e: ev.PeriodicReviewRecorded, at: str) -> None:
    pass  # nothing a later command checks depends on it


def _acknowledged(p: Policy, e: ev.AcknowledgementRecorded, at: str) -> None:
    p.acknowledgements[(e.person, e.version)] = e.content_hash


_APPLY: dict[type, Callable[[Policy, Any, str], None]] = {
    ev.PolicyCreated: _created,
    ev.RevisionOpened: _opened,
    ev.SectionAdded: _changed,
    ev.SectionAmended: _changed,
    ev.SectionMoved: _changed,
    ev.SectionRemoved: _changed,
    ev.PolicyRetitled: _changed,
    ev.RevisionSubmitted: _submitted,
    ev.RevisionReviewed: _reviewed,
    ev.RevisionApproved: _approved,
    ev.RevisionApprovalCompleted: _approval_completed,
    ev.RevisionPublished: _published,
    ev.RevisionRejected: _rejected,
    ev.RevisionWithdrawn: _withdrawn,
    ev.ResponsibilityAssigned: _assigned,
    ev.ResponsibilityRevoked: _revoked,
    ev.PeriodicReviewRecorded: _periodic_review,
    ev.AcknowledgementRecorded: _acknowledged,
}
