"""Policies for frontends: the catalogue, the version in force, published versions, diffs and section histories."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from flask import Response, current_app, render_template, request, url_for
from flask.views import MethodView
from sqlalchemy import Connection

from events.domain import commands as cmd
from events.domain.errors import NotFound
from events.domain.rules import Route
from events.domain.streams import stream_for
from projections import documents
from service import queries
from service.api import common
from service.api.common import IDEMPOTENCY_KEY, IF_NONE_MATCH, QUERY, READ_PROBLEMS, Parsed, now, policy_row, reading
from service.bootstrap import services
from service.content import controlled, importing
from service.content.diffing import diff_documents
from service.http.caching import FROM_BODY, IMMUTABLE, REVALIDATE, conditional, make_etag
from service.http.guards import file_upload
from service.http.paging import page
from service.http.rendered import Rendered, answers
from service.http.security import actor, published
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
        if isinstance(command.approval_rule, Route):
            common.known_signers(command.approval_rule, "approval_rule")
        outcome = run(command, "author", reason=body.reason)
        with reading() as connection:
            row = policy_row(connection, command.policy_id)
        created = {**row, "approval_rule": json.loads(row["approval_rule"]), **outcome.result}
        location = url_for("policies.PolicyInForce", pid=command.policy_id)
        return created, {"Location": location, "ETag": make_etag(row["stream_version"])}


@blp.route("/import")
class PolicyImport(MethodView):
    @write("author", body=False)
    @file_upload
    @blp.arguments(s.PolicyImportUpload(), location="multipart")
    @blp.response(201, s.PolicyImported, headers={"Location": {"schema": {"type": "string"}}})
    @blp.problems(400, 401, 403, 409, 413, 415, 422, headers=(IDEMPOTENCY_KEY,))
    def post(self, form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Import a policy from a Word, PDF, Markdown or text file as a draft; the answer says what was found."""
        upload = form["file"]
        name = Path(upload.filename or "policy.txt").name
        parsed = importing.parse_document(upload.read(), name, current_app.config["IMPORT_MAX_BYTES"])
        command = importing.create_command(parsed, importing.ImportRequest(
            policy_id=form["id"], actor=actor("author").name, source=name, title=form.get("title"),
            language=form.get("language"),
            review_interval_days=form.get("review_interval_days", importing.DEFAULT_REVIEW_INTERVAL_DAYS)))
        outcome = run(command, "author", reason=f"imported from {name}")
        with reading() as connection:
            row = policy_row(connection, command.policy_id)
        created = {**row, "approval_rule": json.loads(row["approval_rule"]), **outcome.result,
                   "summary": parsed.summary}
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
        """Return the document of one published version (it never changes); with `Accept: application/pdf`, a
        controlled copy of it as PDF."""
        if request.accept_mimetypes.best_match(["application/json", "application/pdf"]) == "application/pdf":
            return controlled_copy(pid, number, args, "pdf")  # type: ignore[return-value]
        with reading() as connection:
            row, found, _ = document(connection, pid, {**args, "version": number})
        conditional(make_etag(row["stream_version"], "version", number), common.public(IMMUTABLE))
        return {**found, "scheduled": None}


def controlled_copy(pid: str, number: int, args: dict[str, Any], kind: str) -> Response:
    """Answer a controlled copy of a published version, printed now, as a PDF or Word file."""
    with reading() as connection:
        _, found, _ = document(connection, pid, {**args, "version": number})
        stamp = queries.copy_stamp(connection, pid, found, now())
    answer = Response(controlled.controlled_copy(kind, {**found, "id": pid}, stamp),
                      mimetype=controlled.CONTENT_TYPES[kind])
    answer.headers["Content-Disposition"] = f'attachment; filename="{controlled.file_name(pid, number, kind)}"'
    answer.headers["Cache-Control"] = "no-cache"  # each copy names the moment it was printed
    return answer


def _copy_doc(kind: str) -> dict[str, Any]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {"responses": {"200": {"description": f"a controlled copy as {kind.upper()}: the version's document and a "
                                                 "block naming policy, version, effective date, approvers with their "
                                                 "meanings, content hash and when it was printed",
                                  "content": {controlled.CONTENT_TYPES[kind]: binary}}}}


@blp.route("/<pid>/versions/<int:number>/document.pdf")
class VersionPdf(MethodView):
    @published
    @blp.arguments(s.AsOfQuery(), **QUERY)
    @blp.doc(**_copy_doc("pdf"))
    @blp.problems(*READ_PROBLEMS)
    def get(self, args: dict[str, Any], pid: str, number: int) -> Response:
        """A controlled copy of a version as PDF, with every Kyrgyz letter in its embedded font."""
        return controlled_copy(pid, number, args, "pdf")


@blp.route("/<pid>/versions/<int:number>/document.docx")
class VersionDocx(MethodView):
    @published
    @blp.arguments(s.AsOfQuery(), **QUERY)
    @blp.doc(**_copy_doc("docx"))
    @blp.problems(*READ_PROBLEMS)
    def get(self, args: dict[str, Any], pid: str, number: int) -> Response:
        """A controlled copy of a version as a Word file, with Word's styles and list numbering."""
        return controlled_copy(pid, number, args, "docx")


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
