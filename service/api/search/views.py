"""Full-text search over the policies in force, or (staff) over every version they ever had."""
from __future__ import annotations

from typing import Any

from flask.views import MethodView
from werkzeug.exceptions import UnprocessableEntity

from events.domain.rules import ROLES
from projections.search import QueryError
from service.api import common
from service.api.common import QUERY, now, reading
from service.http.caching import FROM_BODY, REVALIDATE, STAFF, conditional
from service.http.paging import encode_cursor
from service.http.problems import refusal
from service.http.security import published, require
from service.queries.search import search_page

from . import schemas as s

blp = common.Blueprint("search", __name__, url_prefix="/api/v1",
                       description="Full-text search, section by section, in any script.")


@blp.route("/search")
class Search(MethodView):
    @published
    @blp.arguments(s.SearchQuery(), **QUERY)
    @blp.response(200, s.SearchPage)
    @blp.problems(401, 403, 422)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Find sections by their words: the versions in force first, ranked; `in=all` searches every version."""
        every_version = args["scope"] == "all"
        if every_version:
            require(*ROLES)
        position = args.get("cursor", 0)
        try:
            with reading() as connection:
                found, following = search_page(connection, args["q"], at=now(), every_version=every_version,
                                               language=args.get("language"), policy_id=args.get("policy"),
                                               position=position, limit=args["limit"])
        except QueryError as error:
            raise refusal(UnprocessableEntity, str(error), messages={"query": {"q": [str(error)]}}) from None
        conditional(FROM_BODY, STAFF if every_version else common.public(REVALIDATE))
        return {"items": found, "next_cursor": None if following is None else encode_cursor(following)}
