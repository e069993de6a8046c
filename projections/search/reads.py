"""Reads of the search read model: sections matching a query, in force at a time or in any version, ranked.

Matched by the database's engine (SQLite FTS5, PostgreSQL full-text search), never by scanning the text.
Ranked in tiers: the sections the versions in force hold (with every version asked for, the others after
them); within those, sections matching every word as written (ү as ү) before those matching only as folded
(у typed for ү); within a tier, the newest text first. Each tier is read in the engine's own order of row ids
(a row's id grows with its publication's place in the log), so a page stops reading once it has its rows:
a common word costs what a rare one does, however many sections hold it.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from .text import Query

# PostgreSQL: every word is looked up as written and as each stemmer indexing some language stems it.
_CONFIGS = ("simple", "russian", "english", "german", "arabic", "french", "turkish")
TIER = 1_000_000_000  # a position in the ranked list: its tier times this, plus its place in the tier

# Each policy's version in force at :at and its newest version. The newest is in force from its effective
# date on (a version never takes effect before the one it follows); only a policy whose newest version is
# still to come needs a look at the versions before it.
_POLICIES = """SELECT p.policy_id, p.newest_version AS newest,
    CASE WHEN p.newest_effective_from <= :at THEN p.newest_version ELSE
    (SELECT v.version FROM search_versions v WHERE v.policy_id = p.policy_id AND v.effective_from <= :at
     ORDER BY v.effective_from DESC, v.version DESC LIMIT 1) END AS in_force
    FROM search_policies p"""
_HELD = ("CASE WHEN p.in_force IS NOT NULL AND s.first_version <= p.in_force "
         "AND (s.last_version IS NULL OR s.last_version >= p.in_force) THEN 1 ELSE 0 END")
_SHOWN = f"CASE WHEN {_HELD} = 1 THEN p.in_force ELSE COALESCE(s.last_version, p.newest) END"


def _fts_phrase(words: tuple[str, ...], prefix: bool) -> str:
    return '"' + " ".join(words) + '"' + ("*" if prefix else "")


def _fts(query: Query, every_form: bool) -> str:
    """Return an FTS5 MATCH string, every term required: each as written in the body, or (`every_form`, for
    a term without letters folding would lose) in the folded body, which holds every form folded."""
    parts = []
    for term in query.terms:
        if every_form and not term.exact:
            parts.append(f"folded : {_fts_phrase(term.folded, not term.phrase)}")
        else:
            parts.append(f"body : {_fts_phrase(term.words, not term.phrase)}")
    return " AND ".join(parts)


def _tsquery_text(words: tuple[str, ...], phrase: bool, weight: str) -> str:
    mark = weight if phrase else f"*{weight}"
    return " <-> ".join(f"'{word}':{mark}" for word in words)


def _tsqueries(connection: Connection, query: Query) -> tuple[str, str]:
    """Return two tsqueries, as text, every term required: each term as any stemmer reads it in the body
    (weight A), and (the first) also anywhere, folded text included, for a term without letters folding would
    lose (as in `_fts`). The folded text never holds a letter an exact term has, so such a term needs no weight,
    and a query without weights needs no second look at the rows the GIN index found. Each term's readings
    are asked of PostgreSQL once and their repeats dropped: most stemmers leave most words as they are."""
    asked: list[str] = []
    params: dict[str, Any] = {}
    for n, term in enumerate(query.terms):
        params[f"w{n}"] = _tsquery_text(term.words, term.phrase, "" if term.exact else "A")
        params[f"a{n}"] = _tsquery_text(term.words, term.phrase, "")
        asked += [f"to_tsquery('{config}'::regconfig, :{kind}{n})::text" for kind in "wa" for config in _CONFIGS]
        params[f"f{n}"] = _tsquery_text(term.folded, term.phrase, "")
        asked.append(f"to_tsquery('simple'::regconfig, :f{n})::text")
    answers = iter(connection.execute(text("SELECT " + ", ".join(asked)), params).one())
    every, written = [], []
    for term in query.terms:
        as_written = [next(answers) for _ in _CONFIGS]
        anywhere = [next(answers) for _ in _CONFIGS]
        folded = next(answers)
        written.append(_any(as_written))
        every.append(_any(as_written if term.exact else [*anywhere, folded]))
    return " & ".join(every), " & ".join(written)


def _any(readings: list[str]) -> str:
    return "(" + " | ".join(f"({reading})" for reading in dict.fromkeys(r for r in readings if r)) + ")"


def _tiers(query: Query, every_version: bool) -> list[tuple[int, bool]]:
    """Return the ranked list's tiers in order: (held by the version in force, matched as written)."""
    folded = any(not term.exact for term in query.terms)
    return [(held, exact) for held in ((1, 0) if every_version else (1,)) for exact in (True, False)
            if exact or folded]


CANDIDATES = 4  # a tier's page is first looked for among this many times as many of its newest matches


def _tier(connection: Connection, params: dict[str, Any], policies: str, source: str, order: str, matching: str,
          held: int, filters: str, start: int, wanted: int) -> list[Any]:
    """Return a tier's rows from `start` on, at most `wanted`, each joined to its version's title.

    The tier's rows are looked for first among a bounded set of the newest matches (a walk down the row ids
    the engine stops early, or the few matches its index holds), which is where a common word's page is; only
    when those hold too few of the tier's rows is every match read."""
    cap = CANDIDATES * (start + wanted)
    candidates = connection.execute(text(f"""WITH policies AS MATERIALIZED ({policies})
        SELECT s.row_id, {_HELD} AS held FROM (SELECT s.row_id, s.policy_id, s.first_version, s.last_version
            FROM {source} WHERE {matching}{filters} ORDER BY {order} LIMIT {cap}) s
        JOIN policies p ON p.policy_id = s.policy_id ORDER BY s.row_id DESC"""), params).all()
    chosen = [row.row_id for row in candidates if row.held == held]
    if len(candidates) < cap or len(chosen) >= start + wanted:
        ids = chosen[start:start + wanted]
        if not ids:
            return []
        where, cut, ordered = (f"s.row_id IN ({', '.join(str(int(i)) for i in ids)})", "s.row_id DESC",
                               "search_sections s")
    else:  # too few of the newest matches are the tier's: every match is read
        where, cut, ordered = (f"{matching} AND {_HELD} = {held}{filters}",
                               f"{order} LIMIT {wanted} OFFSET {start}", source)
    # The page is cut first; only its rows are joined to their version's title.
    statement = f"""WITH policies AS MATERIALIZED ({policies}), page AS MATERIALIZED (
        SELECT s.row_id, s.policy_id, s.section_id, s.first_version, s.last_version, s.label, s.body,
               s.language, p.newest, {_SHOWN} AS shown
        FROM {ordered} JOIN policies p ON p.policy_id = s.policy_id
        WHERE {where} ORDER BY {cut})
        SELECT page.*, v.title, v.effective_from FROM page
        JOIN search_versions v ON v.policy_id = page.policy_id AND v.version = page.shown
        ORDER BY page.row_id DESC"""
    return list(connection.execute(text(statement), params).all())


def find(connection: Connection, query: Query, *, at: str, every_version: bool, language: str | None = None,
         policy_id: str | None = None, position: int = 0, limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    """Return up to `limit` matching sections from a position in the ranked list on, and the position after
    them (None at the end); each with the version it is shown in, whether that version is in force at `at`,
    and the versions that held its text."""
    params: dict[str, Any] = {"at": at}
    filters = ""
    if language is not None:
        filters += " AND s.language = :language"
        params["language"] = language
    if policy_id is not None:
        filters += " AND s.policy_id = :policy_id"
        params["policy_id"] = policy_id
    policies = _POLICIES + (" WHERE p.policy_id = :policy_id" if policy_id is not None else "")
    if connection.dialect.name == "postgresql":
        params["every"], params["written"] = _tsqueries(connection, query)
        matching = {True: "s.search_vector @@ CAST(:written AS tsquery)",
                    False: "s.search_vector @@ CAST(:every AS tsquery) AND NOT s.search_vector @@ "
                           "CAST(:written AS tsquery)"}
        source, order = "search_sections s", "s.row_id DESC"
    else:
        params["written"] = _fts(query, False)
        params["folded_only"] = f"({_fts(query, True)}) NOT ({params['written']})"
        matching = {True: "search_fts MATCH :written", False: "search_fts MATCH :folded_only"}
        source, order = "search_fts f JOIN search_sections s ON s.row_id = f.rowid", "f.rowid DESC"
    found: list[tuple[int, Any]] = []
    tiers = _tiers(query, every_version)
    first_tier, skip = divmod(position, TIER)
    for index, (held, exact) in enumerate(tiers):
        if index < first_tier:
            continue
        start = skip if index == first_tier else 0
        wanted = limit + 1 - len(found)
        rows = _tier(connection, params, policies, source, order, matching[exact], held, filters, start, wanted)
        found += [(index * TIER + start + n, (row, held, exact)) for n, row in enumerate(rows)]
        if len(found) > limit:
            break
    following = found[limit][0] if len(found) > limit else None
    return [{
        "policy_id": row.policy_id, "language": row.language, "title": row.title, "version": row.shown,
        "in_force": bool(held), "effective_from": row.effective_from, "section_id": row.section_id,
        "label": row.label, "first_version": row.first_version, "last_version": row.last_version or row.newest,
        "exact": exact, "body": row.body,
    } for _, (row, held, exact) in found[:limit]], following
