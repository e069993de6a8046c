"""What a signature needs before the ledger sees it: the signer's password again, their full name, and, when a
delegate signs, a delegation in force.

Shared by the API and the pages; the ledger then records the signature with `full_name` and `on_behalf_of`.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from events.domain.canonical import format_time
from events.domain.errors import Forbidden
from service import accounts, delegations
from service.accounts import Principal
from service.bootstrap import services


class ReauthenticationFailed(Forbidden):
    """The password given with a signature is not the signer's: nothing was signed."""

    code = "reauthentication_failed"


@dataclass(frozen=True, kw_only=True)
class Signer:
    """Who signs: their full name, and for whom (and in which role of theirs) when they sign as a delegate."""

    full_name: str
    on_behalf_of: str | None = None
    on_behalf_of_role: str | None = None


def signer(principal: Principal, password: str | None, policy_id: str, revision_id: str,
           on_behalf_of: str | None) -> Signer:
    """Check a signer before their signature is decided: the password (when the deployment asks for it, which is
    the default), and the delegation they sign under; count a wrong password and refuse."""
    engine = services().engine
    now = services().ledger.clock()
    with engine.connect() as connection:
        user = accounts.find(connection, principal.name)
    if user is None:  # the token's user was removed meanwhile
        raise Forbidden("no such user", field="actor")
    if current_app.config["SIGNING_REQUIRES_PASSWORD"]:
        if not user.has_password:
            raise Forbidden("signing asks for your password again, and you have none: ask an admin to set one "
                            "(policy-ledger users password NAME)", field="password")
        if not password:
            raise ReauthenticationFailed("signing asks for your password again", field="password")
        if accounts.check_password(engine, principal.name, password, now) is None:
            accounts.record_signing_failure(engine, principal.name, policy_id, revision_id, now)
            raise ReauthenticationFailed("the password is not yours: nothing was signed", field="password")
    if on_behalf_of is None:
        return Signer(full_name=user.full_name)
    with engine.connect() as connection:
        allowed = delegations.active(connection, delegator=on_behalf_of, delegate=principal.name,
                                     at=format_time(now))
        absent = accounts.find(connection, on_behalf_of)
    if not allowed or absent is None:
        raise Forbidden(f"no delegation from {on_behalf_of!r} to you is in force now", field="on_behalf_of")
    role = next((r for r in ("approver", "admin") if r in absent.roles), None)
    if role is None:
        raise Forbidden(f"{on_behalf_of!r} holds no role that signs", field="on_behalf_of")
    return Signer(full_name=user.full_name, on_behalf_of=on_behalf_of, on_behalf_of_role=role)
