"""The workspace: the inbox, drafting, review, signatures and publication, history and responsibilities.

Every form calls the same use case as the API (`Ledger.handle` with a command), as the signed-in user: a
rule holds the same way on both. A form carries the policy's stream version (a stale page is refused, as
`If-Match` is, and shows what changed since) and an idempotency key (a double click appends once). A
refusal is answered on the page, in words, and changes nothing.
"""
from __future__ import annotations

import json
import secrets
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response as WerkzeugResponse

from events.application import Context
from events.domain import commands as cmd
from events.domain import errors
from events.domain.canonical import parse_time
from events.domain.document import KINDS
from events.domain.policy import Actor
from events.domain.rules import MEANINGS, PARTY_KINDS, PERIODIC_OUTCOMES
from projections import audit, catalog, documents, revisions
from service import accounts, delegations, queries
from service.bootstrap import services
from service.http import signing
from service.http.guards import PATH_ID
from service.queries.inbox import inbox as inbox_of

from .people import require_user
from .reading import moment_asked, now
from .redline import redline

workspace = Blueprint("workspace", __name__)
STAFF_ROLES = ("author", "reviewer", "approver", "auditor", "admin", "staff")


@workspace.after_request
def _never_kept(response: WerkzeugResponse) -> WerkzeugResponse:
    """Staff pages carry forms with one-time keys and name their reader: no cache keeps them."""
    response.headers["Cache-Control"] = "no-store"
    return response


def _policy(pid: str) -> dict[str, Any]:
    if not PATH_ID.fullmatch(pid):
        abort(404)
    with queries.snapshot() as connection:
        row = catalog.get(connection, pid)
    if row is None:
        abort(404, _("There is no policy %(pid)s.", pid=pid))
    return row


def refusal_message(error: errors.DomainError) -> str:
    """Say in words, in the reader's language, why the rules refused an action (the detail as the rule gave it)."""
    headline = {
        "separation_of_duties": _("The author of a revision cannot review, sign, publish or reject it."),
        "wrong_state": _("The revision is not in a state that allows this."),
        "approval_rule_not_met": _("The approval rule is not met yet."),
        "revision_conflict": _("Sections this revision changes were changed by a newer version."),
        "concurrency_conflict": _("Someone changed this policy since you loaded the page; nothing was saved."),
        "forbidden": _("Your role does not allow this."),
        "not_found": _("Something this form names does not exist."),
        "invalid_input": _("Something in the form is not right."),
        "already_exists": _("That already exists."),
    }.get(error.code, _("The rules refused this."))
    return f"{headline} {error.message}"


def _form_key(user: accounts.User) -> str | None:
    token = request.form.get("form_key", "")
    if not token or len(token) > 64:
        return None
    return f"{user.name}:page:{token}"


def _form_number(name: str, below: int = 2**31) -> int | None:
    value = request.form.get(name, "")
    return int(value) if value.isdigit() and int(value) < below else None


def run(command: cmd.Command, user: accounts.User, *roles: str, reason: str | None = None) -> dict[str, Any]:
    """Run one command as the signed-in user, acting in the first of the roles they hold.

    A form made from a page carries the policy's stream version then (`stream_version`), and a revision's
    form also that revision's (`revision_version`): the command runs as with If-Match, so a page made before
    someone else's change is refused as stale. When only other revisions of the policy moved since, the
    revision is as the page showed it, and the command is run again on the newer version.
    """
    held = [role for role in roles if role in user.roles]
    if roles and not held:
        raise errors.Forbidden(_("This needs one of the roles: %(roles)s.", roles=", ".join(roles)), field="role")
    expected = _form_number("stream_version")
    shown = _form_number("revision_version")
    revision_id = getattr(command, "revision_id", None)
    for _attempt in range(5):
        context = Context(actor=Actor(name=user.name, role=held[0] if held else user.roles[0]),
                          reason=reason or None, idempotency_key=_form_key(user), expected_version=expected,
                          correlation_id=g.get("request_id"))
        try:
            return services().ledger.handle(command, context).result
        except errors.ConcurrencyError as stale:
            if revision_id is None or shown is None:
                raise
            with queries.snapshot() as connection:
                now_at = revisions.get(connection, revision_id)
            if now_at is None or now_at["stream_version"] != shown:
                raise
            expected = stale.actual
    raise errors.ConcurrencyError(_("The policy keeps changing; try again."), expected=expected or 0,
                                  actual=expected or 0)


def new_form_key() -> str:
    """Return a fresh key for one rendering of a form (sent back with it, so a resubmission appends once)."""
    return secrets.token_urlsafe(16)


def _day_or_time(value: str, field: str) -> datetime:
    value = value.strip()
    if not value:
        raise errors.InvalidInput(_("Give a date."), field=field)
    try:
        if len(value) == 10:
            zone = ZoneInfo(current_app.config["TIMEZONE"])
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=zone)
        return parse_time(value)
    except ValueError:
        raise errors.InvalidInput(_("“%(value)s” is not a date.", value=value), field=field) from None


def _effective_from(value: str) -> datetime:
    """Read a publication's effective date: today means from now (no reason needed), another day from its start."""
    moment = _day_or_time(value, "effective_from")
    clock = parse_time(now())
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    if len(value.strip()) == 10 and moment.date() == clock.astimezone(zone).date():
        return clock
    return moment


# ---- the inbox -----------------------------------------------------------------------------------

@workspace.get("/inbox")
def inbox() -> str:
    """What waits for the signed-in user."""
    user = require_user(*STAFF_ROLES)
    with queries.snapshot() as connection:
        found = inbox_of(connection, user, now())
    return render_template("web/inbox.html", inbox=found, form_key=new_form_key())


# ---- revisions -------------------------------------------------------------------------------------

@workspace.route("/policies/<pid>/revisions", methods=["GET", "POST"])
def revision_list(pid: str) -> Any:
    """A policy's revisions, and a form to open one."""
    user = require_user(*STAFF_ROLES)
    policy = _policy(pid)
    error, status = None, 200
    if request.method == "POST":
        try:
            summary = request.form.get("summary", "").strip()
            opening: cmd.Command = (cmd.OpenRetirement(policy_id=pid, summary=summary) if request.form.get("retire")
                                    else cmd.OpenRevision(policy_id=pid, summary=summary))
            opened = run(opening, user, "author")
            return redirect(url_for("workspace.revision", pid=pid, rid=opened["revision_id"]), 303)
        except errors.DomainError as refused:
            error, status = refusal_message(refused), _status(refused)
    with queries.snapshot() as connection:
        items = revisions.page(connection, pid, None, None, 1000)
    return render_template("web/revisions.html", policy=policy, revisions=items, error=error,
                           form_key=new_form_key()), status


def _status(error: errors.DomainError) -> int:
    if isinstance(error, errors.ConcurrencyError):
        return 409
    for kind, code in ((errors.InvalidInput, 422), (errors.NotFound, 404), (errors.Forbidden, 403)):
        if isinstance(error, kind):
            return code
    return 409


def _workspace(pid: str, rid: str, user: accounts.User, error: str | None = None, status: int = 200,
               since: int | None = None) -> tuple[str, int]:
    """Render a revision's workspace (with a refusal, and what changed since the page the user acted on)."""
    if not PATH_ID.fullmatch(pid) or not PATH_ID.fullmatch(rid):
        abort(404)
    clock = now()
    with queries.snapshot() as connection:
        policy = catalog.get(connection, pid)
        found = queries.revision(connection, pid, rid) if policy is not None else None
        if policy is None or found is None:
            abort(404, _("Policy %(pid)s has no revision %(rid)s.", pid=pid, rid=rid))
        in_force = documents.in_force(connection, pid, clock)
        base = documents.get(connection, pid, found["base_version"]) if found["base_version"] else None
        reviewers = [r for r in accounts.holders(connection, "reviewer") if r.name != found["author"]]
        names = {found["author"], *found["reviewers"], *(r["reviewer"] for r in found["reviews"]),
                 *(a["approver"] for a in found["approvals"]), *(t["actor"] for t in found.get("transitions", []))}
        changed_since = audit.trail_page(connection, pid, after=since, limit=50) if since is not None else []
        names |= {row["actor"] for row in changed_since}
        names |= {a["on_behalf_of"] for a in found["approvals"] if a["on_behalf_of"]}
        names |= {u for step in found["route"] for u in (*step["users"], *step["signers"])}
        people = {name: person for name in names if (person := accounts.find(connection, name)) is not None}
        found["delegators"] = [name for name in delegations.delegators(connection, user.name, clock)
                               if name != found["author"]]
    against = in_force or base or {"title": found["preview"]["title"], "sections": []}
    preview = {"title": found["preview"]["title"], "sections": found["preview"]["sections"]}
    sections = _flat(found["preview"]["sections"])
    may = _may(found, user)
    editing = request.args.get("edit") if may["edit"] else None
    if editing is not None and editing not in {s["id"] for s in sections}:
        editing = None
    html = render_template(
        "web/workspace.html", policy=policy, revision=found, user=user, people=people, reviewers=reviewers,
        redline=redline(against, preview), against=against, in_force=in_force, meanings=MEANINGS, kinds=KINDS,
        error=error, changed_since=changed_since, form_key=new_form_key(), may=may, sections=sections,
        editing=editing, doing=request.args.get("do", "amend"), now=clock, changes=_change_rows(found["changes"]),
        conflicts=_named(found["conflicts"], sections))
    return html, status


def _flat(tree: list[dict[str, Any]], depth: int = 0, parent: str | None = None) -> list[dict[str, Any]]:
    """Return the sections in document order with their depth and parent (for the move form's choices)."""
    found = []
    for section in tree:
        found.append({**section, "depth": depth, "parent_id": parent})
        found += _flat(section.get("children") or [], depth + 1, section["id"])
    return found


def _named(section_ids: list[str], sections: list[dict[str, Any]]) -> list[str]:
    """Name sections as a reader knows them: label and the start of the title or text, then the id."""
    known = {s["id"]: s for s in sections}
    names = []
    for sid in section_ids:
        s = known.get(sid)
        words = " ".join(filter(None, (s.get("label"), (s.get("title") or s.get("text") or "")[:50]))) if s else ""
        names.append(f"«{words}» ({sid})" if words else sid)
    return names


CHANGE_ACTIONS = {"SectionAdded": "section_added", "SectionAmended": "section_amended",
                  "SectionMoved": "section_moved", "SectionRemoved": "section_removed",
                  "PolicyRetitled": "policy_retitled"}


def _change_rows(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Name each change of a revision as the audit trail does, with the section it touched."""
    rows = []
    for change in changes:
        data = json.loads(change["data"]) if isinstance(change["data"], str) else change["data"]
        rows.append({**change, "action": CHANGE_ACTIONS.get(change["type"], change["type"]),
                     "section_id": data.get("section_id")})
    return rows


def _may(found: dict[str, Any], user: accounts.User) -> dict[str, bool]:
    """Return which actions the user may take on the revision now (the rules still decide each one)."""
    author = found["author"] == user.name
    status = found["status"]
    waiting = next((step for step in found["route"] if step["status"] == "waiting"), None)
    signer = waiting is not None and (user.name in waiting["users"] or any(r in user.roles for r in waiting["roles"])
                                      or bool(found.get("delegators")))
    signed = waiting is not None and user.name in waiting["signers"]
    named = not found["reviewers"] or user.name in found["reviewers"]
    return {
        "edit": author and status == "draft" and not found["retire"],  # a retirement changes no text
        "submit": author and status == "draft" and (bool(found["changes"]) or found["retire"]),
        "withdraw": author and status in ("draft", "in_review", "approved"),
        "review": (not author and "reviewer" in user.roles and status in ("in_review", "approved") and named),
        "sign": (not author and user.principal.has("approver", "admin") and status == "in_review" and signer
                 and not signed),
        "recall": author and status in ("in_review", "approved"),
        "reviewers": author and status == "in_review",
        "publish": not author and "approver" in user.roles and status == "approved",
        "reject": not author and "approver" in user.roles and status in ("draft", "in_review", "approved"),
    }


@workspace.get("/policies/<pid>/revisions/<rid>")
def revision(pid: str, rid: str) -> tuple[str, int]:
    """The revision workspace: its status, its preview with the redline against the version in force, reviews
    and signatures with the content they saw, and the actions the signed-in user may take now."""
    user = require_user(*STAFF_ROLES)
    return _workspace(pid, rid, user)


def _changes(pid: str, rid: str) -> tuple[cmd.Change, ...]:
    """Read the one change a section's form asks for."""
    form = request.form
    op = form.get("op", "")
    section_id = form.get("section_id") or None
    if op == "amend" and section_id:
        return (cmd.AmendSection(section_id=section_id, text=form.get("text", ""),
                                 title=form.get("title") or None, label=form.get("label") or None),)
    if op == "add":
        parent, last_child = _place_of(pid, rid, section_id)
        if form.get("where") == "child":
            parent, after = section_id, last_child
        else:
            after = section_id
        return (cmd.AddSection(kind=form.get("kind", "paragraph"), parent_id=parent, after_id=after,
                               label=form.get("label") or None, title=form.get("title") or None,
                               text=form.get("text", "")),)
    if op == "move" and section_id:
        target = form.get("target", "")
        parent, _bar, after = target.partition("|")
        return (cmd.MoveSection(section_id=section_id, parent_id=parent or None, after_id=after or None),)
    if op == "remove" and section_id:
        return (cmd.RemoveSection(section_id=section_id),)
    if op == "retitle":
        return (cmd.RetitlePolicy(title=form.get("title", "")),)
    raise errors.InvalidInput(_("Choose a change to make."), field="op")


def _place_of(pid: str, rid: str, section_id: str | None) -> tuple[str | None, str | None]:
    """Return a section's parent in the revision's preview, and its last child (None for none, or no section)."""
    with queries.snapshot() as connection:
        found = queries.revision(connection, pid, rid)
    for section in _flat(found["preview"]["sections"]) if found else []:
        if section["id"] == section_id:
            children = section.get("children") or []
            return section["parent_id"], children[-1]["id"] if children else None
    return None, None


@workspace.post("/policies/<pid>/revisions/<rid>/<action>")
def act(pid: str, rid: str, action: str) -> Any:
    """Take one action on a revision; then back to the workspace (or the page again, saying why not)."""
    user = require_user(*STAFF_ROLES)
    form = request.form
    on = {"policy_id": pid, "revision_id": rid}
    reason = form.get("reason", "").strip() or None
    try:
        if action == "change":
            run(cmd.ChangeRevision(**on, changes=_changes(pid, rid)), user, "author", reason=reason)
        elif action == "submit":
            names = tuple(form.getlist("reviewers"))
            with queries.snapshot() as connection:
                accounts.check_people(connection, names, "reviewers", "reviewer", unchecked=user.name)
                for index, asked, able in accounts.short_steps(connection, queries.policy_route(connection, pid),
                                                               user.name):
                    raise errors.WrongState(_("Step %(step)s of the approval route asks for %(asked)s signatures, "
                                              "and only %(able)s people other than you can sign it.",
                                              step=index + 1, asked=asked, able=able), field="approval_rule")
            run(cmd.SubmitRevision(**on, reviewers=names), user, "author", reason=reason)
        elif action == "review":
            verdict = "approve" if form.get("verdict") == "approve" else "request_changes"
            run(cmd.ReviewRevision(**on, verdict=verdict, comment=form.get("comment", "")), user, "reviewer")
        elif action == "sign":
            try:
                who = signing.signer(user.principal, form.get("password", ""), pid, rid,
                                     form.get("on_behalf_of") or None)
            except signing.ReauthenticationFailed:
                raise errors.Forbidden(_("The password is not yours: nothing was signed."), field="password") from None
            run(cmd.ApproveRevision(**on, meaning=form.get("meaning", ""), comment=form.get("comment", ""),
                                    full_name=who.full_name, on_behalf_of=who.on_behalf_of,
                                    on_behalf_of_role=who.on_behalf_of_role), user, "approver", "admin", reason=reason)
        elif action == "recall":
            run(cmd.RecallRevision(**on), user, "author", reason=reason)
        elif action == "reviewers":
            names = tuple(form.getlist("reviewers"))
            with queries.snapshot() as connection:
                accounts.check_people(connection, names, "reviewers", "reviewer", unchecked=user.name)
            run(cmd.ChangeReviewers(**on, reviewers=names), user, "author", reason=reason)
        elif action == "publish":
            effective = _effective_from(form.get("effective_from", ""))
            run(cmd.PublishRevision(**on, effective_from=effective, editorial=form.get("editorial") == "yes"), user,
                "approver", reason=reason)
        elif action == "reject":
            run(cmd.RejectRevision(**on), user, "approver", reason=reason)
        elif action == "withdraw":
            run(cmd.WithdrawRevision(**on), user, "author", reason=reason)
        else:
            abort(404)
    except accounts.TooManyAttempts as refused:
        return _workspace(pid, rid, user, refusal_message(refused), 429)
    except errors.DomainError as refused:
        since = _seen_position() if isinstance(refused, errors.ConcurrencyError) else None
        return _workspace(pid, rid, user, refusal_message(refused), _status(refused), since)
    return redirect(url_for("workspace.revision", pid=pid, rid=rid), 303)


def _seen_position() -> int | None:
    return _form_number("seen_position", 2**62)


# ---- the policy's history and responsibilities --------------------------------------------------------

@workspace.get("/policies/<pid>/history")
def history(pid: str) -> str:
    """Every revision of the policy and every change of its state: who, in which role, when, why; periodic
    reviews, and the form to record one."""
    user = require_user(*STAFF_ROLES)
    return _history(pid, user)[0]


def _history(pid: str, user: accounts.User, error: str | None = None, status: int = 200) -> tuple[str, int]:
    policy = _policy(pid)
    with queries.snapshot() as connection:
        items = revisions.history(connection, pid, None, 10_000)
        reviews = audit.periodic_reviews_of(connection, pid)
        names = {t["actor"] for item in items for t in item["transitions"]} | {r["reviewer"] for r in reviews}
        people = {name: person for name in names if (person := accounts.find(connection, name)) is not None}
    html = render_template("web/history.html", policy=policy, revisions=items, reviews=reviews, people=people,
                           outcomes=PERIODIC_OUTCOMES, user=user, error=error, form_key=new_form_key(), now=now())
    return html, status


@workspace.route("/policies/<pid>/responsibilities", methods=["GET", "POST"])
def responsibilities(pid: str) -> Any:
    """Who answers for the policy and for each section, now or at a date; admins assign and revoke."""
    user = require_user(*STAFF_ROLES)
    policy = _policy(pid)
    error, status = None, 200
    if request.method == "POST":
        form = request.form
        try:
            if form.get("action") == "revoke":
                until = _day_or_time(form["valid_to"], "valid_to") if form.get("valid_to", "").strip() else None
                run(cmd.RevokeResponsibility(policy_id=pid, assignment_id=form.get("assignment_id", ""),
                                             valid_to=until), user, "admin", reason=form.get("reason", "").strip())
            else:
                start = (_day_or_time(form["valid_from"], "valid_from") if form.get("valid_from", "").strip()
                         else None)
                run(cmd.AssignResponsibility(policy_id=pid, party=form.get("party", "").strip(),
                                             party_kind=form.get("party_kind", "person"),
                                             section_id=form.get("section_id") or None,
                                             duty=form.get("duty", "").strip(), valid_from=start), user, "admin",
                    reason=form.get("reason", "").strip())
            return redirect(url_for("workspace.responsibilities", pid=pid), 303)
        except errors.DomainError as refused:
            error, status = refusal_message(refused), _status(refused)
    at = moment_asked(request.args["at"]) if request.args.get("at") else now()
    with queries.snapshot() as connection:
        assigned = audit.assignments_at(connection, pid, at, None, None, 10_000)
        in_force = documents.in_force(connection, pid, at) or documents.in_force(connection, pid, now())
    sections = _flat(in_force["sections"]) if in_force else []
    return render_template("web/responsibilities.html", policy=policy, assignments=assigned, at=at,
                           asked_at=request.args.get("at"), sections=sections,
                           titles={s["id"]: s for s in sections}, error=error, user=user,
                           party_kinds=PARTY_KINDS, form_key=new_form_key()), status


@workspace.post("/policies/<pid>/periodic-reviews")
def periodic_review(pid: str) -> Any:
    """Record a periodic review of the version in force."""
    user = require_user(*STAFF_ROLES)
    _policy(pid)
    try:
        run(cmd.RecordPeriodicReview(policy_id=pid, outcome=request.form.get("outcome", ""),
                                     notes=request.form.get("notes", "").strip()), user, "approver")
    except errors.DomainError as refused:
        return _history(pid, user, refusal_message(refused), _status(refused))
    return redirect(url_for("workspace.history", pid=pid), 303)


@workspace.post("/policies/<pid>/acknowledgements")
def acknowledge(pid: str) -> Any:
    """Acknowledge having read a version (bound to its content hash)."""
    user = require_user(*STAFF_ROLES)
    _policy(pid)
    version = _form_number("version")
    try:
        if version is None:
            raise errors.InvalidInput(_("Choose a version."), field="version")
        run(cmd.AcknowledgeVersion(policy_id=pid, version=version), user, *STAFF_ROLES)
    except errors.DomainError as refused:
        with queries.snapshot() as connection:
            found = inbox_of(connection, user, now())
        return render_template("web/inbox.html", inbox=found, form_key=new_form_key(),
                               error=refusal_message(refused)), _status(refused)
    back = request.form.get("back", "")
    return redirect(back if back.startswith("/") and not back.startswith("//") else url_for("workspace.inbox"), 303)
