"""Who is asking: bearer tokens, roles per endpoint, and anonymous reads where the deployment allows them."""
from __future__ import annotations

from flask import current_app, g, request
from werkzeug.exceptions import Forbidden, Unauthorized

from events.domain.policy import Actor

from service.accounts import Principal, principal_for
from service.bootstrap import services


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
    error = Unauthorized(message)
    error.data = {"message": message, "headers": {"WWW-Authenticate": 'Bearer realm="policy-ledger"'}}
    return error


def require(*roles: str) -> Principal:
    """Return the principal if they hold one of the roles; 401 without a token, 403 without the role."""
    principal = current_principal()
    if principal is None:
        raise _unauthorized("this endpoint needs a bearer token")
    if roles and not principal.has(*roles):
        error = Forbidden(f"this needs one of the roles: {', '.join(roles)}")
        error.data = {"message": f"this needs one of the roles: {', '.join(roles)}"}
        raise error
    return principal


def require_reader() -> Principal | None:
    """Allow a public read anonymously unless the deployment turned that off."""
    if current_app.config["ANONYMOUS_READS"] and "Authorization" not in request.headers:
        return None
    return require()


def actor(*roles: str) -> Actor:
    """Return the acting person and the role this action is taken in (from the token, never the body)."""
    principal = require(*roles)
    return Actor(name=principal.name, role=principal.acting_role(*roles))
