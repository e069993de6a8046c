"""Use cases: load a policy, run one command under its rules, append what it recorded."""
from __future__ import annotations

import dataclasses
import random
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .domain import commands as cmd
from .domain.canonical import canonical_json, format_time, sha256_hex, utcnow
from .domain.errors import ConcurrencyError, DomainError
from .domain.policy import Actor, Policy
from .domain.streams import stream_for
from .domain.types import Meta
from .store import AppendResult, EventStore

RETRIES = 5
RETRY_FOR = 10.0  # seconds a write without If-Match keeps deciding again after losing a race, at most


def new_id(prefix: str) -> str:
    """Return a fresh, URL-safe id with a readable prefix."""
    return f"{prefix}-{secrets.token_hex(6)}"


@dataclass(frozen=True, kw_only=True)
class Context:
    """Who acts, why, and under which request; `expected_version` comes from If-Match."""

    actor: Actor
    reason: str | None = None
    correlation_id: str | None = None
    idempotency_key: str | None = None
    expected_version: int | None = None


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """A command's answer: what it returns and where its events landed."""

    result: dict[str, Any]
    append: AppendResult | None = None

    @property
    def replayed(self) -> bool:
        """Tell whether this answers a repeated idempotency key."""
        return bool(self.append and self.append.replayed)


IdFactory = Callable[[str], str]
Handler = Callable[[Policy, Any, Context, datetime, IdFactory], dict[str, Any]]


def _create(p: Policy, c: cmd.CreatePolicy, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    return {"draft_revision_id": p.create(c, owner=ctx.actor.name, ids=ids, now=now)}


def _open(p: Policy, c: cmd.OpenRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    return {"revision_id": p.open_revision(c, author=ctx.actor.name, ids=ids, now=now)}


def _change(p: Policy, c: cmd.ChangeRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    return {"section_ids": p.change(c, actor=ctx.actor, ids=ids, now=now)}


def _submit(p: Policy, c: cmd.SubmitRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    p.submit(c, actor=ctx.actor, now=now)
    return {}


def _review(p: Policy, c: cmd.ReviewRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    p.review(c, actor=ctx.actor, now=now)
    return {}


def _approve(p: Policy, c: cmd.ApproveRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    p.approve(c, actor=ctx.actor, now=now)
    return {}


def _publish(p: Policy, c: cmd.PublishRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    version = p.publish(c, actor=ctx.actor, reason=ctx.reason, now=now)
    if p.retirement is not None and p.retirement.revision_id == c.revision_id:
        return {"version": version, "effective_from": p.retirement.effective_from, "retired": True}
    return {"version": version, "effective_from": p.versions[-1].effective_from}


def _adopt(p: Policy, c: cmd.AdoptRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    version = p.adopt(c, reason=ctx.reason, now=now)
    return {"version": version, "effective_from": p.versions[-1].effective_from}


def _reject(p: Policy, c: cmd.RejectRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    p.reject(c, actor=ctx.actor, reason=ctx.reason, now=now)
    return {}


def _withdraw(p: Policy, c: cmd.WithdrawRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    p.withdraw(c, actor=ctx.actor, reason=ctx.reason, now=now)
    return {}


def _recall(p: Policy, c: cmd.RecallRevision, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    p.recall(c, actor=ctx.actor, now=now)
    return {}


def _change_reviewers(p: Policy, c: cmd.ChangeReviewers, ctx: Context, now: datetime,
                      ids: IdFactory) -> dict[str, Any]:
    p.change_reviewers(c, actor=ctx.actor, now=now)
    return {}


def _assign(p: Policy, c: cmd.AssignResponsibility, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    return {"assignment_id": p.assign(c, ids=ids, now=now)}


def _revoke(p: Policy, c: cmd.RevokeResponsibility, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    p.revoke(c, now=now)
    return {"assignment_id": c.assignment_id}


def _periodic(p: Policy, c: cmd.RecordPeriodicReview, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    return {"review_id": p.record_periodic_review(c, ids=ids, now=now)}


def _acknowledge(p: Policy, c: cmd.AcknowledgeVersion, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    p.acknowledge(c, person=ctx.actor.name, now=now)
    return {"version": c.version}


def _campaign(p: Policy, c: cmd.StartCampaign, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    return {"campaign_id": p.start_campaign(c, ids=ids, now=now)}


def _retirement(p: Policy, c: cmd.OpenRetirement, ctx: Context, now: datetime, ids: IdFactory) -> dict[str, Any]:
    return {"revision_id": p.open_retirement(c, author=ctx.actor.name, ids=ids, now=now)}


HANDLERS: dict[type[cmd.Command], Handler] = {
    cmd.CreatePolicy: _create,
    cmd.OpenRevision: _open,
    cmd.ChangeRevision: _change,
    cmd.SubmitRevision: _submit,
    cmd.ReviewRevision: _review,
    cmd.ApproveRevision: _approve,
    cmd.PublishRevision: _publish,
    cmd.AdoptRevision: _adopt,
    cmd.RejectRevision: _reject,
    cmd.WithdrawRevision: _withdraw,
    cmd.AssignResponsibility: _assign,
    cmd.RevokeResponsibility: _revoke,
    cmd.RecordPeriodicReview: _periodic,
    cmd.AcknowledgeVersion: _acknowledge,
    cmd.RecallRevision: _recall,
    cmd.ChangeReviewers: _change_reviewers,
    cmd.StartCampaign: _campaign,
    cmd.OpenRetirement: _retirement,
}


def _plain(value: Any) -> Any:
    """Return a command's value as JSON values, for its idempotency fingerprint."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"type": type(value).__name__, **fields}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, cmd.Keep):
        return {"keep": True}
    return value


def fingerprint(command: cmd.Command, actor: str) -> str:
    """Return what tells one request apart from another under the same idempotency key."""
    return sha256_hex(canonical_json([_plain(command), actor]))


@dataclass
class Ledger:
    """The write side's one entry point: commands in, events appended, answers out."""

    store: EventStore
    clock: Callable[[], datetime] = utcnow
    ids: Callable[[str], str] = new_id
    retries: int = RETRIES
    retry_for: float = RETRY_FOR
    cache_size: int = 256
    _cache: OrderedDict[str, Policy] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def load(self, policy_id: str) -> Policy:
        """Fold a policy from its stream (an empty Policy if it does not exist yet)."""
        return self._catch_up(Policy(), policy_id)

    def _catch_up(self, policy: Policy, policy_id: str) -> Policy:
        for e in self.store.read_stream(stream_for(policy_id), after_version=policy.version):
            policy.apply(e.event, e.version, e.meta["occurred_at"])
        return policy

    def _checkout(self, policy_id: str, catch_up: bool) -> tuple[Policy, bool]:
        """Take a policy's fold out of the cache (no two threads share one); also tell whether it was read
        up to date from the log just now, rather than trusted as this process last left it."""
        with self._lock:
            cached = self._cache.pop(policy_id, None)
        if cached is None or catch_up:
            return self._catch_up(cached or Policy(), policy_id), True
        return cached, False

    def _checkin(self, policy_id: str, policy: Policy) -> None:
        policy.pending = []
        with self._lock:
            self._cache[policy_id] = policy
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def handle(self, command: cmd.Command, context: Context) -> Outcome:
        """Run one command against one policy and append its events atomically.

        The command is decided on this process's cached fold without reading the log first: the append
        states the version that fold is at, so if another process appended meanwhile the store refuses,
        and the command is decided again on fresh state (never merged blindly). A refusal decided on an
        unread cache is likewise decided again on fresh state before it is believed.
        """
        handler = HANDLERS[type(command)]
        policy_id = command.policy_id
        request = None
        if context.idempotency_key is not None:
            request = fingerprint(command, context.actor.name)
            earlier = self.store.find_idempotent(context.idempotency_key, request)
            if earlier is not None:
                return Outcome(result=earlier.result, append=earlier)
        # With If-Match the client asked for optimistic concurrency: one attempt. Without it, a lost race is
        # the service's own business: decide again on fresh state until the write lands or a rule refuses it,
        # for at least `retries` attempts and then for as long as `retry_for` allows.
        single = context.expected_version is not None
        deadline = time.monotonic() + self.retry_for
        attempt = 0
        while True:
            policy, current = self._checkout(policy_id, catch_up=attempt > 0)
            now = self.clock()
            try:
                result = self._decide(handler, policy, command, context, now)
            except DomainError:
                if current:
                    raise
                # The refusal may come from a fold behind the log; the failed command may also have left
                # part of its events applied to it, so fold afresh.
                policy, current = self._checkout(policy_id, catch_up=True)
                result = self._decide(handler, policy, command, context, now)
            expected = policy.version - len(policy.pending)
            meta = Meta(actor=context.actor.name, role=context.actor.role, occurred_at=format_time(now),
                        reason=context.reason, correlation_id=context.correlation_id,
                        idempotency_key=context.idempotency_key)
            try:
                appended = self.store.append(stream_for(policy_id), expected, policy.pending, meta,
                                             idempotency_key=context.idempotency_key, fingerprint=request,
                                             result=result)
            except ConcurrencyError:
                attempt += 1
                if single or (attempt >= self.retries and time.monotonic() >= deadline):
                    raise
                if attempt >= self.retries:  # many writers on one stream: let the winners finish first
                    time.sleep(random.uniform(0, min(0.05, 0.002 * attempt)))
                continue  # another writer got in first: decide again on fresh state, never merge blindly
            if not appended.replayed:
                self._checkin(policy_id, policy)  # its state now equals the stream's: keep it
            return Outcome(result=appended.result, append=appended)

    def _decide(self, handler: Handler, policy: Policy, command: cmd.Command, context: Context,
                now: datetime) -> dict[str, Any]:
        if context.expected_version is not None and policy.version != context.expected_version:
            raise ConcurrencyError(f"policy {command.policy_id} is at version {policy.version}, "
                                   f"not {context.expected_version}",
                                   expected=context.expected_version, actual=policy.version)
        return handler(policy, command, context, now, self.ids)
