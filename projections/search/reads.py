"""Reads of the search read model: sections matching a query, in force at a time or in any version, ranked.

Matched by the database's engine (SQLite FTS5, PostgreSQL full-text search), never by scanning the text.
Ranked: in any version, the sections the versions in force hold come first; then sections matching every
word as written (ү as ү) before those matching only as folded (у typed for ү); then the engine's relevance.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from .text import Query

# PostgreSQL: every word is looked up as written and as each stemmer indexing some language stems it.
_CONFIGS = ("simple", "russian", "english", "german", "arabic", "french", "turkish")

# Each policy's version in force at :at and its newest version: one short descent of an index per policy.
_POLICIES = """SELECT p.policy_id,
    (SELECT v.version FROM search_versions v WHERE v.policy_id = p.policy_id AND v.effective_from <= :at
     ORDER BY v.effective_from DESC, v.version DESC LIMIT 1) AS in_force,
    (SELECT max(v.version) FROM search_versions v WHERE v.policy_id = p.policy_id) AS newest
    FROM search_policies p"""
_HELD = ("CASE WHEN p.in_force IS NOT NULL AND s.first_version <= p.in_force "
         "AND (s.last_version IS NULL OR s.last_version >= p.in_force) THEN 1 ELSE 0 END")


def _fts_phrase(words: tuple[str, ...], prefix: bool) -> str:
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def _fts(query: Query, folded: bool) -> str:
    """Return an FTS5 MATCH string: each term in the body as written, or (without letters folding would lose,
    and when asked) in the folded body too; every term must match."""
    parts = []
    for term in query.terms:
        written = f"body : {_fts_phrase(term.words, not term.phrase)}"
        if folded and not term.exact:
            written = f"({written} OR folded : {_fts_phrase(term.folded, not term.phrase)})"
        parts.append(written)
    return " AND ".join(parts)


def _tsquery_text(words: tuple[str, ...], phrase: bool, weight: str) -> str:
    mark = weight if phrase else f"*{weight}"
    return " <-> ".join(f"'{word}':{mark}" for word in words)


def _tsquery(query: Query, folded: bool, params: dict[str, Any], prefix: str) -> str:
    """Return SQL building a tsquery: each term as any stemmer reads it (weight A: the body), or (as in `_fts`)
    folded (weight D); parameters are added to `params`."""
    terms = []
    for n, term in enumerate(query.terms):
        name = f"{prefix}{n}"
        params[name] = _tsquery_text(term.words, term.phrase, "A")
        alternatives = [f"to_tsquery('{config}'::regconfig, :{name})" for config in _CONFIGS]
        if folded and not term.exact:
            params[f"{name}f"] = _tsquery_text(term.folded, term.phrase, "D")
            alternatives.append(f"to_tsquery('simple'::regconfig, :{name}f)")
        terms.append("(" + " || ".join(alternatives) + ")")
    return " && ".join(terms)


def find(connection: Connection, query: Query, *, at: str, every_version: bool, language: str | None = None,
         policy_id: str | None = None, offset: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """Return up to `limit` matching sections from `offset` on, ranked; each with the version it is shown in,
    whether that version is in force at `at`, and the versions that held its text."""
    params: dict[str, Any] = {"at": at, "limit": limit, "offset": offset}
    filters = ""
    if language is not None:
        filters += " AND s.language = :language"
        params["language"] = language
    if policy_id is not None:
        filters += " AND s.policy_id = :policy_id"
        params["policy_id"] = policy_id
    policies = _POLICIES + (" WHERE p.policy_id = :policy_id" if policy_id is not None else "")
    if connection.dialect.name == "postgresql":
        matches = f"""SELECT s.row_id, s.policy_id, s.first_version, s.last_version,
                             ts_rank(s.search_vector, q.query) AS score,
                             CASE WHEN s.search_vector @@ q.exact THEN 1 ELSE 0 END AS exact
            FROM search_sections s, (SELECT {_tsquery(query, True, params, 'q')} AS query,
                                            {_tsquery(query, False, params, 'e')} AS exact) q
            WHERE s.search_vector @@ q.query{filters}"""
        better = "score DESC"
    else:
        params["match"], params["exact"] = _fts(query, True), _fts(query, False)
        matches = f"""SELECT s.row_id, s.policy_id, s.first_version, s.last_version, hits.score,
                             CASE WHEN s.row_id IN (SELECT rowid FROM search_fts WHERE search_fts MATCH :exact)
                                  THEN 1 ELSE 0 END AS exact
            FROM (SELECT rowid AS row_id, bm25(search_fts, 4.0, 1.0) AS score
                  FROM search_fts WHERE search_fts MATCH :match) hits
            JOIN search_sections s ON s.row_id = hits.row_id
            WHERE 1 = 1{filters}"""
        better = "score ASC"
    # Ranked on the few columns ranking needs; the page's texts and titles are read for its rows only.
    order = f"held DESC, {{t}}exact DESC, {{t}}{better}, {{t}}policy_id, {{t}}row_id"
    statement = f"""WITH policies AS ({policies}),
        ranked AS (
            SELECT s.row_id, s.policy_id, s.first_version, s.last_version, s.score, s.exact, p.newest,
                   {_HELD} AS held,
                   CASE WHEN {_HELD} = 1 THEN p.in_force ELSE COALESCE(s.last_version, p.newest) END AS shown
            FROM ({matches}) s JOIN policies p ON p.policy_id = s.policy_id
            {"" if every_version else f"WHERE {_HELD} = 1"}
            ORDER BY {order.format(t="s.")} LIMIT :limit OFFSET :offset)
        SELECT r.*, t.section_id, t.label, t.body, t.language, v.title, v.effective_from
        FROM ranked r JOIN search_sections t ON t.row_id = r.row_id
        JOIN search_versions v ON v.policy_id = r.policy_id AND v.version = r.shown
        ORDER BY {order.format(t="r.")}"""
    return [{
        "policy_id": row.policy_id, "language": row.language, "title": row.title, "version": row.shown,
        "in_force": bool(row.held),
        "effective_from": row.effective_from, "section_id": row.section_id, "label": row.label,
        "first_version": row.first_version, "last_version": row.last_version or row.newest,
        "exact": bool(row.exact), "body": row.body,
    } for row in connection.execute(text(statement), params)]
