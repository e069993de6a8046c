"""Acknowledgement campaigns: ask people to acknowledge a version by a date, and read who has."""
from __future__ import annotations

import dataclasses
from typing import Any

from flask import Response, url_for
from flask.views import MethodView

from events.domain import commands as cmd
from events.domain.errors import NotFound
from service.api import common
from service.api.common import QUERY, WRITE_HEADERS, WRITE_PROBLEMS, Parsed, policy_row, reading
from service.http.caching import STAFF, conditional, make_etag
from service.http.downloads import attachment
from service.http.security import roles
from service.http.writes import run, write
from service.queries import campaigns as found_campaigns

from . import schemas as s

blp = common.Blueprint("campaigns", __name__, url_prefix="/api/v1/policies", description=(
    "Acknowledgement campaigns: administrators ask people, by role or by name, to acknowledge a version by a "
    "date; a substantive new version asks the same people again, an editorial one does not. Write bodies must "
    "be sent as `application/json` (otherwise 415); writes take `If-Match` and `Idempotency-Key`."))
Headers = dict[str, str]
ROSTER_READERS = ("admin", "auditor")


@blp.route("/<pid>/versions/<int:number>/campaigns")
class Campaigns(MethodView):
    @write("admin")
    @blp.arguments(s.CampaignInput())
    @blp.response(201, s.CampaignCreated, headers={"Location": {"schema": {"type": "string"}}})
    @blp.problems(*WRITE_PROBLEMS, headers=WRITE_HEADERS)
    def post(self, body: Parsed[cmd.StartCampaign], pid: str, number: int) -> tuple[dict[str, Any], Headers]:
        """Ask the holders of the roles and the named users (each must exist) to acknowledge the version by `due`."""
        command = body.command(policy_id=pid, version=number)
        with reading() as connection:
            policy_row(connection, pid)
            command = dataclasses.replace(command, audience=found_campaigns.audience(connection, command.roles,
                                                                                     command.users))
        cid = run(command, "admin", reason=body.reason).result["campaign_id"]
        with reading() as connection:
            found = found_campaigns.roster(connection, pid, cid)
        assert found is not None
        return ({"id": cid, "version": found["version"], "due": found["due"]},
                {"Location": url_for("campaigns.Campaign", pid=pid, number=number, cid=cid)})


@blp.route("/<pid>/versions/<int:number>/campaigns/<cid>")
class Campaign(MethodView):
    @roles(*ROSTER_READERS)
    @blp.arguments(s.RosterQuery(), **QUERY)
    @blp.response(200, s.Roster)
    @blp.alt_response(200, schema={"type": "string"}, content_type="text/csv", success=True,
                      description="the roster as CSV (format=csv)")
    @blp.problems(401, 403, 404, 422)
    def get(self, args: dict[str, Any], pid: str, number: int, cid: str) -> Any:
        """Who the campaign asks, when each acknowledged (null: not yet), how many have, and the rate."""
        with reading() as connection:
            row = policy_row(connection, pid)
            found = found_campaigns.roster(connection, pid, cid)
        if found is None or found["version"] != number:
            raise NotFound(f"no campaign {cid!r} for version {number} of policy {pid!r}", field="cid")
        if args["format"] == "csv":
            response = Response(found_campaigns.as_csv(found), mimetype="text/csv")
            response.headers["Content-Disposition"] = attachment(f"{pid}-v{number}-{cid}.csv")
            response.headers["Cache-Control"] = "private, no-cache"
            return response
        conditional(make_etag(row["stream_version"], "campaign", cid, found["acknowledged"]), STAFF)
        return found
