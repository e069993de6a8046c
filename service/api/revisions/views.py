"""Revisions for management: drafting changes, review, signatures, publication, and the revision history."""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import request, url_for
from flask.views import MethodView

from events.domain import commands as cmd
from events.domain.errors import NotFound
from projections import revisions
from service import accounts, queries
from service.api import common
from service.api.common import (
    IF_NONE_MATCH,
    QUERY,
    READ_PROBLEMS,
    WRITE_HEADERS,
    WRITE_PROBLEMS,
    Parsed,
    policy_row,
    reading,
)
from service.http import signing
from service.http.caching import STAFF, conditional, make_etag
from service.http.paging import page
from service.http.security import require, roles
from service.http.writes import run, write

from . import schemas as s

blp = common.Blueprint("revisions", __name__, url_prefix="/api/v1/policies", description=(
    "Revisions move draft → in_review → approved → published (or rejected, withdrawn). Staff only: every "
    "request needs a token. Write bodies must be sent as `application/json` (otherwise 415); every write "
    "takes `If-Match` (412 when stale, nothing written) and `Idempotency-Key`."))
Headers = dict[str, str]


def revision(pid: str, rid: str) -> tuple[dict[str, Any], str]:
    """Return a revision as it stands and the ETag a read of it carries."""
    with reading() as connection:
        row = policy_row(connection, pid)
        found = queries.revision(connection, pid, rid)
    if found is None:
        raise NotFound(f"no revision {rid!r} in policy {pid!r}", field="rid")
    return found, make_etag(row["stream_version"], "revision", rid)


def changed(pid: str, rid: str, **extra: Any) -> tuple[dict[str, Any], Headers]:
    """Answer a write on a revision: the revision as it now stands, with the ETag its next read will carry."""
    found, etag = revision(pid, rid)
    return {**found, **extra}, {"ETag": etag}


@blp.route("/<pid>/revisions")
class Revisions(MethodView):
    @roles()
    @blp.arguments(s.RevisionListQuery(), **QUERY)
    @blp.response(200, s.RevisionPage)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str) -> dict[str, Any]:
        """List a policy's revisions in the order they were opened, optionally of one status."""
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = revisions.page(connection, pid, args.get("status"), args.get("cursor"), args["limit"] + 1)
        conditional(make_etag(row["stream_version"], "revisions", sorted(args.items())), STAFF)
        return page(rows, args["limit"], lambda r: r["opened_position"])

    @write("author")
    @blp.arguments(s.RevisionOpen())
    @blp.response(201, s.Revision, headers={"Location": {"schema": {"type": "string"}}})
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.OpenRevision], pid: str) -> tuple[dict[str, Any], Headers]:
        """Open a draft revision against a published version (the newest by default)."""
        rid = run(body.command(policy_id=pid), "author", reason=body.reason).result["revision_id"]
        found, headers = changed(pid, rid)
        return found, {**headers, "Location": url_for("revisions.Revision", pid=pid, rid=rid)}


@blp.route("/<pid>/revisions/<rid>")
class Revision(MethodView):
    @roles()
    @blp.arguments(common.NoQuery(), **QUERY)
    @blp.response(200, s.Revision)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str, rid: str) -> dict[str, Any]:
        """Return a revision: changes, reviews and signatures (void once the content changed), conflicts, preview."""
        found, etag = revision(pid, rid)
        conditional(etag, STAFF)
        return found


@blp.route("/<pid>/revisions/<rid>/changes")
class Changes(MethodView):
    @write("author")
    @blp.arguments(s.ChangesInput())
    @blp.response(200, s.RevisionChanged)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.ChangeRevision], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Add, amend, move or remove sections, retitle, or propose an approval route, in one's own draft."""
        command = body.command(policy_id=pid, revision_id=rid)
        for index, op in enumerate(command.changes):
            if isinstance(op, cmd.ChangeRoute):
                common.known_signers(op.approval_rule, f"changes[{index}].approval_rule")
        outcome = run(command, "author", reason=body.reason)
        return changed(pid, rid, section_ids=outcome.result["section_ids"])


@blp.route("/<pid>/revisions/<rid>/submit")
class Submit(MethodView):
    @write("author")
    @blp.arguments(s.SubmitInput())
    @blp.response(200, s.Revision)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.SubmitRevision], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Send one's own draft to review by the named reviewers (none: any reviewer); each must be a user
        holding the reviewer role."""
        command = body.command(policy_id=pid, revision_id=rid)
        known_reviewers(command.reviewers, rid)
        common.signable(pid, require().name)
        run(command, "author", reason=body.reason)
        return changed(pid, rid)


def known_reviewers(names: tuple[str, ...], rid: str) -> None:
    """Refuse reviewers who are no users or hold no reviewer role (422 naming the entry); the author named as
    a reviewer is left to the rules, which refuse it as separation of duties."""
    with reading() as connection:
        found = revisions.get(connection, rid)
        author = found["author"] if found else None
        accounts.check_people(connection, names, "reviewers", "reviewer", unchecked=author)


@blp.route("/<pid>/revisions/<rid>/reviewers")
class ChangeReviewers(MethodView):
    @write("author")
    @blp.arguments(s.ReviewersInput())
    @blp.response(200, s.Revision)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.ChangeReviewers], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Name other reviewers for one's own revision while it is in review."""
        command = body.command(policy_id=pid, revision_id=rid)
        known_reviewers(command.reviewers, rid)
        run(command, "author", reason=body.reason)
        return changed(pid, rid)


@blp.route("/<pid>/revisions/<rid>/recall")
class Recall(MethodView):
    @write("author")
    @blp.arguments(s.RecallInput())
    @blp.response(200, s.Revision)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.RecallRevision], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Take one's own revision back from review to draft; its reviews and signatures become void."""
        run(body.command(policy_id=pid, revision_id=rid), "author", reason=body.reason)
        return changed(pid, rid)


@blp.route("/<pid>/revisions/<rid>/reviews")
class Reviews(MethodView):
    @write("reviewer")
    @blp.arguments(s.ReviewInput())
    @blp.response(201, s.Revision)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.ReviewRevision], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Give a verdict on the revision's current content (not on one's own revision)."""
        run(body.command(policy_id=pid, revision_id=rid), "reviewer", reason=body.reason)
        return changed(pid, rid)


@blp.route("/<pid>/revisions/<rid>/approvals")
class Approvals(MethodView):
    @write("approver", "admin")
    @blp.arguments(s.ApprovalInput())
    @blp.response(201, s.Revision)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.ApproveRevision], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Sign the revision's current content, for the step of the route it waits on, with a meaning; the
        signer's password is asked again (a wrong one: 403 `reauthentication_failed`, nothing signed)."""
        # An approval route may count admins' signatures too; the route itself decides whose count.
        command = body.command(policy_id=pid, revision_id=rid)
        who = signing.signer(require("approver", "admin"), request.get_json().get("password"), pid, rid,
                             command.on_behalf_of)
        command = replace(command, full_name=who.full_name, on_behalf_of=who.on_behalf_of,
                          on_behalf_of_role=who.on_behalf_of_role)
        run(command, "approver", "admin", reason=body.reason)
        return changed(pid, rid)


@blp.route("/<pid>/revisions/<rid>/publish")
class Publish(MethodView):
    @write("approver")
    @blp.arguments(s.PublishInput())
    @blp.response(201, s.Published, headers={"Location": {"schema": {"type": "string"}}})
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.PublishRevision], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Publish an approved revision as the next version, effective from a time (a past one needs a reason)."""
        result = run(body.command(policy_id=pid, revision_id=rid), "approver", reason=body.reason).result
        return result, {"Location": url_for("policies.Version", pid=pid, number=result["version"])}


@blp.route("/<pid>/revisions/<rid>/reject")
class Reject(MethodView):
    @write("approver")
    @blp.arguments(s.RejectInput())
    @blp.response(200, s.Revision)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.RejectRevision], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Reject a revision for good, saying why."""
        run(body.command(policy_id=pid, revision_id=rid), "approver", reason=body.reason)
        return changed(pid, rid)


@blp.route("/<pid>/revisions/<rid>/withdraw")
class Withdraw(MethodView):
    @write("author")
    @blp.arguments(s.WithdrawInput())
    @blp.response(200, s.Revision)
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.WithdrawRevision], pid: str, rid: str) -> tuple[dict[str, Any], Headers]:
        """Withdraw one's own revision for good, saying why."""
        run(body.command(policy_id=pid, revision_id=rid), "author", reason=body.reason)
        return changed(pid, rid)


@blp.route("/<pid>/history")
class History(MethodView):
    @roles()
    @blp.arguments(s.HistoryQuery(), **QUERY)
    @blp.response(200, s.RevisionHistory)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str) -> dict[str, Any]:
        """List every revision in the order opened, each with every change of state: who, in which role, when, why."""
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = revisions.history(connection, pid, args.get("cursor"), args["limit"] + 1)
        conditional(make_etag(row["stream_version"], "history", sorted(args.items())), STAFF)
        return page(rows, args["limit"], lambda r: r["opened_position"])
