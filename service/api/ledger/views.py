"""The log for auditors: raw events, the global feed, replay, verification, signed checkpoints and bundles."""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from flask import Response
from flask.views import MethodView

from events.store import EventStore, StoredEvent
from service.api import common
from service.api.common import QUERY, NoQuery
from service.bootstrap import services
from service.evidence import bundle as evidence
from service.evidence import checkpoints
from service.http.downloads import JSONL, attachment
from service.http.paging import DEFAULT_LIMIT, page
from service.http.security import anyone, roles
from service.http.writes import write
from service.ops import observability

from . import schemas as s

blp = common.Blueprint("ledger", __name__, url_prefix="/api/v1",
                       description="The event log for auditors: raw events, replay, verification, checkpoints, "
                                   "bundles.")
AUDITOR_PROBLEMS = (401, 403, 404, 422)


def store() -> EventStore:
    """Return the app's event store."""
    return services().store


@blp.route("/policies/<pid>/events")
class PolicyEvents(MethodView):
    @roles("auditor")
    @blp.arguments(s.EventPageQuery(), **QUERY)
    @blp.response(200, s.LedgerEventPageSchema)
    @blp.problems(*AUDITOR_PROBLEMS)
    def get(self, query: dict[str, Any], pid: str) -> dict[str, Any]:
        """One policy's raw event stream, in stream order (paged by version)."""
        evidence.require_policy(store(), pid)
        items = evidence.stream_page(store().engine, pid, query.get("cursor") or 0, query["limit"] + 1)
        return page(items, query["limit"], key=lambda e: e["version"])


def _jsonl(events: Iterator[StoredEvent]) -> Iterator[str]:
    for event in events:
        yield json.dumps(event.to_json(), ensure_ascii=False) + "\n"


LOG_ANSWER = "a page of events (JSON), or with format=jsonl every event in range, one per line, streamed"


@blp.route("/events")
class GlobalLog(MethodView):
    @roles("auditor")
    @blp.arguments(s.LogQuerySchema(), **QUERY)
    @blp.response(200, s.LogPageSchema, description=LOG_ANSWER)
    @blp.alt_response(200, schema={"type": "string"}, content_type=JSONL, success=True, description=LOG_ANSWER)
    @blp.problems(401, 403, 422)
    def get(self, query: dict[str, Any]) -> Any:
        """The global log in position order; poll with after=last_position and never miss an event."""
        after = query.get("cursor", query.get("after", 0))
        up_to = query.get("up_to")
        if query["format"] == "jsonl":
            # Streamed batch by batch: any range, never the whole log in memory.
            return Response(_jsonl(store().read_all(after, query.get("limit"), up_to=up_to)), mimetype=JSONL)
        limit = query.get("limit", DEFAULT_LIMIT)
        items = [e.to_json() for e in store().read_all(after, limit + 1, up_to=up_to)]
        body = page(items, limit, key=lambda e: e["position"])
        body["last_position"] = body["items"][-1]["position"] if body["items"] else after
        return body


@blp.route("/policies/<pid>/replay")
class Replay(MethodView):
    @roles("auditor")
    @blp.arguments(s.ReplayQuerySchema(), **QUERY)
    @blp.response(200, s.ReplaySchema)
    @blp.problems(*AUDITOR_PROBLEMS)
    def get(self, query: dict[str, Any], pid: str) -> dict[str, Any]:
        """The policy rebuilt from the log up to a global position: in force then, newest, every revision."""
        return evidence.replay(store(), pid, query.get("position"))


@blp.route("/ledger/verify")
class Verify(MethodView):
    @roles("auditor")
    @blp.arguments(NoQuery(), **QUERY)
    @blp.response(200, s.VerifySchema)
    @blp.problems(401, 403, 422)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Walk the whole hash chain and hold every signed checkpoint against it; the body says whether both hold,
        which checkpoint it checked up to and, if not, where it breaks."""
        return observability.verify(store()).to_dict()  # also counted in the metrics


@blp.route("/ledger/public-key")
class PublicKey(MethodView):
    @anyone
    @blp.arguments(NoQuery(), **QUERY)
    @blp.response(200, {"type": "string"}, content_type="application/x-pem-file")
    @blp.problems(401, 422)
    def get(self, query: dict[str, Any]) -> Response:
        """The PEM public key that signs checkpoints and bundles (open to anyone)."""
        return Response(checkpoints.signing_key().public_pem, mimetype="application/x-pem-file")


@blp.route("/ledger/checkpoints")
class Checkpoints(MethodView):
    @roles("auditor")
    @blp.arguments(s.EventPageQuery(), **QUERY)
    @blp.response(200, s.CheckpointPageSchema)
    @blp.problems(401, 403, 422)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Signed checkpoints, oldest first."""
        items = checkpoints.page(store().engine, query.get("cursor"), query["limit"] + 1)
        return page(items, query["limit"], key=lambda c: c["id"])

    @write("auditor", body=False)
    @blp.arguments(NoQuery(), **QUERY)
    @blp.response(201, s.CheckpointSchema)
    @blp.problems(401, 403, 409, 422)
    def post(self, query: dict[str, Any]) -> dict[str, Any]:
        """Sign the chain head now: position, hash and record time under the ledger's Ed25519 key."""
        made = checkpoints.sign_head(store(), checkpoints.signing_key())
        assert made is not None
        return made


@blp.route("/policies/<pid>/bundle")
class Bundle(MethodView):
    @roles("auditor")
    @blp.arguments(NoQuery(), **QUERY)
    @blp.response(200, {"type": "object"}, description="the evidence bundle (one JSON file), streamed")
    @blp.problems(*AUDITOR_PROBLEMS)
    def get(self, query: dict[str, Any], pid: str) -> Response:
        """The offline evidence bundle: events, chain links, a fresh signed checkpoint, versions, verifier."""
        bundle = evidence.build(store(), checkpoints.signing_key(), pid)
        response = Response(bundle.chunks, mimetype="application/json")
        response.headers["Content-Disposition"] = attachment(bundle.filename)
        return response
