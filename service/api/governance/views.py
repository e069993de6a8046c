"""Governance of a policy: who is responsible for what, periodic reviews, and staff acknowledgements."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView

from events.domain import commands as cmd
from events.domain.rules import ROLES
from projections import audit, documents
from service.api import common
from service.api.common import (
    IF_NONE_MATCH,
    QUERY,
    READ_PROBLEMS,
    WRITE_HEADERS,
    WRITE_PROBLEMS,
    Parsed,
    now,
    policy_row,
    reading,
)
from service.http.caching import STAFF, conditional, make_etag
from service.http.paging import page
from service.http.security import require, roles
from service.http.writes import run, write

from . import schemas as s

blp = common.Blueprint("governance", __name__, url_prefix="/api/v1/policies", description=(
    "Responsibilities, periodic reviews and acknowledgements. Staff only. Write bodies must be sent as "
    "`application/json` (otherwise 415); writes take `If-Match` and `Idempotency-Key`."))


@blp.route("/<pid>/responsibilities")
class Responsibilities(MethodView):
    @roles()
    @blp.arguments(s.ResponsibilityQuery(), **QUERY)
    @blp.response(200, s.AssignmentPage)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str) -> dict[str, Any]:
        """List the assignments valid now (or at `at`), for the whole policy or one section."""
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = audit.assignments_at(connection, pid, args.get("at") or now(), args.get("section_id"),
                                        args.get("cursor"), args["limit"] + 1)
        conditional(make_etag(row["stream_version"], "responsibilities", sorted(args.items()), rows), STAFF)
        return page(rows, args["limit"], lambda r: [r["valid_from"], r["assignment_id"]])

    @write("admin")
    @blp.arguments(s.ResponsibilityInput())
    @blp.response(201, s.Assignment)
    @blp.alt_response(200, schema=s.Assignment, description="revoked", success=True)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[Any], pid: str) -> tuple[dict[str, Any], int]:
        """Assign a person or unit to the policy or a section, or revoke an assignment."""
        command = body.command(policy_id=pid)
        result = run(command, "admin", reason=body.reason).result
        with reading() as connection:
            found = audit.assignment(connection, pid, result["assignment_id"])
        assert found is not None
        return found, 201 if isinstance(command, cmd.AssignResponsibility) else 200


@blp.route("/<pid>/periodic-reviews")
class PeriodicReviews(MethodView):
    @write("approver")
    @blp.arguments(s.PeriodicReviewInput())
    @blp.response(201, s.PeriodicReview)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.RecordPeriodicReview], pid: str) -> dict[str, Any]:
        """Record a periodic review of the version in force, even when it concludes that nothing changes."""
        result = run(body.command(policy_id=pid), "approver", reason=body.reason).result
        with reading() as connection:
            found = audit.periodic_review(connection, pid, result["review_id"])
        assert found is not None
        return found


@blp.route("/<pid>/acknowledgements")
class Acknowledgements(MethodView):
    @roles()
    @blp.arguments(s.AcknowledgementQuery(), **QUERY)
    @blp.response(200, s.AcknowledgementStatus)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str) -> dict[str, Any]:
        """Tell what a person (the caller by default) acknowledged and whether a newer substantive version awaits."""
        person = args.get("person") or require().name
        with reading() as connection:
            row = policy_row(connection, pid)
            acknowledged = audit.acknowledged(connection, pid, person)
            latest = acknowledged[-1]["version"] if acknowledged else None
            due = documents.acknowledgement_due(connection, pid, latest)
        conditional(make_etag(row["stream_version"], "acknowledgements", person), STAFF)
        return {"person": person, "acknowledged": [{**a, "person": person} for a in acknowledged],
                "latest_acknowledged": latest, "must_acknowledge": due is not None, "due": due}

    @write(*ROLES)
    @blp.arguments(s.AcknowledgementInput())
    @blp.response(201, s.Acknowledgement)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.AcknowledgeVersion], pid: str) -> dict[str, Any]:
        """Acknowledge having read a version; the acknowledgement is bound to that version's content hash."""
        command = body.command(policy_id=pid)
        run(command, *ROLES, reason=body.reason)
        person = require().name
        with reading() as connection:
            found = next(a for a in audit.acknowledged(connection, pid, person) if a["version"] == command.version)
        return {**found, "person": person}
