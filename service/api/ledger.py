"""The log for auditors: raw events, the global feed, replay, verification, signed checkpoints and bundles."""
from __future__ import annotations

import json
from functools import wraps
from typing import Any, Callable, Iterator
from urllib.parse import quote

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.exceptions import BadRequest

from events.store import EventStore

from ..evidence import bundle as evidence, checkpoints
from ..ops import observability
from ..bootstrap import services
from ..http.conventions import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, idempotent, page
from ..http.security import require

blp = Blueprint("ledger", __name__, url_prefix="/api/v1",
                description="The event log for auditors: raw events, replay, verification, checkpoints, bundles.")
blp.after_app_request(checkpoints.checkpoint_after_write)

JSONL = "application/x-ndjson"


# ---- shared by the auditor's endpoints ----------------------------------------------------------

def auditor_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Refuse anyone but an auditor before anything else is looked at (401 without a token, 403 without the role)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        require("auditor")
        return view(*args, **kwargs)

    return wrapper


class Cursor(fields.Field):
    """An opaque paging cursor this service issued, holding a whole number."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        try:
            decoded = decode_cursor(value) if isinstance(value, str) else None
        except BadRequest:
            decoded = None
        if not isinstance(decoded, int) or isinstance(decoded, bool) or decoded < 0:
            raise ValidationError("not a cursor this service issued")
        return decoded


class QuerySchema(Schema):
    """A query string: an unknown parameter is an error, never silently ignored."""

    class Meta:
        unknown = RAISE


class PageQuerySchema(QuerySchema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = Cursor(load_default=None, metadata={"type": "string", "description": "next_cursor of the page before"})


class NoQuerySchema(QuerySchema):
    pass


def attachment(filename: str) -> str:
    """Return a Content-Disposition header offering a download under a file name (any script)."""
    fallback = filename.encode("ascii", "replace").decode("ascii").replace("?", "_").replace('"', "_")
    return f'attachment; filename="{fallback}"; filename*=UTF-8\'\'{quote(filename)}'


def store() -> EventStore:
    """Return the app's event store."""
    return services().store


# ---- schemas ------------------------------------------------------------------------------------

class LedgerEventSchema(Schema):
    position = fields.Integer(required=True)
    stream = fields.String(required=True)
    version = fields.Integer(required=True)
    type = fields.String(required=True)
    schema = fields.Integer(required=True)
    data = fields.Dict(required=True)
    meta = fields.Dict(required=True)
    recorded_at = fields.String(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)


class LedgerEventPageSchema(Schema):
    items = fields.List(fields.Nested(LedgerEventSchema))
    next_cursor = fields.String(allow_none=True)


class LogQuerySchema(QuerySchema):
    after = fields.Integer(validate=validate.Range(min=0),
                           metadata={"description": "answer events after this position (0: from the start)"})
    cursor = Cursor(metadata={"type": "string", "description": "next_cursor of the page before"})
    limit = fields.Integer(validate=validate.Range(1, MAX_LIMIT),
                           metadata={"description": "page size (default 50); JSON lines stream to the end without it"})
    up_to = fields.Integer(validate=validate.Range(min=1), metadata={"description": "stop at this position"})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "jsonl")))

    @validates_schema
    def one_start(self, data: dict[str, Any], **kwargs: Any) -> None:
        if "after" in data and "cursor" in data:
            raise ValidationError("give either after or cursor, not both", "cursor")


class LogPageSchema(LedgerEventPageSchema):
    last_position = fields.Integer(required=True, metadata={"description": "poll on with after=last_position"})


class ReplayQuerySchema(QuerySchema):
    position = fields.Integer(validate=validate.Range(min=1),
                              metadata={"description": "global log position (default: the head)"})


class ReplaySectionSchema(Schema):
    id = fields.String()
    kind = fields.String()
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()
    children = fields.List(fields.Nested(lambda: ReplaySectionSchema()))


class ReplayDocumentSchema(Schema):
    id = fields.String()
    language = fields.String()
    title = fields.String()
    sections = fields.List(fields.Nested(ReplaySectionSchema))


class ReplayVersionDocumentSchema(Schema):
    version = fields.Integer()
    effective_from = fields.String()
    content_hash = fields.String()
    document = fields.Nested(ReplayDocumentSchema)


class ReplayVersionSchema(Schema):
    version = fields.Integer()
    revision_id = fields.String()
    effective_from = fields.String()
    published_at = fields.String()
    editorial = fields.Boolean()
    content_hash = fields.String()


class ReplayRevisionSchema(Schema):
    revision_id = fields.String()
    status = fields.String()
    author = fields.String()
    base_version = fields.Integer()
    summary = fields.String()
    content_hash = fields.String()


class ReplaySchema(Schema):
    policy_id = fields.String()
    position = fields.Integer()
    recorded_at = fields.String(metadata={"description": "record time of the event at `position`"})
    exists = fields.Boolean()
    stream_version = fields.Integer()
    title = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    in_force = fields.Nested(ReplayVersionDocumentSchema, allow_none=True,
                             metadata={"description": "the version in force at the record time of `position`"})
    latest = fields.Nested(ReplayVersionDocumentSchema, allow_none=True)
    versions = fields.List(fields.Nested(ReplayVersionSchema))
    revisions = fields.List(fields.Nested(ReplayRevisionSchema))


class VerifySchema(Schema):
    ok = fields.Boolean(required=True)
    events_checked = fields.Integer(required=True)
    first_bad_position = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)


class CheckpointSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    hash = fields.String()
    recorded_at = fields.String()
    signed_at = fields.String()
    key_id = fields.String(metadata={"description": "SHA-256 hex of the raw Ed25519 public key"})
    signature = fields.String(metadata={"description": "base64 Ed25519 signature of the canonical statement"})


class CheckpointPageSchema(Schema):
    items = fields.List(fields.Nested(CheckpointSchema))
    next_cursor = fields.String(allow_none=True)


# ---- views --------------------------------------------------------------------------------------

@blp.route("/policies/<pid>/events")
class PolicyEvents(MethodView):
    decorators = [auditor_only]

    @blp.arguments(PageQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, LedgerEventPageSchema)
    def get(self, query: dict[str, Any], pid: str) -> dict[str, Any]:
        """One policy's raw event stream, in stream order (paged by version)."""
        evidence.require_policy(store(), pid)
        items = evidence.stream_page(store().engine, pid, query["cursor"] or 0, query["limit"] + 1)
        return page(items, query["limit"], key=lambda e: e["version"])


def _jsonl(events: Iterator[Any]) -> Iterator[str]:
    for event in events:
        yield json.dumps(event.to_json(), ensure_ascii=False) + "\n"


LOG_ANSWER = "a page of events (JSON), or with format=jsonl every event in range, one per line, streamed"


@blp.route("/events")
class GlobalLog(MethodView):
    decorators = [auditor_only]

    @blp.arguments(LogQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, LogPageSchema, description=LOG_ANSWER)
    @blp.alt_response(200, schema={"type": "string"}, content_type=JSONL, success=True, description=LOG_ANSWER)
    def get(self, query: dict[str, Any]) -> Any:
        """The global log in position order; poll with after=last_position and never miss an event."""
        after = query.get("cursor", query.get("after", 0))
        up_to = query.get("up_to")
        if query["format"] == "jsonl":
            # Streamed batch by batch: any range, never the whole log in memory.
            events = store().read_all(after, query.get("limit"), up_to=up_to)
            return Response(_jsonl(events), mimetype=JSONL)
        limit = query.get("limit", DEFAULT_LIMIT)
        items = [e.to_json() for e in store().read_all(after, limit + 1, up_to=up_to)]
        body = page(items, limit, key=lambda e: e["position"])
        body["last_position"] = body["items"][-1]["position"] if body["items"] else after
        return body


@blp.route("/policies/<pid>/replay")
class Replay(MethodView):
    decorators = [auditor_only]

    @blp.arguments(ReplayQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, ReplaySchema)
    def get(self, query: dict[str, Any], pid: str) -> dict[str, Any]:
        """The policy rebuilt from the log up to a global position: in force then, newest, every revision."""
        return evidence.replay(store(), pid, query.get("position"))


@blp.route("/ledger/verify")
class Verify(MethodView):
    decorators = [auditor_only]

    @blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, VerifySchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Walk the whole hash chain; the body says whether it is whole and, if not, where it breaks."""
        result = observability.verify(store())  # also counted in the metrics
        return {"ok": result.ok, "events_checked": result.events_checked,
                "first_bad_position": result.first_bad_position, "problem": result.problem}


@blp.route("/ledger/public-key")
class PublicKey(MethodView):

    @blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, {"type": "string"}, content_type="application/x-pem-file")
    def get(self, query: dict[str, Any]) -> Response:
        """The PEM public key that signs checkpoints and bundles (open to anyone)."""
        return Response(checkpoints.signing_key().public_pem, mimetype="application/x-pem-file")


@blp.route("/ledger/checkpoints")
class Checkpoints(MethodView):
    decorators = [auditor_only]

    @blp.arguments(PageQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, CheckpointPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Signed checkpoints, oldest first."""
        items = checkpoints.page(store().engine, query["cursor"], query["limit"] + 1)
        return page(items, query["limit"], key=lambda c: c["id"])

    @blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
    @blp.response(201, CheckpointSchema)
    @idempotent
    def post(self, query: dict[str, Any]) -> dict[str, Any]:
        """Sign the chain head now: position, hash and record time under the ledger's Ed25519 key."""
        return checkpoints.sign_head(store(), checkpoints.signing_key())


@blp.route("/policies/<pid>/bundle")
class Bundle(MethodView):
    decorators = [auditor_only]

    @blp.arguments(NoQuerySchema, location="query", unknown=RAISE)
    @blp.response(200, {"type": "object"}, description="the evidence bundle (one JSON file), streamed")
    def get(self, query: dict[str, Any], pid: str) -> Response:
        """The offline evidence bundle: events, chain links, a fresh signed checkpoint, versions, verifier."""
        bundle = evidence.build(store(), checkpoints.signing_key(), pid)
        response = Response(bundle.chunks, mimetype="application/json")
        response.headers["Content-Disposition"] = attachment(bundle.filename)
        return response

