"""Full-text search, shared by the API, the pages and the command line: a page of sections with snippets."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from projections import search


def search_page(connection: Connection, text: str, *, at: str, every_version: bool = False,
                language: str | None = None, policy_id: str | None = None, position: int = 0,
                limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    """Return up to `limit` matching sections from a position in the ranked list on, each with a snippet
    marking the matched words, and the position of the next page (None after the last).

    Raises `projections.search.QueryError`, saying why, for a query that cannot be searched for.
    """
    query = search.parse(text)
    found, following = search.find(connection, query, at=at, every_version=every_version, language=language,
                                   policy_id=policy_id, position=position, limit=limit)
    for item in found:
        item["snippet"] = search.snippet(item.pop("body"), query)
        item["versions"] = {"from": item.pop("first_version"), "to": item.pop("last_version")}
    return found, following
