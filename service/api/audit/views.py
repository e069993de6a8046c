"""The responsibility audit trail for auditors: who did what, in which role, when and why; who answered for what."""
from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from events.domain.canonical import format_time
from events.domain.errors import NotFound
from events.store.engine import read_transaction
from projections import audit as trail
from service import queries
from service.api import common
from service.api.common import QUERY, NoQuery
from service.bootstrap import services
from service.evidence import bundle as evidence
from service.evidence import trail as trail_file
from service.http.downloads import JSONL, attachment
from service.http.paging import page
from service.http.security import roles

from . import schemas as s

blp = common.Blueprint("audit", __name__, url_prefix="/api/v1",
                       description="The responsibility audit trail: actions, responsibilities in time, section "
                                   "lineage.")
AUDITOR_PROBLEMS = (401, 403, 404, 422)

def _filters(query: dict[str, Any]) -> dict[str, Any]:
    return {k: query.get(k) for k in ("actor", "action", "since", "until", "as_of")}


TRAIL_ANSWER = ("a page of trail rows (JSON); with format=csv (UTF-8 with a BOM, an attachment) or format=jsonl, "
                "every matching row from the cursor on, streamed")


@blp.route("/policies/<pid>/audit")
class AuditTrail(MethodView):
    @roles("auditor")
    @blp.arguments(s.AuditQuerySchema(), **QUERY)
    @blp.response(200, s.AuditPageSchema, description=TRAIL_ANSWER)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True,
                      description=TRAIL_ANSWER)
    @blp.alt_response(200, schema={"type": "string"}, content_type=JSONL, success=True, description=TRAIL_ANSWER)
    @blp.problems(*AUDITOR_PROBLEMS)
    def get(self, query: dict[str, Any], pid: str) -> Any:
        """Who did what to the policy, in which role, when and why; filter by actor, action, occurred, recorded."""
        evidence.require_policy(services().store, pid)
        filters = _filters(query)
        engine = services().engine  # taken now: the export streams on after the request's context is gone
        if query["format"] == "csv":
            rows = trail_file.rows(engine, pid, query.get("cursor"), filters)
            response = Response(trail_file.as_csv(rows), mimetype="text/csv")
            response.headers["Content-Disposition"] = attachment(f"{pid}-audit.csv")
            return response
        if query["format"] == "jsonl":
            rows = trail_file.rows(engine, pid, query.get("cursor"), filters)
            return Response(trail_file.as_jsonl(rows), mimetype=JSONL)
        with read_transaction(engine) as connection:
            found = trail.trail_page(connection, pid, after=query.get("cursor"), limit=query["limit"] + 1, **filters)
        return page(found, query["limit"], key=lambda r: r["position"])


@blp.route("/policies/<pid>/responsibilities/at")
class ResponsibilitiesAt(MethodView):
    @roles("auditor")
    @blp.arguments(s.ResponsibilitiesAtQuerySchema(), **QUERY)
    @blp.response(200, s.ResponsibilitiesAtSchema)
    @blp.problems(*AUDITOR_PROBLEMS)
    def get(self, query: dict[str, Any], pid: str) -> dict[str, Any]:
        """Who was responsible for the policy (or a section) at an effective time, as recorded by a record time."""
        evidence.require_policy(services().store, pid)
        now = format_time(services().store.clock())
        at = query.get("at", now)
        as_of = query.get("as_of", now)
        section_id = query.get("section_id")
        with read_transaction(services().engine) as connection:
            if section_id is not None and not queries.section_known(connection, pid, section_id):
                raise NotFound(f"no section {section_id!r} in policy {pid!r}", field="section_id")
            items = trail.responsibilities_at(connection, pid, at=at, as_of=as_of, section_id=section_id)
        return {"policy_id": pid, "at": at, "as_of": as_of, "section_id": section_id, "items": items}


@blp.route("/policies/<pid>/sections/<sid>/lineage")
class Lineage(MethodView):
    @roles("auditor")
    @blp.arguments(NoQuery(), **QUERY)
    @blp.response(200, s.LineageSchema)
    @blp.problems(*AUDITOR_PROBLEMS)
    def get(self, query: dict[str, Any], pid: str, sid: str) -> dict[str, Any]:
        """Every published change to one section: revision, author, edits, reviewers' verdicts, signatures."""
        evidence.require_policy(services().store, pid)
        with read_transaction(services().engine) as connection:
            items = queries.lineage(connection, pid, sid)
            if not items and not queries.section_known(connection, pid, sid):
                raise NotFound(f"no section {sid!r} in policy {pid!r}", field="section_id")
        return {"policy_id": pid, "section_id": sid, "items": items}
