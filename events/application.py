"""Use cases: load a policy, run one command under its rules, append what it recorded."""
from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from .domain.canonical import canonical_json, format_time, parse_time, sha256_hex, utcnow
from .domain.errors import ConcurrencyError, DomainError, InvalidInput
from .domain.policy import Actor, Policy
from .store import AppendResult, EventStore
from .domain.streams import stream_for
from .domain.types import Meta

RETRIES = 5


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


Handler = Callable[[Policy, Context, dict[str, Any], datetime, Callable[[str], str]], dict[str, Any]]


def _time(payload: dict[str, Any], key: str) -> datetime | None:
    value = payload.get(key)
    if value is None or isinstance(value, datetime):
        return value
    try:
        return parse_time(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{key} must be an RFC 3339 time with an offset", field=key) from None


def _create(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    draft = p.create(policy_id=a["id"], title=a.get("title"), language=a.get("language"), owner=c.actor.name,
                     review_interval_days=a.get("review_interval_days"), approval_rule=a.get("approval_rule"),
                     sections=a.get("sections"), summary=a.get("summary") or "Initial text", ids=ids, now=now)
    return {"draft_revision_id": draft}


def _open(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    return {"revision_id": p.open_revision(author=c.actor.name, summary=a.get("summary", ""),
                                           base_version=a.get("base_version"), ids=ids, now=now)}


def _change(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    return {"section_ids": p.change(actor=c.actor, revision_id=a["revision_id"], ops=a.get("changes"),
                                    ids=ids, now=now)}


def _submit(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    p.submit(actor=c.actor, revision_id=a["revision_id"], reviewers=a.get("reviewers", []), now=now)
    return {}


def _review(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    p.review(actor=c.actor, revision_id=a["revision_id"], verdict=a.get("verdict"), comment=a.get("comment", ""),
             now=now)
    return {}


def _approve(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    p.approve(actor=c.actor, revision_id=a["revision_id"], meaning=a.get("meaning"), comment=a.get("comment", ""),
              now=now)
    return {}


def _publish(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    effective = _time(a, "effective_from") or now
    version = p.publish(actor=c.actor, revision_id=a["revision_id"], effective_from=effective, reason=c.reason,
                        editorial=bool(a.get("editorial", False)), now=now)
    return {"version": version, "effective_from": p.versions[-1].effective_from}


def _adopt(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    effective = _time(a, "effective_from") or now
    version = p.adopt(actor=c.actor, revision_id=a["revision_id"], effective_from=effective, reason=c.reason,
                      now=now)
    return {"version": version, "effective_from": p.versions[-1].effective_from}


def _reject(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    p.reject(actor=c.actor, revision_id=a["revision_id"], reason=c.reason, now=now)
    return {}


def _withdraw(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    p.withdraw(actor=c.actor, revision_id=a["revision_id"], reason=c.reason, now=now)
    return {}


def _assign(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    return {"assignment_id": p.assign(party=a.get("party"), party_kind=a.get("party_kind", "person"),
                                      section_id=a.get("section_id"), duty=a.get("duty"),
                                      valid_from=_time(a, "valid_from"), ids=ids, now=now)}


def _revoke(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    p.revoke(assignment_id=a.get("assignment_id"), valid_to=_time(a, "valid_to"), now=now)
    return {"assignment_id": a.get("assignment_id")}


def _periodic(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    return {"review_id": p.record_periodic_review(outcome=a.get("outcome"), notes=a.get("notes", ""), ids=ids,
                                                  now=now)}


def _acknowledge(p: Policy, c: Context, a: dict[str, Any], now: datetime, ids) -> dict[str, Any]:
    p.acknowledge(person=c.actor.name, version=a.get("version"), now=now)
    return {"version": a.get("version")}


HANDLERS: dict[str, Handler] = {
    "create_policy": _create,
    "open_revision": _open,
    "change_revision": _change,
    "submit_revision": _submit,
    "review_revision": _review,
    "approve_revision": _approve,
    "publish_revision": _publish,
    "adopt_revision": _adopt,
    "reject_revision": _reject,
    "withdraw_revision": _withdraw,
    "assign_responsibility": _assign,
    "revoke_responsibility": _revoke,
    "record_periodic_review": _periodic,
    "acknowledge_version": _acknowledge,
}


@dataclass
class Ledger:
    """The write side's one entry point: commands in, events appended, answers out."""

    store: EventStore
    clock: Callable[[], datetime] = utcnow
    ids: Callable[[str], str] = new_id
    retries: int = RETRIES
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

    def handle(self, command: str, policy_id: str, context: Context, payload: dict[str, Any]) -> Outcome:
        """Run one command against one policy and append its events atomically.

        The command is decided on this process's cached fold without reading the log first: the append
        states the version that fold is at, so if another process appended meanwhile the store refuses,
        and the command is decided again on fresh state (never merged blindly). A refusal decided on an
        unread cache is likewise decided again on fresh state before it is believed.
        """
        handler = HANDLERS[command]
        fingerprint = None
        if context.idempotency_key is not None:
            fingerprint = sha256_hex(canonical_json([command, policy_id, context.actor.name, payload]))
            earlier = self.store.find_idempotent(context.idempotency_key, fingerprint)
            if earlier is not None:
                return Outcome(result=earlier.result, append=earlier)
        attempts = 1 if context.expected_version is not None else self.retries
        for attempt in range(attempts):
            policy, current = self._checkout(policy_id, catch_up=attempt > 0)
            now = self.clock()
            try:
                result = self._decide(handler, policy_id, policy, context, payload, now)
            except DomainError:
                if current:
                    raise
                # The refusal may come from a fold behind the log; the failed command may also have left
                # part of its events applied to it, so fold afresh.
                policy, current = self._checkout(policy_id, catch_up=True)
                result = self._decide(handler, policy_id, policy, context, payload, now)
            expected = policy.version - len(policy.pending)
            meta = Meta(actor=context.actor.name, role=context.actor.role, occurred_at=format_time(now),
                        reason=context.reason, correlation_id=context.correlation_id,
                        idempotency_key=context.idempotency_key)
            try:
                appended = self.store.append(stream_for(policy_id), expected, policy.pending, meta,
                                             idempotency_key=context.idempotency_key, fingerprint=fingerprint,
                                             result=result)
            except ConcurrencyError:
                if attempt + 1 == attempts:
                    raise
                continue  # another writer got in first: decide again on fresh state, never merge blindly
            if not appended.replayed:
                self._checkin(policy_id, policy)  # its state now equals the stream's: keep it
            return Outcome(result=appended.result, append=appended)
        raise AssertionError("unreachable")

    def _decide(self, handler: Handler, policy_id: str, policy: Policy, context: Context, payload: dict[str, Any],
                now: datetime) -> dict[str, Any]:
        if context.expected_version is not None and policy.version != context.expected_version:
            raise ConcurrencyError(f"policy {policy_id} is at version {policy.version}, "
                                   f"not {context.expected_version}",
                                   expected=context.expected_version, actual=policy.version)
        return handler(policy, context, payload, now, self.ids)
