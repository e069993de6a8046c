"""The responsibility audit trail for auditors: who did what, in which role, when and why; who answered for what."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any, Iterator

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import Engine

from events.domain.canonical import format_time
from events.store.engine import read_transaction
from events.domain.errors import NotFound
from projections import audit as trail

from ..evidence import bundle as evidence
from ..bootstrap import services
from ..http.conventions import page
from .ledger import JSONL, NoQuerySchema, PageQuerySchema, QuerySchema, attachment, auditor_only, store

blp = Blueprint("audit", __name__, url_prefix="/api/v1",
                description="The responsibility audit trail: actions, responsibilities in time, section lineage.")

COLUMNS = ("position", "occurred_at", "recorded_at", "actor", "role", "action", "revision_id", "section_id",
           "version", "detail", "reason", "correlation_id")
EXPORT_BATCH = 1000
# A cell opening with one of these is read as a formula by spreadsheets; a leading apostrophe keeps it text.
FORMULA_OPENERS = ("=", "+", "-", "@", "\t", "\r")


def _time(field: str) -> fields.AwareDateTime:
    return fields.AwareDateTime(format="iso", metadata={"description": f"{field} (RFC 3339 with an offset)"})


class AuditQuerySchema(PageQuerySchema):
    actor = fields.String(validate=validate.Length(1, 200))
    action = fields.String(validate=validate.OneOf(trail.ACTIONS))
    since = _time("occurred at or after")
    until = _time("occurred at or before")
    as_of = _time("recorded by (record time)")
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv", "jsonl")))

    @validates_schema
    def ordered(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "since" in data and "until" in data and data["until"] < data["since"]:
            raise ValidationError("until precedes since", "until")


class AuditItemSchema(Schema):
    position = fields.Integer()
    occurred_at = fields.String()
    recorded_at = fields.String()
    actor = fields.String()
    role = fields.String()
    action = fields.String()
    revision_id = fields.String(allow_none=True)
    section_id = fields.String(allow_none=True)
    version = fields.Integer(allow_none=True)
    detail = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    correlation_id = fields.String(allow_none=True)


class AuditPageSchema(Schema):
    items = fields.List(fields.Nested(AuditItemSchema))
    next_cursor = fields.String(allow_none=True)


class ResponsibilitiesAtQuerySchema(QuerySchema):
    at = _time("effective time (default: now)")
    as_of = _time("record time: as the system knew it then (default: now)")
    section_id = fields.String(validate=validate.Length(1, 64))


class ResponsibilityAtSchema(Schema):
    assignment_id = fields.String()
    party = fields.String()
    party_kind = fields.String()
    section_id = fields.String(allow_none=True, metadata={"description": "null: the whole policy"})
    duty = fields.String()
    valid_from = fields.String()
    valid_to = fields.String(allow_none=True, metadata={"description": "as known at as_of"})
    assigned_by = fields.String()
    assigned_recorded_at = fields.String()
    revoked_by = fields.String(allow_none=True)
    revoked_recorded_at = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


class ResponsibilitiesAtSchema(Schema):
    policy_id = fields.String()
    at = fields.String()
    as_of = fields.String()
    section_id = fields.String(allow_none=True)
    items = fields.List(fields.Nested(ResponsibilityAtSchema))


class LineageEditSchema(Schema):
    position = fields.Integer()
    type = fields.String()
    actor = fields.String()
    at = fields.String()
    data = fields.Dict()


class LineageReviewSchema(Schema):
    position = fields.Integer()
    reviewer = fields.String()
    role = fields.String()
    verdict = fields.String()
    comment = fields.String()
    at = fields.String()
    content_hash = fields.String()
    void = fields.Boolean(metadata={"description": "given to content that was later changed"})


class LineageApprovalSchema(Schema):
    position = fields.Integer()
    approver = fields.String()
    role = fields.String()
    meaning = fields.String()
    comment = fields.String()
    reason = fields.String(allow_none=True)
    at = fields.String()
    content_hash = fields.String()
    void = fields.Boolean(metadata={"description": "given to content that was later changed"})


class LineageItemSchema(Schema):
    version = fields.Integer()
    changes = fields.List(fields.String(), metadata={"description": "added, amended, moved, removed"})
    revision_id = fields.String()
    summary = fields.String()
    author = fields.String()
    publisher = fields.String()
    approvers = fields.List(fields.String(), metadata={"description": "the signatures that counted"})
    effective_from = fields.String()
    published_at = fields.String()
    position = fields.Integer()
    text = fields.String(allow_none=True, metadata={"description": "the section's text in this version"})
    edits = fields.List(fields.Nested(LineageEditSchema))
    reviews = fields.List(fields.Nested(LineageReviewSchema))
    approvals = fields.List(fields.Nested(LineageApprovalSchema))


class LineageSchema(Schema):
    policy_id = fields.String()
    section_id = fields.String()
    items = fields.List(fields.Nested(LineageItemSchema))


def _filters(query: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {k: query.get(k) for k in ("actor", "action")}
    for key in ("since", "until", "as_of"):
        value: datetime | None = query.get(key)
        found[key] = format_time(value) if value is not None else None
    return found


def _all_rows(engine: Engine, pid: str, after: int | None, filters: dict[str, Any]) -> Iterator[dict[str, Any]]:
    # Batch by batch, each in its own short transaction: an export of any size never sits in memory.
    while True:
        with read_transaction(engine) as connection:
            rows = trail.trail_page(connection, pid, after=after, limit=EXPORT_BATCH, **filters)
        yield from rows
        if len(rows) < EXPORT_BATCH:
            return
        after = rows[-1]["position"]


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_OPENERS):
        return "'" + value
    return value


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    # A BOM, so spreadsheets read UTF-8 (and Kyrgyz) as such; csv's default dialect quotes as RFC 4180 says.
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def drained() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(COLUMNS)
    yield "\ufeff" + drained()
    for count, row in enumerate(rows, 1):
        writer.writerow([_cell(row[c]) for c in COLUMNS])
        if count % 200 == 0:
            yield drained()
    yield drained()


def _jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps({c: row[c] for c in COLUMNS}, ensure_ascii=False) + "\n"


TRAIL_ANSWER = ("a page of trail rows (JSON); with format=csv (UTF-8 with a BOM, an attachment) or format=jsonl, "
                "every matching row from the cursor on, streamed")


@blp.route("/policies/<pid>/audit")
class AuditTrail(MethodView):
    decorators = [auditor_only]

    @blp.arguments(AuditQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, AuditPageSchema, description=TRAIL_ANSWER)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True,
                      description=TRAIL_ANSWER)
    @blp.alt_response(200, schema={"type": "string"}, content_type=JSONL, success=True, description=TRAIL_ANSWER)
    def get(self, query: dict[str, Any], pid: str) -> Any:
        """Who did what to the policy, in which role, when and why: filter by actor, action, occurred and record time."""
        evidence.require_policy(store(), pid)
        filters = _filters(query)
        engine = services().engine  # taken now: the export streams on after the request's context is gone
        if query["format"] == "csv":
            response = Response(_csv(_all_rows(engine, pid, query["cursor"], filters)), mimetype="text/csv")
            response.headers["Content-Disposition"] = attachment(f"{pid}-audit.csv")
            return response
        if query["format"] == "jsonl":
            return Response(_jsonl(_all_rows(engine, pid, query["cursor"], filters)), mimetype=JSONL)
        with read_transaction(engine) as connection:
            rows = trail.trail_page(connection, pid, after=query["cursor"], limit=query["limit"] + 1, **filters)
        return page(rows, query["limit"], key=lambda r: r["position"])


@blp.route("/policies/<pid>/responsibilities/at")
class ResponsibilitiesAt(MethodView):
    decorators = [auditor_only]

    @blp.arguments(ResponsibilitiesAtQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, ResponsibilitiesAtSchema)
    def get(self, query: dict[str, Any], pid: str) -> dict[str, Any]:
        """Who was responsible for the policy (or a section) at an effective time, as recorded by a record time."""
        evidence.require_policy(store(), pid)
        now = format_time(store().clock())
        at = format_time(query["at"]) if "at" in query else now
        as_of = format_time(query["as_of"]) if "as_of" in query else now
        section_id = query.get("section_id")
        with read_transaction(services().engine) as connection:
            if section_id is not None and not trail.section_known(connection, pid, section_id):
                raise NotFound(f"no section {section_id!r} in policy {pid!r}", field="section_id")
            items = trail.responsibilities_at(connection, pid, at=at, as_of=as_of, section_id=section_id)
        return {"policy_id": pid, "at": at, "as_of": as_of, "section_id": section_id, "items": items}


@blp.route("/policies/<pid>/sections/<sid>/lineage")
class Lineage(MethodView):
    decorators = [auditor_only]

    @blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, LineageSchema)
    def get(self, query: dict[str, Any], pid: str, sid: str) -> dict[str, Any]:
        """Every published change to one section: revision, author, edits, reviewers' verdicts, signatures."""
        evidence.require_policy(store(), pid)
        with read_transaction(services().engine) as connection:
            items = trail.section_lineage(connection, pid, sid)
            if not items and not trail.section_known(connection, pid, sid):
                raise NotFound(f"no section {sid!r} in policy {pid!r}", field="section_id")
        return {"policy_id": pid, "section_id": sid, "items": items}
