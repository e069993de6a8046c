"""Delegations (who may sign for whom, from when until when) and the failed re-authentications at signing."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from events.domain.canonical import format_time
from events.domain.errors import Forbidden
from events.domain.rules import SIGNING_ROLES
from service import accounts, delegations
from service.api import common
from service.api.common import QUERY, READ_PROBLEMS, WRITE_PROBLEMS, reading
from service.bootstrap import services
from service.http.security import require, roles
from service.http.writes import write

from . import schemas as s

blp = common.Blueprint("delegations", __name__, url_prefix="/api/v1", description=(
    "A person names a delegate for a period (an approver on leave); the delegate's signatures record on whose "
    "behalf they were given, and separation of duties holds for both. Admins may delegate for anyone."))


@blp.route("/delegations")
class Delegations(MethodView):
    @roles()
    @blp.arguments(s.DelegationQuery(), **QUERY)
    @blp.response(200, s.DelegationList)
    @blp.problems(*READ_PROBLEMS)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List delegations, newest first: one's own (given or received); admins and auditors see everyone's."""
        principal = require()
        person = args.get("user")
        if not principal.has("admin", "auditor"):
            if person not in (None, principal.name):
                raise Forbidden("only admins and auditors see other people's delegations", field="user")
            person = principal.name
        with reading() as connection:
            return {"items": delegations.listed(connection, person)}

    @write(*SIGNING_ROLES)  # only those who sign have a signature to hand on
    @blp.arguments(s.DelegationInput())
    @blp.response(201, s.Delegation)
    @blp.problems(*WRITE_PROBLEMS)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Name a delegate for a period: the signed-in person delegates (an admin may for anyone)."""
        principal = require()
        delegator = body.get("delegator") or principal.name
        if delegator != principal.name and not principal.has("admin"):
            raise Forbidden("only an admin may delegate for someone else", field="delegator")
        now = services().ledger.clock()
        return delegations.add(services().engine, delegator=delegator, delegate=body["delegate"],
                               valid_from=body.get("from_") or format_time(now), valid_until=body["until"],
                               reason=body["reason"], created_by=principal.name, now=now)


@blp.route("/delegations/<did>")
class Delegation(MethodView):
    @roles(*SIGNING_ROLES)
    @blp.response(200, s.Delegation)
    @blp.problems(401, 403, 404, 409)
    def delete(self, did: str) -> dict[str, Any]:
        """End a delegation now (the person who delegated, or an admin)."""
        principal = require()
        return delegations.revoke(services().engine, did, by=principal.name, admin=principal.has("admin"),
                                  now=services().ledger.clock())


@blp.route("/signing-failures")
class SigningFailures(MethodView):
    @roles("admin", "auditor")
    @blp.arguments(s.SigningFailureQuery(), **QUERY)
    @blp.response(200, s.SigningFailureList)
    @blp.problems(*READ_PROBLEMS)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List failed re-authentications at signing, newest first (a wrong password given with a signature)."""
        with reading() as connection:
            return {"items": accounts.listed_signing_failures(connection, args.get("user"), args["limit"])}
