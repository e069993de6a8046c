"""A revision inside the policy aggregate: its change set, preview, reviews and signatures."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .document import Document, SectionChange
from .rules import Route, Signature, Status, signed_hash, waiting_step


@dataclass(frozen=True, kw_only=True)
class Review:
    """One reviewer's verdict on the content it saw."""

    reviewer: str
    verdict: str
    comment: str
    content_hash: str


@dataclass(kw_only=True)
class Revision:
    """A change set against a base version, moving draft → in review → approved → published."""

    id: str
    policy_id: str
    language: str
    author: str
    base_version: int
    summary: str
    status: Status = Status.DRAFT
    preview: Document
    changes: list[SectionChange] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    reviewers: tuple[str, ...] = ()
    reviews: list[Review] = field(default_factory=list)
    signatures: list[Signature] = field(default_factory=list)
    proposed_route: dict[str, Any] | None = None  # the route it brings into force when published
    retire: bool = False  # proposes to retire the policy rather than to change its text
    _hash: str = ""

    @property
    def content_hash(self) -> str:
        """Hash of what reviews and signatures pin: the preview document, and the route it proposes if any;
        computed once per change, since amends come in bulk."""
        if not self._hash:
            self._hash = signed_hash(self.preview.content_hash(self.policy_id, self.language), self.proposed_route)
        return self._hash

    def propose_route(self, route: dict[str, Any]) -> None:
        """Note the route this revision proposes (a change like any other: it voids earlier reviews)."""
        self.proposed_route = route
        self.touched.add(ROUTE_KEY)
        self._hash = ""

    def change(self, event: SectionChange) -> None:
        """Apply one change to the preview, note what it touched, and forget the old content hash."""
        touched = self.preview.touched_by(event)
        self.preview.apply(event)
        self.touched |= touched
        self.changes.append(event)
        self._hash = ""

    @property
    def final(self) -> bool:
        """Tell whether no command can change this revision any more."""
        return self.status.final

    def latest_verdicts(self) -> dict[str, str]:
        """Return each reviewer's last verdict on the current content."""
        verdicts: dict[str, str] = {}
        for review in self.reviews:
            if review.content_hash == self.content_hash:
                verdicts[review.reviewer] = review.verdict
        return verdicts

    def reviews_complete(self) -> bool:
        """Tell whether every requested reviewer approves the current content."""
        verdicts = self.latest_verdicts()
        return all(verdicts.get(r) == "approve" for r in self.reviewers)

    def ready(self, route: Route) -> bool:
        """Tell whether reviews are complete and every step of the route is signed for the current content."""
        return self.reviews_complete() and waiting_step(route, self.signatures, self.content_hash) is None


ROUTE_KEY = "approval_rule"  # what a route change touches, for conflict detection
