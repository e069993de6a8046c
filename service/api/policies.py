"""Policies for frontends: the catalogue, the version in force, published versions, diffs and section histories."""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Any, Iterator

from flask import Response, current_app, jsonify, render_template, request, url_for
from flask.views import MethodView
from sqlalchemy import Connection

from events.domain.canonical import format_time
from events.store.engine import read_transaction
from events.domain.errors import NotFound
from projections import catalog, revisions, versions

from .. import schemas as s
from ..bootstrap import services
from ..content.diffing import diff_documents
from ..http.conventions import cached, context, idempotent, make_etag, page
from ..readcache import Rendered
from ..http.security import require_reader

blp = s.Blueprint("policies", __name__, url_prefix="/api/v1/policies", description=(
    "Policies and their published versions. Reads of published content need no token unless the deployment "
    "turns anonymous reads off. Write bodies must be sent as `application/json`: any other content type is "
    "refused with 415 Unsupported Media Type."))
blp.before_request(s.guard_request)
IMMUTABLE, REVALIDATE = "max-age=31536000, immutable", "no-cache"


@blp.before_request
def in_force_at_once() -> Response | None:
    """Answer the commonest read, the policy in force now with no query, before argument parsing and the
    response schemas run: PolicyInForce would answer exactly the same, from the same cache."""
    if request.method == "GET" and request.endpoint == "policies.PolicyInForce" and not request.query_string:
        require_reader()
        return in_force_now(request.view_args["pid"])  # type: ignore[index]
    return None


class NothingInForce(NotFound):
    """No published version is in force at the time asked about."""

    code = "nothing_in_force"


@contextmanager
def reading() -> Iterator[Connection]:
    """Open one consistent snapshot for a read."""
    with read_transaction(services().engine) as connection:
        yield connection


def now() -> str:
    """Return the ledger's clock reading as stored text."""
    return format_time(services().ledger.clock())


def public(directive: str) -> str:
    """Return Cache-Control for published content: shared caches may keep it only when anyone may read it."""
    return ("public, " if current_app.config["ANONYMOUS_READS"] else "private, ") + directive


def answer(schema: Any, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Shape a write's answer through its schema into a finished response (so a replayed one is identical)."""
    response = jsonify(schema.dump(data))
    response.status_code = status
    response.headers.update(headers or {})
    return response


def policy_row(connection: Connection, pid: str) -> dict[str, Any]:
    """Return a policy's catalogue row or refuse with 404."""
    row = catalog.get(connection, pid)
    if row is None:
        raise NotFound(f"no policy {pid!r}", field="pid")
    return row


def document(connection: Connection, pid: str, args: dict[str, Any]) -> tuple[dict, dict, dict | None]:
    """Return the catalogue row, the version a read asks for, and the version scheduled after it."""
    row = policy_row(connection, pid)
    as_of = args.get("as_of")
    if "version" in args:
        found = versions.get(connection, pid, args["version"], as_of)
        if found is None:
            raise NotFound(f"policy {pid!r} has no published version {args['version']}"
                           + (f" recorded by {as_of}" if as_of else ""), field="version")
        return row, found, None
    at = args.get("at") or now()
    found = versions.in_force(connection, pid, at, as_of)
    upcoming = versions.scheduled(connection, pid, at, as_of)
    if found is None:
        details = {"scheduled": upcoming} if upcoming else {}
        raise NothingInForce(f"nothing of policy {pid!r} is in force at {at}"
                             + (f" as recorded by {as_of}" if as_of else "")
                             + (f"; version {upcoming['version']} takes effect {upcoming['effective_from']}"
                                if upcoming else ""), details=details)
    return row, found, upcoming


@blp.route("")
class Policies(MethodView):
    @blp.arguments(s.PolicyListQuery, **s.QUERY)
    @blp.response(200, s.PolicyPage)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 422)
    def get(self, args: dict[str, Any]) -> Response:
        """List policies with the version in force now."""
        require_reader()
        with reading() as connection:
            rows = catalog.page_in_force(connection, args.get("cursor"), args["limit"] + 1, now())
        body = s.PolicyPage().dump(page(rows, args["limit"], lambda r: r["policy_id"]))
        return cached(body, make_etag(0, body), public(REVALIDATE))

    @blp.arguments(s.PolicyCreate)
    @blp.response(201, s.PolicyCreated, headers={"Location": {"schema": {"type": "string"}}})
    @blp.headers(s.IDEMPOTENCY_KEY)
    @s.problems(blp, 400, 401, 403, 409, 413, 415, 422)
    @idempotent
    def post(self, body: dict[str, Any]) -> Response:
        """Create a policy; initial sections become a draft revision (nothing is in force until published)."""
        ctx = context("author", reason=body.pop("reason", None))
        outcome = services().ledger.handle("create_policy", body["id"], ctx, body)
        with reading() as connection:
            row = policy_row(connection, body["id"])
        created = {**row, "approval_rule": json.loads(row["approval_rule"]), **outcome.result}
        location = url_for("policies.PolicyInForce", pid=body["id"])
        return answer(s.PolicyCreated(), created, 201, {"Location": location, "ETag": make_etag(row["stream_version"])})


@blp.route("/<pid>")
class PolicyInForce(MethodView):
    @blp.arguments(s.PolicyReadQuery, **s.QUERY)
    @blp.response(200, s.PolicyDocument)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str) -> Response:
        """Return the version in force now, or at `at`, or version `version`, as recorded by `as_of`."""
        require_reader()
        if not args:
            return in_force_now(pid)
        with reading() as connection:
            row, found, upcoming = document(connection, pid, args)
        body = s.PolicyDocument().dump({**found, "scheduled": upcoming})
        etag = make_etag(row["stream_version"], "document", found["version"], upcoming and upcoming["version"],
                         sorted(args.items()))
        return cached(body, etag, public(IMMUTABLE if "version" in args else REVALIDATE))


def in_force_now(pid: str) -> Response:
    """Answer "what is in force now" from the rendered answer kept since the policy's stream last moved."""
    cache, clock = services().in_force, now()
    position = cache.position(pid)
    if position is None:
        raise NotFound(f"no policy {pid!r}", field="pid")
    rendered = cache.get(pid, position, clock)
    if rendered is None:
        with reading() as connection:
            row, found, upcoming = document(connection, pid, {"at": clock})
        body = current_app.json.response(s.PolicyDocument().dump({**found, "scheduled": upcoming})).get_data()
        etag = make_etag(row["stream_version"], "document", found["version"], upcoming and upcoming["version"], [])
        rendered = Rendered(position=row["last_position"], until=upcoming and upcoming["effective_from"],
                            etag=etag, body=body)
        cache.put(pid, rendered)
    return cached(Response(rendered.body, mimetype="application/json"), rendered.etag, public(REVALIDATE))


@blp.route("/<pid>/versions")
class Versions(MethodView):
    @blp.arguments(s.VersionListQuery, **s.QUERY)
    @blp.response(200, s.VersionPage)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str) -> Response:
        """List the published versions: dates, revision, author, approvers with their meanings and roles."""
        require_reader()
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = versions.page(connection, pid, args.get("cursor"), args["limit"] + 1, args.get("as_of"))
        body = s.VersionPage().dump(page(rows, args["limit"], lambda r: r["version"]))
        etag = make_etag(row["stream_version"], "versions", sorted(args.items()))
        return cached(body, etag, public(REVALIDATE))


@blp.route("/<pid>/versions/<int:number>")
class Version(MethodView):
    @blp.arguments(s.AsOfQuery, **s.QUERY)
    @blp.response(200, s.PolicyDocument)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str, number: int) -> Response:
        """Return the document of one published version (it never changes)."""
        require_reader()
        with reading() as connection:
            row, found, _ = document(connection, pid, {**args, "version": number})
        body = s.PolicyDocument().dump({**found, "scheduled": None})
        return cached(body, make_etag(row["stream_version"], "version", number), public(IMMUTABLE))


@blp.route("/<pid>/versions/<int:number>/print")
class PrintableVersion(MethodView):
    @blp.arguments(s.AsOfQuery, **s.QUERY)
    @blp.doc(responses={"200": {"description": "an HTML page to print or archive",
                                "content": {"text/html": {"schema": {"type": "string"}}}}})
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str, number: int) -> Response:
        """A printable version with its signature manifest: who signed, in which role, when, with what meaning."""
        require_reader()
        with reading() as connection:
            row, found, _ = document(connection, pid, {**args, "version": number})
            trail = revisions.detail(connection, pid, found["revision_id"])
        page_html = render_template("printable_version.html", doc={**found, "id": pid},
                                    signatures=[a for a in trail["approvals"] if not a["void"]],
                                    reviews=trail["reviews"])
        response = cached(Response(page_html, mimetype="text/html"),
                          make_etag(row["stream_version"], "print", number), public(IMMUTABLE))
        return response


@blp.route("/<pid>/diff")
class VersionDiff(MethodView):
    @blp.arguments(s.DiffQuery, **s.QUERY)
    @blp.response(200, s.Diff)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str) -> Response:
        """Compare any two versions: sections added, removed, moved and amended, with word-level text diffs."""
        require_reader()
        with reading() as connection:
            row = policy_row(connection, pid)
            old, new = (document(connection, pid, {"version": args[k]})[1] for k in ("from_version", "to_version"))
        body = s.Diff().dump({"policy_id": pid, "from": old, "to": new,
                              **diff_documents(old["title"], old["sections"], new["title"], new["sections"])})
        etag = make_etag(row["stream_version"], "diff", old["version"], new["version"])
        return cached(body, etag, public(IMMUTABLE))


@blp.route("/<pid>/sections/<sid>/history")
class SectionHistory(MethodView):
    @blp.arguments(s.NumberedListQuery, **s.QUERY)
    @blp.response(200, s.SectionHistory)
    @blp.headers(s.IF_NONE_MATCH)
    @s.problems(blp, 401, 404, 422)
    def get(self, args: dict[str, Any], pid: str, sid: str) -> Response:
        """List every published version that changed one section, with who wrote and approved it."""
        require_reader()
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = versions.section_history(connection, pid, sid, args.get("cursor"), args["limit"] + 1)
        if not rows and "cursor" not in args:
            raise NotFound(f"no published version of policy {pid!r} has a section {sid!r}", field="sid")
        body = s.SectionHistory().dump({"section_id": sid, **page(rows, args["limit"], lambda r: r["version"])})
        etag = make_etag(row["stream_version"], "section", sid, sorted(args.items()))
        return cached(body, etag, public(REVALIDATE))
