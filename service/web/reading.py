"""The reading room: the catalogue, a policy in force or at any date or version, versions, redlines, lineage, print."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request
from flask.wrappers import Response
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import Connection

from events.domain.canonical import format_time, parse_time
from events.domain.streams import stream_for
from projections import catalog, documents
from service import accounts, queries
from service.bootstrap import services
from service.content import controlled
from service.content.diffing import diff_words
from service.http.caching import IMMUTABLE, REVALIDATE, conditional, make_etag, not_modified
from service.http.guards import PATH_ID
from service.http.rendered import Rendered, answers

from .people import current_user
from .redline import redline

reading = Blueprint("reading", __name__, template_folder="templates")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
CATALOGUE_PAGE = 100


def now() -> str:
    """Return the ledger's clock reading as stored text."""
    return format_time(services().ledger.clock())


def _cache_control(directive: str) -> str:
    # A signed-in reader's pages name them in the header: only their own browser may keep those.
    if current_user() is not None or not current_app.config["ANONYMOUS_READS"]:
        return "private, " + directive
    return "public, " + directive


def _readable() -> None:
    """Let anyone read published content, unless the deployment turned anonymous reads off."""
    if not current_app.config["ANONYMOUS_READS"]:
        from .people import require_user
        require_user()


def _page_etag(stream_version: int, *parts: Any) -> str:
    user = current_user()
    return make_etag(stream_version, "page", str(get_locale()), user.name if user else None,
                     current_app.config["INSTITUTION"], *parts)


def _answer(html: str, etag: str, directive: str) -> Response:
    conditional(etag, _cache_control(directive))
    return Response(html, mimetype="text/html")


def _policy(connection: Connection, pid: str) -> dict[str, Any]:
    if not PATH_ID.fullmatch(pid):
        abort(404)
    row = catalog.get(connection, pid)
    if row is None:
        abort(404, _("There is no policy %(pid)s.", pid=pid))
    return row


def _people(connection: Connection, names: set[str]) -> dict[str, accounts.User]:
    found = {}
    for name in names:
        user = accounts.find(connection, name)
        if user is not None:
            found[name] = user
    return found


def moment_asked(value: str) -> str:
    """Return the time a reader asked about: a day means the end of that day in the deployment's time zone."""
    value = value.strip()
    try:
        if DATE.fullmatch(value):
            zone = ZoneInfo(current_app.config["TIMEZONE"])
            end = datetime.combine(date.fromisoformat(value), time(), tzinfo=zone) + timedelta(days=1, microseconds=-1)
            moment = end
        else:
            moment = parse_time(value)
        if not 1000 <= moment.year <= 9999:
            raise ValueError(value)
        return format_time(moment)
    except (ValueError, OverflowError):
        abort(400, _("“%(value)s” is not a date (YYYY-MM-DD) or a time.", value=value))


@reading.get("/")
def catalogue() -> Response:
    """Every policy: title, language, the version in force, its effective date, the next review due."""
    _readable()
    after = request.args.get("after") or None
    clock = now()
    with queries.snapshot() as connection:
        rows = queries.catalogue(connection, after, CATALOGUE_PAGE + 1, clock)
    more = len(rows) > CATALOGUE_PAGE
    rows = rows[:CATALOGUE_PAGE]
    etag = _page_etag(0, "catalogue", after, [(r["policy_id"], r["stream_version"]) for r in rows], clock[:10])
    if not_modified(etag):
        return _answer("", etag, REVALIDATE)
    # Reviews falling due within the days the worker starts reminding people are marked too.
    soon = format_time(parse_time(clock) + timedelta(days=current_app.config.get("REVIEW_REMINDER_DAYS") or 30))
    html = render_template("web/catalogue.html", policies=rows, now=clock, soon=soon,
                           next_after=rows[-1]["policy_id"] if more and rows else None)
    return _answer(html, etag, REVALIDATE)


def _version_asked(connection: Connection, pid: str,
                   retired_from: str | None = None) -> tuple[dict[str, Any] | None, dict[str, Any] | None, str]:
    """Return the version a reader asked for (?version=N, ?at=, or in force now; none once the policy is
    retired), the next one scheduled after it, and the moment it was asked about."""
    asked = request.args.get("version")
    if asked:
        if not asked.isdigit() or not 1 <= int(asked) < 2**31:
            abort(404)
        found = documents.get(connection, pid, int(asked))
        if found is None:
            abort(404, _("Policy %(pid)s has no version %(version)s.", pid=pid, version=asked))
        return found, None, now()
    at = moment_asked(request.args["at"]) if request.args.get("at") else now()
    if retired_from is not None and at >= retired_from:
        return None, None, at
    return documents.in_force(connection, pid, at), documents.scheduled(connection, pid, at), at


@reading.get("/policies/<pid>")
def policy(pid: str) -> Response:
    """The policy in force now, or at a date, or one version, with who approved it."""
    _readable()
    if current_user() is None and set(request.args) <= {"lang"}:
        return _in_force_now(pid)
    page = _policy_page(pid)
    if page.html is None:
        return _answer("", page.etag, REVALIDATE)  # the client has it: not rendered
    response = _answer(page.html, page.etag, REVALIDATE)
    response.status_code = page.status
    return response


@dataclass(frozen=True)
class _Page:
    """A policy page: its HTML (None when the client already has it), ETag, status, and when it stops being true."""

    html: str | None
    etag: str
    status: int
    until: str | None


def _in_force_now(pid: str) -> Response:
    """The policy in force now, for a visitor: rendered once per change of the policy's stream and language.

    The page visitors open most. Checked against the stream's version in the log on every request (as the
    API's in-force answer is), so a write by any worker or host is seen at once.
    """
    if not PATH_ID.fullmatch(pid):
        abort(404)
    token = services().store.change_token()  # before anything is read: a write after it makes the page stale
    version = services().store.stream_version(stream_for(pid))
    if version == 0:
        abort(404, _("There is no policy %(pid)s.", pid=pid))
    key, clock, kept = f"page {pid} {get_locale()}", now(), answers()
    rendered = kept.get(key, version, clock)
    if rendered is not None and rendered.token != token:
        kept.put(key, replace(rendered, token=token))  # still the page: the writes since were elsewhere
    if rendered is None:
        page = _policy_page(pid, render=True)
        if page.status != 200 or page.html is None:
            response = _answer(page.html or "", page.etag, REVALIDATE)
            response.status_code = page.status
            return response
        rendered = Rendered(stream_version=version, until=page.until, etag=page.etag, body=page.html.encode("utf-8"),
                            token=token, cache_control=_cache_control(REVALIDATE), vary="Cookie, Accept-Language")
        kept.put(key, rendered)
    conditional(rendered.etag, _cache_control(REVALIDATE))
    return Response(rendered.body, mimetype="text/html")


def _policy_page(pid: str, render: bool = False) -> _Page:
    """Read and render the policy page asked for (unless the client has it and `render` is false)."""
    with queries.snapshot() as connection:
        row = _policy(connection, pid)
        found, upcoming, at = _version_asked(connection, pid, row["retired_from"])
        retired_now = row["retired_from"] is not None and now() >= row["retired_from"]
        current = (None if retired_now else documents.in_force(connection, pid, now())) if (
            "at" in request.args or "version" in request.args) else found
        approvers = _people(connection, {a["approver"] for a in (found or {}).get("approvers", [])})
    etag = _page_etag(row["stream_version"], "policy", found and found["version"], upcoming and upcoming["version"],
                      current and current["version"], request.args.get("at"), request.args.get("version"))
    ends = [moment for moment in (upcoming and upcoming["effective_from"], row["retired_from"]) if moment]
    until = min(ends) if ends else None
    status = 200 if found is not None else 404
    if not render and not_modified(etag):
        return _Page(None, etag, status, until)
    html = render_template("web/policy.html", policy=row, document=found, upcoming=upcoming, at=at,
                           asked_at=request.args.get("at"), current=current, approvers=approvers)
    return _Page(html, etag, status, until)


@reading.get("/policies/<pid>/versions")
def versions(pid: str) -> Response:
    """Every published version, with dates, summaries and approvers; two to compare."""
    _readable()
    with queries.snapshot() as connection:
        row = _policy(connection, pid)
        items = documents.page(connection, pid, None, 10_000)
        people = _people(connection, {a["approver"] for v in items for a in v["approvers"]})
    etag = _page_etag(row["stream_version"], "versions")
    if not_modified(etag):
        return _answer("", etag, REVALIDATE)
    return _answer(render_template("web/versions.html", policy=row, versions=items, people=people), etag,
                   REVALIDATE)


def _version_number(name: str) -> int:
    value = request.args.get(name, "")
    if not value.isdigit() or not 1 <= int(value) < 2**31:
        abort(400, _("Choose two versions to compare."))
    return int(value)


@reading.get("/policies/<pid>/diff")
def diff(pid: str) -> Response:
    """The redline between any two versions."""
    _readable()
    old_number, new_number = _version_number("from"), _version_number("to")
    with queries.snapshot() as connection:
        row = _policy(connection, pid)
        old, new = documents.get(connection, pid, old_number), documents.get(connection, pid, new_number)
        numbers = [v["version"] for v in documents.page(connection, pid, None, 10_000)]
    if old is None or new is None:
        abort(404, _("Policy %(pid)s has no version %(version)s.", pid=pid,
                     version=old_number if old is None else new_number))
    etag = _page_etag(row["stream_version"], "diff", old_number, new_number)
    if not_modified(etag):
        return _answer("", etag, IMMUTABLE)
    html = render_template("web/diff.html", policy=row, old=old, new=new, redline=redline(old, new), numbers=numbers)
    return _answer(html, etag, IMMUTABLE)


@reading.get("/policies/<pid>/sections/<sid>")
def section(pid: str, sid: str) -> Response:
    """One section's lineage: every version it changed in, what changed, who proposed, reviewed and approved it."""
    _readable()
    if not PATH_ID.fullmatch(sid):
        abort(404)
    with queries.snapshot() as connection:
        row = _policy(connection, pid)
        lineage = queries.lineage(connection, pid, sid)
        names = {item["author"] for item in lineage} | {item["publisher"] for item in lineage}
        names |= {r["reviewer"] for item in lineage for r in item["reviews"]}
        names |= {a["approver"] for item in lineage for a in item["approvals"]}
        people = _people(connection, names)
    if not lineage:
        abort(404, _("No published version of %(pid)s has the section %(sid)s.", pid=pid, sid=sid))
    previous: str | None = None
    for item in lineage:
        item["segments"] = diff_words(previous or "", item["text"] or "") if item["text"] is not None else None
        item["was"] = previous
        previous = item["text"]
    etag = _page_etag(row["stream_version"], "section", sid)
    if not_modified(etag):
        return _answer("", etag, REVALIDATE)
    return _answer(render_template("web/section.html", policy=row, section_id=sid, lineage=lineage, people=people),
                   etag, REVALIDATE)


@reading.get("/policies/<pid>/copy.<kind>")
def controlled_copy(pid: str, kind: str) -> Response:
    """A controlled copy of a version as PDF or Word, printed now: the document and who approved it."""
    _readable()
    if kind not in controlled.CONTENT_TYPES:
        abort(404)
    with queries.snapshot() as connection:
        _policy(connection, pid)
        found, _upcoming, _at = _version_asked(connection, pid)
        if found is None:
            abort(404, _("Nothing of %(pid)s is in force at that time.", pid=pid))
        stamp = queries.copy_stamp(connection, pid, found, now())
    answer = Response(controlled.controlled_copy(kind, {**found, "id": pid}, stamp),
                      mimetype=controlled.CONTENT_TYPES[kind])
    name = controlled.file_name(pid, found["version"], kind)
    answer.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    answer.headers["Cache-Control"] = "no-cache"  # each copy names the moment it was printed
    return answer


@reading.get("/policies/<pid>/print")
def printable(pid: str) -> Response:
    """A version laid out for paper: the document and its signature manifest."""
    _readable()
    with queries.snapshot() as connection:
        row = _policy(connection, pid)
        found, _upcoming, _at = _version_asked(connection, pid, row["retired_from"])
        if found is None:
            abort(404, _("Nothing of %(pid)s is in force at that time.", pid=pid))
        trail = queries.revision(connection, pid, found["revision_id"])
        assert trail is not None
        people = _people(connection, {a["approver"] for a in trail["approvals"]} | {found["author"]})
    etag = _page_etag(row["stream_version"], "print", found["version"])
    if not_modified(etag):
        return _answer("", etag, IMMUTABLE)
    html = render_template("web/print.html", policy=row, document=found, people=people, printed_at=now(),
                           signatures=[a for a in trail["approvals"] if not a["void"]])
    return _answer(html, etag, REVALIDATE)
