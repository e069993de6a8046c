"""The search page: sections of the policies in force (or, for staff, of every version) by their words."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.wrappers import Response
from flask_babel import gettext as _

from projections.search import QueryError
from service import queries
from service.http.caching import FROM_BODY, REVALIDATE, STAFF, conditional
from service.http.guards import PATH_ID
from service.queries.search import search_page

from .people import current_user, require_user
from .reading import _cache_control, _readable, now
from .workspace import STAFF_ROLES

finding = Blueprint("finding", __name__, template_folder="templates")
RESULTS_PAGE = 20


def _problem(error: QueryError) -> str:
    """Say in the reader's language why a query cannot be searched."""
    return {
        "empty": _("Type a word to search for."),
        "unbalanced": _("A quotation mark is not closed: put a phrase between two of them."),
        "no_words": _("The query has no words to search for."),
        "too_long": _("The query is too long."),
        "too_many": _("The query has too many words."),
    }.get(error.code, str(error))


@finding.get("/search")
def search() -> Response:
    """Search: a box, and the sections found, ranked, each linked to its place in the version shown."""
    _readable()
    every_version = request.args.get("in") == "all"
    user = current_user()
    if every_version:
        user = require_user(*STAFF_ROLES)
    text = request.args.get("q")
    policy = request.args.get("policy") or None
    if policy is not None and not PATH_ID.fullmatch(policy):
        policy = None
    start = request.args.get("from", "0")
    position = int(start) if start.isdigit() and len(start) < 16 else 0
    results, following, error = None, None, None
    if text is not None:
        try:
            with queries.snapshot() as connection:
                results, following = search_page(connection, text, at=now(), every_version=every_version,
                                                  policy_id=policy, position=position, limit=RESULTS_PAGE)
        except QueryError as refused:
            error = _problem(refused)
    html = render_template("web/search.html", q=text or "", results=results, error=error,
                           every_version=every_version, staff=user is not None and user.principal.has(*STAFF_ROLES),
                           policy=policy, next_from=following)
    conditional(FROM_BODY, STAFF if every_version else _cache_control(REVALIDATE))
    return Response(html, status=400 if error else 200, mimetype="text/html")
