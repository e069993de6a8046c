"""Who is asking: bearer tokens, roles per endpoint, anonymous reads where the deployment allows them.

One rule for tokens everywhere: a request that sends an Authorization header must send a good one (401
otherwise), even to an endpoint anyone may read. Every view states who may call it with one of the
decorators below, and they run before anything of the request's body or query is read.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, g, request
from werkzeug.exceptions import Forbidden, Unauthorized

from events.domain.policy import Actor
from service.accounts import Principal, principal_for
from service.bootstrap import services

from .problems import refusal

View = TypeVar("View", bound=Callable[..., Any])


def current_principal() -> Principal | None:
    """Return the request's principal; a malformed or unknown token is a 401, no token is None."""
    if "principal" in g:
        return g.principal
    header = request.headers.get("Authorization")
    principal = None
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("the Authorization header must be 'Bearer <token>'")
        with services().engine.connect() as connection:
            principal = principal_for(connection, token.strip())
        if principal is None:
            raise _unauthorized("unknown or revoked token")
    g.principal = principal
    return principal


def _unauthorized(message: str) -> Unauthorized:
    return refusal(Unauthorized, message, headers={"WWW-Authenticate": 'Bearer realm="policy-ledger"'})


def require(*roles: str) -> Principal:
    """Return the principal if they hold one of the roles (any role when none is named); 401 or 403 otherwise."""
    principal = current_principal()
    if principal is None:
        raise _unauthorized("this endpoint needs a bearer token")
    if roles and not principal.has(*roles):
        raise refusal(Forbidden, f"this needs one of the roles: {', '.join(roles)}")
    return principal


def require_reader() -> Principal | None:
    """Allow a read of published content anonymously unless the deployment turned that off."""
    if current_app.config["ANONYMOUS_READS"] and "Authorization" not in request.headers:
        return None
    return require()


def actor(*roles: str) -> Actor:
    """Return the acting person and the role this action is taken in (from the token, never the body)."""
    principal = require(*roles)
    return Actor(name=principal.name, role=principal.acting_role(*roles))


# Paths answered to programs, where a sent token is checked even when none is needed; the pages answer to
# browsers, which send no bearer token, so a proxy's own Authorization header does not turn them away.
TOKEN_CHECKED = ("/api/", "/health", "/metrics")


def check_sent_token() -> None:
    """Refuse, before any view runs, a bad token sent to any API, health or metrics path (one rule everywhere)."""
    if "Authorization" in request.headers and request.path.startswith(TOKEN_CHECKED):
        current_principal()


def _guarded(check: Callable[[], Any]) -> Callable[[View], View]:
    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            check()
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def roles(*allowed: str) -> Callable[[View], View]:
    """Let only holders of one of these roles (any signed-in user when none is named) call the view."""
    return _guarded(lambda: require(*allowed))


def published(view: View) -> View:
    """Let anyone read published content, unless the deployment turned anonymous reads off."""
    return _guarded(require_reader)(view)


def anyone(view: View) -> View:
    """Let anyone call the view; a token, if one is sent, must still be good."""
    return _guarded(current_principal)(view)
