"""Revisions for management: drafting changes, review, signatures, publication, and the revision history."""
from __future__ import annotations

from typing import Any

from flask import Response, url_for
from flask.views import MethodView

from events.application import Outcome
from events.domain.errors import NotFound
from projections import revisions

from .. import schemas as s
from ..bootstrap import services
from ..http.conventions import cached, context, idempotent, make_etag, page
from ..http.security import require
from .policies import answer, policy_row, reading

blp = s.Blueprint("revisions", __name__, url_prefix="/api/v1/policies", description=(
    "Revisions move draft → in_review → approved → published (or rejected, withdrawn). Staff only: every "
    "request needs a token. Write bodies must be sent as `application/json` (otherwise 415); every write "
    "takes `If-Match` (412 when stale, nothing written) and `Idempotency-Key`."))
blp.before_request(s.guard_request)
STAFF = "private, no-cache"
WRITE_HEADERS = [s.IF_MATCH, s.IDEMPOTENCY_KEY]
WRITE_PROBLEMS = (400, 401, 403, 404, 409, 412, 413, 415, 422)


def revision_response(pid: str, rid: str, status: int | None = None, **extra: Any) -> Response:
    """Answer a revision as it stands, with the ETag a read of it carries; `status` is given after a write."""
    with reading() as connection:
        row = policy_row(connection, pid)
        found = revisions.detail(connection, pid, rid)
    if found is None:
        raise NotFound(f"no revision {rid!r} in policy {pid!r}", field="rid")
    etag = make_etag(row["stream_version"], "revision", rid)
    schema = s.RevisionChanged() if extra else s.Revision()
    if status is None:
        return cached(schema.dump(found), etag, STAFF)
    return answer(schema, {**found, **extra}, status, {"ETag": etag})


def act(command: str, pid: str, rid: str, roles: tuple[str, ...], body: dict[str, Any]) -> Outcome:
    """Run one command on a revision; the reason goes to the event's metadata, never its payload."""
    ctx = context(*roles, reason=body.pop("reason", None))
    return services().ledger.handle(command, pid, ctx, {"revision_id": rid, **body})


@blp.route("/<pid>/revisions")
class Revisions(MethodView):
    @blp.arguments(s.RevisionListQuery, **s.QUERY)
    @blp.response(200, s.RevisionPage)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str) -> Response:
        """List a policy's revisions in the order they were opened, optionally of one status."""
        require()
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = revisions.page(connection, pid, args.get("status"), args.get("cursor"), args["limit"] + 1)
        body = s.RevisionPage().dump(page(rows, args["limit"], lambda r: r["opened_position"]))
        return cached(body, make_etag(row["stream_version"], "revisions", sorted(args.items())), STAFF)

    @blp.arguments(s.RevisionOpen)
    @blp.response(201, s.Revision, headers={"Location": {"schema": {"type": "string"}}})
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str) -> Response:
        """Open a draft revision against a published version (the newest by default)."""
        ctx = context("author", reason=body.pop("reason", None))
        rid = services().ledger.handle("open_revision", pid, ctx, body).result["revision_id"]
        response = revision_response(pid, rid, 201)
        response.headers["Location"] = url_for("revisions.Revision", pid=pid, rid=rid)
        return response


@blp.route("/<pid>/revisions/<rid>")
class Revision(MethodView):
    @blp.response(200, s.Revision)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404)
    def get(self, pid: str, rid: str) -> Response:
        """Return a revision: changes, reviews and signatures (void once the content changed), conflicts, preview."""
        require()
        return revision_response(pid, rid)


@blp.route("/<pid>/revisions/<rid>/changes")
class Changes(MethodView):
    @blp.arguments(s.ChangesInput)
    @blp.response(200, s.RevisionChanged)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str, rid: str) -> Response:
        """Add, amend, move or remove sections, or retitle, in one's own draft."""
        outcome = act("change_revision", pid, rid, ("author",), body)
        return revision_response(pid, rid, 200, section_ids=outcome.result["section_ids"])


@blp.route("/<pid>/revisions/<rid>/submit")
class Submit(MethodView):
    @blp.arguments(s.SubmitInput)
    @blp.response(200, s.Revision)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str, rid: str) -> Response:
        """Send one's own draft to review by the named reviewers (none: any reviewer)."""
        act("submit_revision", pid, rid, ("author",), body)
        return revision_response(pid, rid, 200)


@blp.route("/<pid>/revisions/<rid>/reviews")
class Reviews(MethodView):
    @blp.arguments(s.ReviewInput)
    @blp.response(201, s.Revision)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str, rid: str) -> Response:
        """Give a verdict on the revision's current content (not on one's own revision)."""
        act("review_revision", pid, rid, ("reviewer",), body)
        return revision_response(pid, rid, 201)


@blp.route("/<pid>/revisions/<rid>/approvals")
class Approvals(MethodView):
    @blp.arguments(s.ApprovalInput)
    @blp.response(201, s.Revision)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str, rid: str) -> Response:
        """Sign the revision's current content with a meaning; the role signed in comes from the token."""
        # An approval rule may count admins' signatures too; the rule itself decides whose count.
        act("approve_revision", pid, rid, ("approver", "admin"), body)
        return revision_response(pid, rid, 201)


@blp.route("/<pid>/revisions/<rid>/publish")
class Publish(MethodView):
    @blp.arguments(s.PublishInput)
    @blp.response(201, s.Published, headers={"Location": {"schema": {"type": "string"}}})
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str, rid: str) -> Response:
        """Publish an approved revision as the next version, effective from a time (a past one needs a reason)."""
        result = act("publish_revision", pid, rid, ("approver",), body).result
        location = url_for("policies.Version", pid=pid, number=result["version"])
        return answer(s.Published(), result, 201, {"Location": location})


@blp.route("/<pid>/revisions/<rid>/reject")
class Reject(MethodView):
    @blp.arguments(s.FinalInput)
    @blp.response(200, s.Revision)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str, rid: str) -> Response:
        """Reject a revision for good, saying why."""
        act("reject_revision", pid, rid, ("approver",), body)
        return revision_response(pid, rid, 200)


@blp.route("/<pid>/revisions/<rid>/withdraw")
class Withdraw(MethodView):
    @blp.arguments(s.FinalInput)
    @blp.response(200, s.Revision)
    @blp.headers(*WRITE_HEADERS)
    @s.problems(blp, *WRITE_PROBLEMS)
    @idempotent
    def post(self, body: dict[str, Any], pid: str, rid: str) -> Response:
        """Withdraw one's own revision for good, saying why."""
        act("withdraw_revision", pid, rid, ("author",), body)
        return revision_response(pid, rid, 200)


@blp.route("/<pid>/history")
class History(MethodView):
    @blp.arguments(s.NumberedListQuery, **s.QUERY)
    @blp.response(200, s.RevisionHistory)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str) -> Response:
        """List every revision in the order opened, each with every change of state: who, in which role, when, why."""
        require()
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = revisions.history(connection, pid, args.get("cursor"), args["limit"] + 1)
        body = s.RevisionHistory().dump(page(rows, args["limit"], lambda r: r["opened_position"]))
        return cached(body, make_etag(row["stream_version"], "history", sorted(args.items())), STAFF)
