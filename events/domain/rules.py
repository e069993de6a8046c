"""The vocabulary of sign-off, each rule once: roles, statuses, verdicts, meanings, limits and approval rules."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from . import types as ev
from .errors import InvalidInput

ROLES = ("author", "reviewer", "approver", "auditor", "admin", "staff")  # staff: read and acknowledge, nothing else
VERDICTS = ("approve", "request_changes")
# A signature's meaning comes from this fixed list; "reviewed" is recorded but does not count as approval.
MEANINGS = (
    "reviewed",
    "approved",
    "approved as responsible executive",
    "approved as quality assurance director",
    "approved as rector",
    "approved as chair of the academic council",
    "approved as legal counsel",
)
APPROVING_MEANINGS = frozenset(MEANINGS) - {"reviewed"}
PERIODIC_OUTCOMES = ("no_change", "revision_needed")
PARTY_KINDS = ("person", "unit")
SIGNING_ROLES = ("approver", "admin")  # the roles an approval rule may count

POLICY_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])")
POLICY_ID_RULE = "2 to 100 lowercase letters, digits and hyphens, not starting or ending with a hyphen"
LANGUAGE = re.compile(r"[a-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")  # a BCP 47 tag: ky, ru, en-GB
REVIEW_INTERVAL_DAYS = (1, 3660)
APPROVALS = (1, 20)

# What one document and one command may hold, whoever sends them (the API, the command line, an import), so no
# request's work grows without bound. Characters are counted as Python counts them (code points).
MAX_SECTIONS = 50_000  # sections in one document
MAX_SECTIONS_PER_CALL = 5_000  # sections a new policy brings, or change ops in one call
MAX_SECTION_TEXT = 100_000  # characters of one section's text
MAX_DOCUMENT_TEXT = 5_000_000  # characters of a document's section texts, titles and labels together
MAX_TITLE = 2_000  # characters of a document's or a section's title
MAX_LABEL = 50  # characters of a section's label


def check_length(value: object, limit: int, field: str) -> None:
    """Refuse a text longer than its limit, naming the field."""
    if isinstance(value, str) and len(value) > limit:  # a value of the wrong type is refused where it is read
        raise InvalidInput(f"{field.rsplit('.', 1)[-1]} must be at most {limit:,} characters (it has "
                           f"{len(value):,})", field=field)


def check_section(text: object, title: object, label: object) -> None:
    """Refuse a section's text, title or label over its limit."""
    check_length(text, MAX_SECTION_TEXT, "text")
    check_length(title, MAX_TITLE, "title")
    check_length(label, MAX_LABEL, "label")


def check_document(sections: int, characters: int) -> None:
    """Refuse a document holding more sections or more text than a document may."""
    if sections > MAX_SECTIONS:
        raise InvalidInput(f"a document holds at most {MAX_SECTIONS:,} sections (this change would make it "
                           f"{sections:,})", field="sections")
    if characters > MAX_DOCUMENT_TEXT:
        raise InvalidInput(f"a document holds at most {MAX_DOCUMENT_TEXT:,} characters of text (this change "
                           f"would make it {characters:,})", field="sections")


class Status(StrEnum):
    """Where a revision is in its lifecycle."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"

    @property
    def final(self) -> bool:
        """Tell whether no command can move a revision on from here."""
        return self in (Status.PUBLISHED, Status.REJECTED, Status.WITHDRAWN)


STATUSES = tuple(status.value for status in Status)


def status_after(event: ev.Event) -> Status | None:
    """Return the status an event moves its revision to, or None when it leaves the status as it is."""
    if isinstance(event, ev.RevisionOpened):
        return Status.DRAFT
    if isinstance(event, ev.RevisionSubmitted):
        return Status.IN_REVIEW
    if isinstance(event, ev.RevisionReviewed) and event.verdict == "request_changes":
        return Status.DRAFT
    if isinstance(event, ev.RevisionApprovalCompleted):
        return Status.APPROVED
    if isinstance(event, ev.RevisionPublished):
        return Status.PUBLISHED
    if isinstance(event, ev.RevisionRejected):
        return Status.REJECTED
    if isinstance(event, ev.RevisionWithdrawn):
        return Status.WITHDRAWN
    if isinstance(event, ev.RevisionRecalled):
        return Status.DRAFT
    if isinstance(event, ev.PolicyRetired):
        return Status.PUBLISHED  # a retirement revision is published by taking effect
    return None


def check_range(value: int, bounds: tuple[int, int], field: str) -> None:
    """Refuse a whole number outside inclusive bounds, naming the field."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field.rsplit('.', 1)[-1]} must be a whole number from {low} to {high}", field=field)


@dataclass(frozen=True, kw_only=True)
class ApprovalRule:
    """How many distinct approvals, from which roles, publication needs."""

    approvals: int = 1
    roles: tuple[str, ...] = ("approver",)

    def __post_init__(self) -> None:
        check_range(self.approvals, APPROVALS, "approval_rule.approvals")
        if not self.roles or any(role not in SIGNING_ROLES for role in self.roles):
            raise InvalidInput(f"roles must be a non-empty list drawn from {', '.join(SIGNING_ROLES)}",
                               field="approval_rule.roles")
        object.__setattr__(self, "roles", tuple(dict.fromkeys(self.roles)))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ApprovalRule:
        """Rebuild a rule as events store it."""
        return cls(approvals=data["approvals"], roles=tuple(data["roles"]))

    def to_data(self) -> dict[str, Any]:
        """Return the rule as stored in events."""
        return {"approvals": self.approvals, "roles": list(self.roles)}


@dataclass(frozen=True, kw_only=True)
class Signature:
    """One approval as the rule sees it."""

    approver: str
    role: str
    meaning: str
    content_hash: str
    step: int = 0  # the route's step (0-based) the revision waited on when it was given
    on_behalf_of: str | None = None  # the person a delegate signed for


# ---- approval routes: ordered steps, each N signatures from named people or holders of roles ---------

ROUTE_STEPS = (1, 20)
STEP_STATUSES = ("done", "waiting", "pending")


@dataclass(frozen=True, kw_only=True)
class Step:
    """One step of a route: `approvals` distinct signers among `users` or holders of `roles`, with `meanings`."""

    approvals: int = 1
    users: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()  # empty: every approving meaning

    def __post_init__(self) -> None:
        check_range(self.approvals, APPROVALS, "approvals")
        if any(not isinstance(u, str) or not u.strip() for u in self.users):
            raise InvalidInput("users must be a list of user names", field="users")
        if any(role not in SIGNING_ROLES for role in self.roles):
            raise InvalidInput(f"roles must be drawn from {', '.join(SIGNING_ROLES)}", field="roles")
        if not self.users and not self.roles:
            raise InvalidInput("a step names users, roles or both", field="users")
        bad = [m for m in self.meanings if m not in APPROVING_MEANINGS]
        if bad:
            raise InvalidInput(f"meanings must be drawn from the approving meanings, not {bad[0]!r}",
                               field="meanings")
        users = tuple(dict.fromkeys(u.strip() for u in self.users))
        if not self.roles and self.approvals > len(users):
            # Otherwise the step could never be met and every revision would wait on it for good.
            raise InvalidInput(f"the step asks for {self.approvals} approvals from {len(users)} named users",
                               field="approvals")
        object.__setattr__(self, "users", users)
        object.__setattr__(self, "roles", tuple(dict.fromkeys(self.roles)))
        object.__setattr__(self, "meanings", tuple(dict.fromkeys(self.meanings)))

    @property
    def counted_meanings(self) -> frozenset[str]:
        """Return the meanings that count towards this step."""
        return frozenset(self.meanings) if self.meanings else APPROVING_MEANINGS

    def admits(self, signer: str, role: str) -> bool:
        """Tell whether a person, acting in a role, is among this step's signers."""
        return signer in self.users or role in self.roles

    def to_data(self) -> dict[str, Any]:
        """Return the step as stored in events."""
        data: dict[str, Any] = {"approvals": self.approvals}
        for name in ("users", "roles", "meanings"):
            if getattr(self, name):
                data[name] = list(getattr(self, name))
        return data


@dataclass(frozen=True, kw_only=True)
class Route:
    """A policy's approval route: steps signed in order; the simple `{approvals, roles}` rule is one step."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        check_range(len(self.steps), ROUTE_STEPS, "approval_rule.steps")

    @classmethod
    def of(cls, rule: ApprovalRule) -> Route:
        """Return the one-step route a simple rule means."""
        return cls(steps=(Step(approvals=rule.approvals, roles=rule.roles),))

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Route:
        """Rebuild a route as events store it, in either shape; refuse a bad one naming the field."""
        if "steps" not in data:
            return cls.of(ApprovalRule.from_data(data))
        steps = []
        for index, step in enumerate(data["steps"]):
            try:
                steps.append(Step(approvals=step.get("approvals", 1), users=tuple(step.get("users") or ()),
                                  roles=tuple(step.get("roles") or ()), meanings=tuple(step.get("meanings") or ())))
            except InvalidInput as error:
                raise InvalidInput(error.message, field=f"approval_rule.steps[{index}].{error.field}") from None
        return cls(steps=tuple(steps))

    @property
    def simple(self) -> bool:
        """Tell whether the route is the old one-step rule (and is stored in that shape)."""
        step = self.steps[0]
        return len(self.steps) == 1 and not step.users and not step.meanings

    def to_data(self) -> dict[str, Any]:
        """Return the route as stored in events: the simple shape when it is one."""
        if self.simple:
            return {"approvals": self.steps[0].approvals, "roles": list(self.steps[0].roles)}
        return {"steps": [step.to_data() for step in self.steps]}

    def named_users(self) -> list[str]:
        """Return every user a step names, once each."""
        return list(dict.fromkeys(u for step in self.steps for u in step.users))


@dataclass(frozen=True, kw_only=True)
class StepProgress:
    """Where one step of a route stands for the current content."""

    step: int  # 1-based
    status: str
    signers: tuple[str, ...]


def route_signer(signature: Signature) -> str:
    """Return the person a signature counts for: the delegating person when a delegate signed."""
    return signature.on_behalf_of or signature.approver


def step_signers(route: Route, index: int, signatures: Iterable[Signature], content_hash: str) -> list[str]:
    """Return the distinct people whose signature counts for one step (0-based) of the route."""
    step = route.steps[index]
    found: dict[str, None] = {}
    for s in signatures:
        if (s.content_hash == content_hash and s.step == index
                and s.meaning in step.counted_meanings and step.admits(route_signer(s), s.role)):
            found[route_signer(s)] = None
    return list(found)


def route_progress(route: Route, signatures: Iterable[Signature], content_hash: str) -> list[StepProgress]:
    """Return each step's status (done, waiting, pending) and its signers; steps are signed in order."""
    signatures = list(signatures)
    progress: list[StepProgress] = []
    waiting_found = False
    for index, step in enumerate(route.steps):
        signers = step_signers(route, index, signatures, content_hash)
        if waiting_found:
            status = "pending"
        elif len(signers) >= step.approvals:
            status = "done"
        else:
            status, waiting_found = "waiting", True
        progress.append(StepProgress(step=index + 1, status=status, signers=tuple(signers)))
    return progress


def waiting_step(route: Route, signatures: Iterable[Signature], content_hash: str) -> int | None:
    """Return the 0-based index of the step a revision waits on, or None when every step is done."""
    for item in route_progress(route, signatures, content_hash):
        if item.status == "waiting":
            return item.step - 1
    return None


def signed_hash(document_hash: str, route: dict[str, Any] | None) -> str:
    """Return what a revision's signatures pin: its document's hash, and the route it proposes when it proposes one."""
    if route is None:
        return document_hash
    return "sha256:" + hashlib.sha256(f"{document_hash}\n{canonical_route(route)}".encode()).hexdigest()


def canonical_route(route: dict[str, Any]) -> str:
    """Return a route's canonical JSON (keys sorted, no spaces, UTF-8 as is)."""
    return json.dumps(route, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
