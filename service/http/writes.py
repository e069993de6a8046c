"""Writes: who may make one, a JSON body, a safe retry, and the command run with who asked and why."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import g

from events.application import Context, Outcome
from events.domain.commands import Command
from service.bootstrap import services

from .caching import expected_version
from .guards import json_body
from .idempotency import idempotent
from .security import actor, roles

View = TypeVar("View", bound=Callable[..., Any])


def write(*allowed: str, body: bool = True) -> Callable[[View], View]:
    """Guard a write, in this order: who may make it (401, 403), a JSON body (415, 400), a retried key (the
    first answer), and only then the body's own parsing."""

    def decorate(view: View) -> View:
        guarded = idempotent(view)
        if body:
            guarded = json_body(guarded)
        return roles(*allowed)(guarded)

    return decorate


def context(*allowed: str, reason: str | None = None) -> Context:
    """Build a command's context: actor and role from the token, the If-Match version, idempotency key, request id."""
    return Context(actor=actor(*allowed), reason=reason, correlation_id=g.get("request_id"),
                   idempotency_key=g.get("idempotency_key"), expected_version=expected_version())


def run(command: Command, *allowed: str, reason: str | None = None) -> Outcome:
    """Run one command as the signed-in user, acting in the first of the allowed roles they hold."""
    return services().ledger.handle(command, context(*allowed, reason=reason))
