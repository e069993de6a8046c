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


def _tsquery_text(words: tuple[str, ...], phrase: bool) -> str:
    mark = "" if phrase else "*"
    return " <-> ".join(f"'{word}':{mark}" for word in words)


def _tsqueries(connection: Connection, query: Query) -> tuple[str, str, int | None]:
    """Return two tsqueries, as text, every term required: each term as any stemmer reads it (asked of the text
    as written, `search_written`), and (the first) also its folded form, for a term without letters folding
    would lose (as in `_fts`; asked of every form of the text, `search_vector`). Neither has weights: the GIN
    index answers each without a second look at the rows it found. Each term's readings are asked of
    PostgreSQL once and their repeats dropped: most stemmers leave most words as they are. Asked with them: the
    row id `RECENT` rows below the newest (None in a smaller table), how far a walk down the row ids goes."""
    asked: list[str] = []
    params: dict[str, Any] = {}
    for n, term in enumerate(query.terms):
        params[f"w{n}"] = _tsquery_text(term.words, term.phrase)
        asked += [f"to_tsquery('{config}'::regconfig, :w{n})::text" for config in _CONFIGS]
        params[f"f{n}"] = _tsquery_text(term.folded, term.phrase)
        asked.append(f"to_tsquery('simple'::regconfig, :f{n})::text")
    asked.append(f"(SELECT row_id FROM search_sections ORDER BY row_id DESC LIMIT 1 OFFSET {RECENT})")
    answers = iter(connection.execute(text("SELECT " + ", ".join(asked)), params).one())
    every, written = [], []
    for term in query.terms:
        as_written = [next(answers) for _ in _CONFIGS]
        folded = next(answers)
        written.append(_any(as_written))
        every.append(_any(as_written if term.exact else [*as_written, folded]))
    return " & ".join(every), " & ".join(written), next(answers)


def _constant(tsquery: str) -> str:
    """Return a tsquery as a constant of the statement: PostgreSQL plans each search for the words it asks
    (how many rows hold them), never once for any words, as it would a parameter of a prepared statement."""
    return "CAST('" + tsquery.replace("'", "''").replace(":", "\\:") + "' AS tsquery)"


def _any(readings: list[str]) -> str:
    return "(" + " | ".join(f"({reading})" for reading in dict.fromkeys(r for r in readings if r)) + ")"


def _tiers(query: Query, every_version: bool) -> list[tuple[int, bool]]:
    """Return the ranked list's tiers in order: (held by the version in force, matched as written)."""
    folded = any(not term.exact for term in query.terms)
    return [(held, exact) for held in ((1, 0) if every_version else (1,)) for exact in (True, False)
            if exact or folded]


CANDIDATES = 2  # a tier's page is first looked for among this many times as many of its newest matches
RECENT = 2048  # PostgreSQL: the newest rows a walk down the row ids looks at before it asks the index instead


def _candidates(source: str, order: str, matching: str, filters: str, cap: int, floor: int | None) -> str:
    """Return a statement for a tier's newest `cap` matches (of any version), newest first.

    With a `floor` (PostgreSQL), the newest rows down to it are walked in the order of row ids, which stops as
    soon as it has its matches; the rest, asked for only when those few hold too few, are found by the index
    and sorted (`+ 0` keeps the planner from walking them too: a rare word would be looked for in every row)."""
    columns = "s.row_id, s.policy_id, s.first_version, s.last_version"
    if floor is None:
        return f"SELECT {columns} FROM {source} WHERE {matching}{filters} ORDER BY {order} LIMIT {cap}"
    return f"""SELECT * FROM (
        (SELECT {columns} FROM {source} WHERE {matching}{filters} AND s.row_id >= {int(floor)}
         ORDER BY s.row_id DESC LIMIT {cap})
        UNION ALL
        (SELECT {columns} FROM {source} WHERE {matching}{filters} AND s.row_id < {int(floor)}
         ORDER BY s.row_id + 0 DESC LIMIT {cap})) newest LIMIT {cap}"""


def _tier(connection: Connection, params: dict[str, Any], policies: str, source: str, order: str, matching: str,
          held: int, filters: str, floor: int | None, start: int, wanted: int) -> list[Any]:
    """Return a tier's rows from `start` on, at most `wanted`, each joined to its text and version's title.

    The tier's rows are looked for first among a bounded set of the newest matches, which is where a common
    word's page is: one statement reads them, cuts the page from those that are the tier's and says how many it
    looked at. Only when they hold too few of the tier's rows (a time long past, when the newest texts were not
    yet in force) is every match read, by a second statement; on PostgreSQL never by a walk down the row ids
    (`+ 0`), which for a rare word would look at every row."""
    cap = CANDIDATES * (start + wanted)
    # The page is cut first; only its rows are joined to their text and their version's title.
    statement = f"""WITH policies AS MATERIALIZED ({policies}),
        candidates AS MATERIALIZED ({_candidates(source, order, matching, filters, cap, floor)}),
        marked AS MATERIALIZED (
            SELECT s.row_id, s.policy_id, p.newest, {_HELD} AS held, {_SHOWN} AS shown
            FROM candidates s JOIN policies p ON p.policy_id = s.policy_id),
        counted AS (SELECT count(*) AS looked, sum(held) AS kept FROM marked),
        page AS (SELECT m.row_id, m.policy_id, m.newest, m.shown FROM marked m WHERE m.held = {held}
                 ORDER BY m.row_id DESC LIMIT {wanted} OFFSET {start})
        SELECT counted.looked, counted.kept, found.* FROM counted LEFT JOIN (
            SELECT s.row_id, s.policy_id, s.section_id, s.first_version, s.last_version, s.label, s.body,
                   s.language, page.newest, page.shown, v.title, v.effective_from
            FROM page JOIN search_sections s ON s.row_id = page.row_id
            JOIN search_versions v ON v.policy_id = page.policy_id AND v.version = page.shown) found ON 1 = 1
        ORDER BY found.row_id DESC"""
    rows = connection.execute(text(statement), params).all()
    looked, kept = rows[0].looked, rows[0].kept or 0
    if looked < cap or (kept if held else looked - kept) >= start + wanted:
        return [row for row in rows if row.row_id is not None]
    # Too few of the newest matches are the tier's: every match is read.
    every = order if floor is None else "s.row_id + 0 DESC"
    statement = f"""WITH policies AS MATERIALIZED ({policies}), page AS MATERIALIZED (
        SELECT s.row_id, s.policy_id, s.section_id, s.first_version, s.last_version, s.label, s.body,
               s.language, p.newest, {_SHOWN} AS shown
        FROM {source} JOIN policies p ON p.policy_id = s.policy_id
        WHERE {matching} AND {_HELD} = {held}{filters} ORDER BY {every} LIMIT {wanted} OFFSET {start})
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
        every, written, floor = _tsqueries(connection, query)
        every, written = _constant(every), _constant(written)
        matching = {True: f"s.search_written @@ {written}",
                    False: f"s.search_vector @@ {every} AND NOT s.search_written @@ {written}"}
        source, order = "search_sections s", "s.row_id DESC"
    else:  # FTS5 reads its matches in the order of row ids, from its index alone: it needs no floor
        floor = None
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
        rows = _tier(connection, params, policies, source, order, matching[exact], held, filters, floor, start,
                     wanted)
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
