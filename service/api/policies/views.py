"""Policies for frontends: the catalogue, the version in force, published versions, diffs and section histories."""
from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from flask import Response, current_app, render_template, url_for
from flask.views import MethodView
from sqlalchemy import Connection

from events.domain import commands as cmd
from events.domain.errors import NotFound
from events.domain.streams import stream_for
from projections import documents
from service import queries
from service.api import common
from service.api.common import IDEMPOTENCY_KEY, IF_NONE_MATCH, QUERY, READ_PROBLEMS, Parsed, now, policy_row, reading
from service.bootstrap import services
from service.content.diffing import diff_documents
from service.http.caching import FROM_BODY, IMMUTABLE, REVALIDATE, conditional, make_etag
from service.http.paging import page
from service.http.rendered import Rendered, answers
from service.http.security import published
from service.http.writes import run, write

from . import schemas as s

blp = common.Blueprint("policies", __name__, url_prefix="/api/v1/policies", description=(
    "Policies and their published versions. Reads of published content need no token unless the deployment "
    "turns anonymous reads off. Write bodies must be sent as `application/json`: any other content type is "
    "refused with 415 Unsupported Media Type."))


class NothingInForce(NotFound):
    """No published version is in force at the time asked about."""

    code = "nothing_in_force"


class Retired(NotFound):
    """The policy was retired before the time asked about: it is in force nowhere then."""

    code = "policy_retired"


def _retirement(row: dict[str, Any], as_of: str | None) -> str | None:
    """Return when the policy is retired, as recorded by `as_of` (None: not retired, or not yet recorded then)."""
    if as_of is not None and row["retired_recorded_at"] is not None and row["retired_recorded_at"] > as_of:
        return None
    retired: str | None = row["retired_from"]
    return retired


def _retired_at(row: dict[str, Any], pid: str, at: str, as_of: str | None) -> None:
    retired = _retirement(row, as_of)
    if retired is not None and at >= retired:
        raise Retired(f"policy {pid!r} was retired from {retired} ({row['retired_reason']}); nothing of it is in "
                      f"force at {at}; ask with ?at= a time before then, or read its versions",
                      details={"retired_from": retired, "retired_reason": row["retired_reason"]})


def document(connection: Connection, pid: str, args: dict[str, Any]) -> tuple[dict, dict, dict | None]:
    """Return the catalogue row, the version a read asks for, and the version scheduled after it."""
    row = policy_row(connection, pid)
    as_of = args.get("as_of")
    if "version" in args:
        found = documents.get(connection, pid, args["version"], as_of)
        if found is None:
            raise NotFound(f"policy {pid!r} has no published version {args['version']}"
                           + (f" recorded by {as_of}" if as_of else ""), field="version")
        return row, {**found, "retired_from": _retirement(row, as_of)}, None
    at = args.get("at") or now()
    _retired_at(row, pid, at, as_of)
    found = {**found, "retired_from": _retirement(row, as_of)} if (found := documents.in_force(connection, pid, at,
                                                                                               as_of)) else None
    upcoming = documents.scheduled(connection, pid, at, as_of)
    if found is None:
        details = {"scheduled": upcoming} if upcoming else {}
        raise NothingInForce(f"nothing of policy {pid!r} is in force at {at}"
                             + (f" as recorded by {as_of}" if as_of else "")
                             + (f"; version {upcoming['version']} takes effect {upcoming['effective_from']}"
                                if upcoming else ""), details=details)
    return row, found, upcoming


@blp.route("")
class Policies(MethodView):
    @published
    @blp.arguments(s.PolicyListQuery(), **QUERY)
    @blp.response(200, s.PolicyPage)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List policies with the version in force now."""
        with reading() as connection:
            rows = queries.catalogue(connection, args.get("cursor"), args["limit"] + 1, now())
        conditional(FROM_BODY, common.public(REVALIDATE))
        return page(rows, args["limit"], lambda r: r["policy_id"])

    @write("author")
    @blp.arguments(s.PolicyCreate())
    @blp.response(201, s.PolicyCreated, headers={"Location": {"schema": {"type": "string"}}})
    @blp.problems(400, 401, 403, 409, 413, 415, 422, headers=(IDEMPOTENCY_KEY,))
    def post(self, body: Parsed[cmd.CreatePolicy]) -> tuple[dict[str, Any], dict[str, str]]:
        """Create a policy; initial sections become a draft revision (nothing is in force until published)."""
        command = body.command()
        outcome = run(command, "author", reason=body.reason)
        with reading() as connection:
            row = policy_row(connection, command.policy_id)
        created = {**row, "approval_rule": json.loads(row["approval_rule"]), **outcome.result}
        location = url_for("policies.PolicyInForce", pid=command.policy_id)
        return created, {"Location": location, "ETag": make_etag(row["stream_version"])}


@blp.route("/<pid>")
class PolicyInForce(MethodView):
    @published
    @blp.arguments(s.PolicyReadQuery(), **QUERY)
    @blp.response(200, s.PolicyDocument)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str) -> Any:
        """Return the version in force now, or at `at`, or version `version`, as recorded by `as_of`."""
        if not args:
            return in_force_now(pid)
        with reading() as connection:
            row, found, upcoming = document(connection, pid, args)
        conditional(make_etag(row["stream_version"], "document", found["version"], upcoming and upcoming["version"],
                              sorted(args.items())),
                    common.public(IMMUTABLE if "version" in args else REVALIDATE))
        return {**found, "scheduled": upcoming}


def in_force_now(pid: str) -> Response:
    """Answer "what is in force now" from the answer rendered when the policy's stream last moved.

    The read frontends make most: checked against the stream's version on every request, rendered
    (read, shaped by PolicyDocument, serialised) only when the stream moved or a scheduled version took over.
    """
    kept, clock = answers(), now()
    token = services().store.change_token()  # before anything is read: a write after it makes the answer stale
    version = services().store.stream_version(stream_for(pid))
    if version == 0:
        raise NotFound(f"no policy {pid!r}", field="pid")
    rendered = kept.get(pid, version, clock)
    if rendered is not None and rendered.token != token:
        kept.put(pid, replace(rendered, token=token))  # still the answer: the writes since were elsewhere
    if rendered is None:
        with reading() as connection:
            row, found, upcoming = document(connection, pid, {"at": clock})
        body = current_app.json.dumps(s.PolicyDocument().dump({**found, "scheduled": upcoming})).encode("utf-8")
        etag = make_etag(row["stream_version"], "document", found["version"], upcoming and upcoming["version"], [])
        ends = [moment for moment in (upcoming and upcoming["effective_from"], row["retired_from"]) if moment]
        rendered = Rendered(stream_version=row["stream_version"], etag=etag, body=body, token=token,
                            until=min(ends) if ends else None,
                            cache_control=common.public(REVALIDATE))
        kept.put(pid, rendered)
    conditional(rendered.etag, common.public(REVALIDATE))
    return Response(rendered.body, mimetype="application/json")


@blp.route("/<pid>/versions")
class Versions(MethodView):
    @published
    @blp.arguments(s.VersionListQuery(), **QUERY)
    @blp.response(200, s.VersionPage)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str) -> dict[str, Any]:
        """List the published versions: dates, revision, author, approvers with their meanings and roles."""
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = documents.page(connection, pid, args.get("cursor"), args["limit"] + 1, args.get("as_of"))
        conditional(make_etag(row["stream_version"], "versions", sorted(args.items())), common.public(REVALIDATE))
        return {**page(rows, args["limit"], lambda r: r["version"]), "retired_from": row["retired_from"],
                "retired_reason": row["retired_reason"]}


@blp.route("/<pid>/versions/<int:number>")
class Version(MethodView):
    @published
    @blp.arguments(s.AsOfQuery(), **QUERY)
    @blp.response(200, s.PolicyDocument)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str, number: int) -> dict[str, Any]:
        """Return the document of one published version (it never changes)."""
        with reading() as connection:
            row, found, _ = document(connection, pid, {**args, "version": number})
        conditional(make_etag(row["stream_version"], "version", number), common.public(IMMUTABLE))
        return {**found, "scheduled": None}


@blp.route("/<pid>/versions/<int:number>/print")
class PrintableVersion(MethodView):
    @published
    @blp.arguments(s.AsOfQuery(), **QUERY)
    @blp.doc(responses={"200": {"description": "an HTML page to print or archive",
                                "content": {"text/html": {"schema": {"type": "string"}}}}})
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str, number: int) -> Response:
        """A printable version with its signature manifest: who signed, in which role, when, with what meaning."""
        with reading() as connection:
            row, found, _ = document(connection, pid, {**args, "version": number})
            trail = queries.revision(connection, pid, found["revision_id"])
        assert trail is not None
        page_html = render_template("printable_version.html", doc={**found, "id": pid},
                                    signatures=[a for a in trail["approvals"] if not a["void"]],
                                    reviews=trail["reviews"])
        conditional(make_etag(row["stream_version"], "print", number), common.public(IMMUTABLE))
        return Response(page_html, mimetype="text/html")


@blp.route("/<pid>/diff")
class VersionDiff(MethodView):
    @published
    @blp.arguments(s.DiffQuery(), **QUERY)
    @blp.response(200, s.Diff)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str) -> dict[str, Any]:
        """Compare any two versions: sections added, removed, moved and amended, with word-level text diffs."""
        with reading() as connection:
            row = policy_row(connection, pid)
            old, new = (document(connection, pid, {"version": args[k]})[1] for k in ("from_version", "to_version"))
        conditional(make_etag(row["stream_version"], "diff", old["version"], new["version"]), common.public(IMMUTABLE))
        return {"policy_id": pid, "from": old, "to": new,
                **diff_documents(old["title"], old["sections"], new["title"], new["sections"])}


@blp.route("/<pid>/sections/<sid>/history")
class SectionHistory(MethodView):
    @published
    @blp.arguments(s.NumberedListQuery(), **QUERY)
    @blp.response(200, s.SectionHistory)
    @blp.problems(*READ_PROBLEMS, headers=(IF_NONE_MATCH,))
    def get(self, args: dict[str, Any], pid: str, sid: str) -> dict[str, Any]:
        """List every published version that changed one section, with who wrote and approved it."""
        with reading() as connection:
            row = policy_row(connection, pid)
            rows = documents.section_history(connection, pid, sid, args.get("cursor"), args["limit"] + 1)
        if not rows and "cursor" not in args:
            raise NotFound(f"no published version of policy {pid!r} has a section {sid!r}", field="sid")
        conditional(make_etag(row["stream_version"], "section", sid, sorted(args.items())),
                    common.public(REVALIDATE))
        return {"section_id": sid, **page(rows, args["limit"], lambda r: r["version"])}
