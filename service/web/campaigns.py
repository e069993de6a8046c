"""Acknowledgement campaigns on the workspace side: administrators start one and read its roster (auditors read)."""
from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from events.domain import commands as cmd
from events.domain import errors
from events.domain.rules import ROLES
from projections import campaigns as campaign_model
from projections import documents
from service import queries
from service.http.downloads import attachment
from service.http.guards import PATH_ID
from service.queries import campaigns as found_campaigns

from .people import require_user
from .reading import now
from .workspace import _day_or_time, _policy, _status, new_form_key, refusal_message, run

campaigns = Blueprint("campaign_pages", __name__)
READERS = ("admin", "auditor")


@campaigns.after_request
def _never_kept(response: WerkzeugResponse) -> WerkzeugResponse:
    """Rosters name people and carry forms with one-time keys: no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _names(value: str) -> tuple[str, ...]:
    """Read user names given one a line or separated by commas."""
    return tuple(name.strip() for line in value.splitlines() for name in line.split(",") if name.strip())


@campaigns.route("/policies/<pid>/campaigns", methods=["GET", "POST"])
def campaign_list(pid: str) -> Any:
    """A policy's campaigns, newest first, each with its rate; administrators start one."""
    user = require_user(*READERS)
    policy = _policy(pid)
    error, status = None, 200
    form = request.form
    if request.method == "POST":
        try:
            version = form.get("version", "")
            if not version.isdigit() or not 1 <= int(version) < 2**31:
                raise errors.InvalidInput(_("Choose a version."), field="version")
            command = cmd.StartCampaign(policy_id=pid, version=int(version),
                                        due=_day_or_time(form.get("due", ""), "due"),
                                        roles=tuple(form.getlist("roles")), users=_names(form.get("users", "")))
            if "admin" not in user.roles:
                raise errors.Forbidden(_("This needs one of the roles: %(roles)s.", roles="admin"), field="role")
            with queries.snapshot() as connection:
                command = dataclasses.replace(command, audience=found_campaigns.audience(connection, command.roles,
                                                                                        command.users))
            cid = run(command, user, "admin")["campaign_id"]
            return redirect(url_for("campaign_pages.campaign", pid=pid, cid=cid), 303)
        except errors.DomainError as refused:
            error, status = refusal_message(refused), _status(refused)
    with queries.snapshot() as connection:
        items = [found_campaigns.roster(connection, pid, c["campaign_id"])
                 for c in campaign_model.of_policy(connection, pid)]
        versions = documents.page(connection, pid, None, 10_000)
    return render_template("web/campaigns.html", policy=policy, campaigns=items, versions=versions, roles=ROLES,
                           error=error, user=user, form_key=new_form_key(), asked=form), status


def _roster(pid: str, cid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    policy = _policy(pid)
    if not PATH_ID.fullmatch(cid):
        abort(404)
    with queries.snapshot() as connection:
        found = found_campaigns.roster(connection, pid, cid)
    if found is None:
        abort(404, _("Policy %(pid)s has no campaign %(cid)s.", pid=pid, cid=cid))
    return policy, found


@campaigns.get("/policies/<pid>/campaigns/<cid>")
def campaign(pid: str, cid: str) -> str:
    """One campaign's roster: who was asked, who has acknowledged and when, who has not, the rate."""
    require_user(*READERS)
    policy, found = _roster(pid, cid)
    return render_template("web/campaign.html", policy=policy, campaign=found, now=now())


@campaigns.get("/policies/<pid>/campaigns/<cid>/roster.csv")
def roster_csv(pid: str, cid: str) -> Response:
    """The roster as a CSV file (UTF-8 with a BOM, so spreadsheets keep Kyrgyz names)."""
    require_user(*READERS)
    _policy_row, found = _roster(pid, cid)
    response = Response(found_campaigns.as_csv(found), mimetype="text/csv")
    response.headers["Content-Disposition"] = attachment(f"{pid}-v{found['version']}-{cid}.csv")
    return response
