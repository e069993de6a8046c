"""Governance of a policy: who is responsible for what, periodic reviews, and staff acknowledgements."""
from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from events.domain.rules import ROLES
from projections import catalog, versions

from .. import schemas as s
from ..bootstrap import services
from ..http.conventions import cached, context, idempotent, make_etag, page
from ..http.security import require
from .policies import answer, now, policy_row, reading

blp = s.Blueprint("governance", __name__, url_prefix="/api/v1/policies", description=(
    "Responsibilities, periodic reviews and acknowledgements. Staff only. Write bodies must be sent as "
    "`application/json` (otherwise 415); writes take `If-Match` and `Idempotency-Key`."))
blp.before_request(s.guard_request)
STAFF = "private, no-cache"
WRITE_HEADERS = [s.IF_MATCH, s.IDEMPOTENCY_KEY]
WRITE_PROBLEMS = (400, 401, 403, 404, 409, 412, 413, 415, 422)


@blp.route("/<pid>/responsibilities")
class Responsibilities(MethodView):
    @blp.arguments(s.ResponsibilityQuery, **s.QUERY)
    @blp.response(200, s.AssignmentPage)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str) -> Response:
        """List the assignments valid now (or at `at`), for the whole policy or one section."""
        require()
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = catalog.responsibilities(connection, pid, args.get("at") or now(), args.get("section_id"),
                                            args.get("cursor"), args["limit"] + 1)
        body = s.AssignmentPage().dump(page(rows, args["limit"], lambda r: [r["valid_from"], r["assignment_id"]]))
        return cached(body, make_etag(row["stream_version"], "responsibilities", sorted(args.items()), rows), STAFF)

    @blp.arguments(s.ResponsibilityInput)
    @blp.response(201, s.Assignment)
    @blp.alt_response(200, schema=s.Assignment, description="revoked", success=True)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str) -> Response:
        """Assign a person or unit to the policy or a section, or revoke an assignment."""
        ctx = context("admin", reason=body.pop("reason", None))
        action = body.pop("action")
        result = services().ledger.handle(f"{action}_responsibility", pid, ctx, body).result
        with reading() as connection:
            found = catalog.assignment(connection, pid, result["assignment_id"])
        return answer(s.Assignment(), found, 201 if action == "assign" else 200)


@blp.route("/<pid>/periodic-reviews")
class PeriodicReviews(MethodView):
    @blp.arguments(s.PeriodicReviewInput)
    @blp.response(201, s.PeriodicReview)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str) -> Response:
        """Record a periodic review of the version in force, even when it concludes that nothing changes."""
        ctx = context("approver", reason=body.pop("reason", None))
        result = services().ledger.handle("record_periodic_review", pid, ctx, body).result
        with reading() as connection:
            found = catalog.periodic_review(connection, pid, result["review_id"])
        return answer(s.PeriodicReview(), found, 201)


@blp.route("/<pid>/acknowledgements")
class Acknowledgements(MethodView):
    @blp.arguments(s.AcknowledgementQuery, **s.QUERY)
    @blp.response(200, s.AcknowledgementStatus)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str) -> Response:
        """Tell what a person (the caller by default) acknowledged and whether a newer substantive version awaits."""
        caller = require()
        person = args.get("person") or caller.name
        with reading() as connection:
            row = policy_row(connection, pid)
            acknowledged = catalog.acknowledgements(connection, pid, person)
            latest = acknowledged[-1]["version"] if acknowledged else None
            due = versions.acknowledgement_due(connection, pid, latest)
        body = s.AcknowledgementStatus().dump({
            "person": person, "acknowledged": [{**a, "person": person} for a in acknowledged],
            "latest_acknowledged": latest, "must_acknowledge": due is not None, "due": due})
        return cached(body, make_etag(row["stream_version"], "acknowledgements", person), STAFF)

    @blp.arguments(s.AcknowledgementInput)
    @blp.response(201, s.Acknowledgement)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str) -> Response:
        """Acknowledge having read a version; the acknowledgement is bound to that version's content hash."""
        ctx = context(*ROLES, reason=body.pop("reason", None))
        services().ledger.handle("acknowledge_version", pid, ctx, body)
        with reading() as connection:
            found = next(a for a in catalog.acknowledgements(connection, pid, ctx.actor.name)
                         if a["version"] == body["version"])
        return answer(s.Acknowledgement(), {**found, "person": ctx.actor.name}, 201)
