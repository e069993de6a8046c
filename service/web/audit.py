"""The auditor's console: the log newest first, the chain verified, checkpoints, downloads, a policy replayed."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.wrappers import Response
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.wrappers import Response as WerkzeugResponse

from events.domain.errors import DomainError
from events.store.tables import events
from projections import audit as trail
from projections import catalog
from service import queries
from service.bootstrap import services
from service.evidence import bundle as evidence
from service.evidence import checkpoints
from service.evidence import trail as trail_file
from service.http.downloads import attachment
from service.http.guards import PATH_ID
from service.ops import observability

from .people import require_user
from .reading import moment_asked

console = Blueprint("audit_console", __name__, url_prefix="/audit")
PAGE = 50
LAST_VERIFICATION = "last_verification"


def _position(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 2**62:
        abort(400, _("A log position is a whole number from 1."))
    return int(value)


def _filters() -> dict[str, Any]:
    policy = request.args.get("policy", "").strip() or None
    if policy is not None and not PATH_ID.fullmatch(policy):
        abort(400, _("There is no policy %(pid)s.", pid=policy))
    action = request.args.get("action", "").strip() or None
    if action is not None and action not in trail.ACTIONS:
        abort(400, _("Choose an action from the list."))
    actor = request.args.get("actor", "").strip() or None
    since = moment_asked(request.args["since"]) if request.args.get("since", "").strip() else None
    until = moment_asked(request.args["until"]) if request.args.get("until", "").strip() else None
    return {"policy_id": policy, "actor": actor, "action": action, "since": since, "until": until}


@console.get("")
def log() -> str:
    """The global log, newest first, filtered and paged so that no event is ever skipped."""
    require_user("auditor")
    filters = _filters()
    before = _position("before")
    with queries.snapshot() as connection:
        rows = trail.log_page(connection, before=before, limit=PAGE + 1, **filters)
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        hashes = dict(connection.execute(select(events.c.position, events.c.hash).where(
            events.c.position.in_([r["position"] for r in rows]))).all()) if rows else {}
        policies = [r["policy_id"] for r in catalog.page(connection, None, 1000)]
        head = services().store.head(connection)
        signed = checkpoints.page(services().engine, None, 1000)
    key = checkpoints.signing_key()
    public = key.private.public_key()
    for checkpoint in signed:
        checkpoint["valid"] = checkpoint["key_id"] == key.key_id and checkpoints.verify_checkpoint(checkpoint, public)
    return render_template("web/audit.html", rows=rows, hashes=hashes, filters=filters, raw=request.args,
                           next_before=rows[-1]["position"] if more and rows else None, policies=policies,
                           actions=trail.ACTIONS, head=head, checkpoints=list(reversed(signed)),
                           verification=session.get(LAST_VERIFICATION), key_id=key.key_id)


@console.post("/verify")
def verify() -> WerkzeugResponse:
    """Walk the whole chain now; the console shows the result."""
    require_user("auditor")
    result = observability.verify(services().store)
    up_to = result.checked_up_to
    session[LAST_VERIFICATION] = {"ok": result.ok, "events_checked": result.events_checked,
                                  "first_bad_position": result.first_bad_position, "problem": result.problem,
                                  "checkpoints_checked": result.checkpoints_checked,
                                  "checked_up_to": up_to["position"] if up_to else None}
    return redirect(url_for("audit_console.log"), 303)


def _known_policy(pid: str) -> None:
    if not PATH_ID.fullmatch(pid):
        abort(404)
    try:
        evidence.require_policy(services().store, pid)
    except DomainError:
        abort(404, _("There is no policy %(pid)s.", pid=pid))


@console.get("/policies/<pid>/audit.csv")
def audit_csv(pid: str) -> Response:
    """The policy's responsibility audit trail as CSV (UTF-8 with a BOM, so spreadsheets read Kyrgyz)."""
    require_user("auditor")
    _known_policy(pid)
    rows = trail_file.rows(services().engine, pid, None, {})
    response = Response(trail_file.as_csv(rows), mimetype="text/csv")
    response.headers["Content-Disposition"] = attachment(f"{pid}-audit.csv")
    return response


@console.get("/policies/<pid>/bundle")
def bundle(pid: str) -> Response:
    """The policy's offline evidence bundle, up to a checkpoint signed now."""
    require_user("auditor")
    _known_policy(pid)
    made = evidence.build(services().store, checkpoints.signing_key(), pid)
    response = Response(made.chunks, mimetype="application/json")
    response.headers["Content-Disposition"] = attachment(made.filename)
    return response


@console.get("/replay")
def replay() -> str:
    """A policy's state rebuilt from the log up to a position: in force then, newest, every revision."""
    require_user("auditor")
    pid = request.args.get("policy", "").strip()
    if not pid:
        return redirect(url_for("audit_console.log"))  # type: ignore[return-value]
    _known_policy(pid)
    position = _position("position")
    try:
        state = evidence.replay(services().store, pid, position)
    except DomainError as error:
        abort(400, error.message)
    return render_template("web/replay.html", state=state)
