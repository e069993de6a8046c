"""Reads of the documents read model: versions in force at any time, version lists, section histories, previews."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Boolean, Connection, bindparam, select

from events.store.prepared import Prepared

from .outline import load_preview, preview_row, read_outline, version_document
from .tables import policy_versions, preview_touched, section_changes


def _version(row: Any, connection: Connection | None = None) -> dict[str, Any]:
    """Return a version's row as readers see it: JSON columns decoded, the outline as the section tree."""
    found = dict(row)
    for key in ("approvers", "touched"):
        if key in found:
            found[key] = json.loads(found[key])
    if "outline" in found:
        assert connection is not None
        found["sections"] = read_outline(connection, found["policy_id"], found.pop("outline"))[0]
    return found


_VERSION_COLUMNS = tuple(column.name for column in policy_versions.c)
_FLAGS = tuple(column.name for column in policy_versions.c if isinstance(column.type, Boolean))
_in_force = (select(policy_versions)
             .where(policy_versions.c.policy_id == bindparam("policy_id"),
                    policy_versions.c.effective_from <= bindparam("at"))
             .order_by(policy_versions.c.effective_from.desc(), policy_versions.c.version.desc()).limit(1))
# The point-in-time read, compiled once: with and without a record-time bound.
IN_FORCE = Prepared(_in_force)
IN_FORCE_AS_OF = Prepared(_in_force.where(policy_versions.c.recorded_at <= bindparam("as_of")))


def in_force(connection: Connection, policy_id: str, at: str, as_of: str | None = None) -> dict[str, Any] | None:
    """Return the version in force at `at`, counting only publications recorded by `as_of`.

    One descent of ix_policy_versions_effective: the newest effective date at or before `at` wins, the
    later version among equal dates. A version's effective date never precedes its predecessor's, so
    rows recorded after `as_of` can only sit at the top of that descent and are stepped over.
    """
    if as_of is None:
        row = IN_FORCE.first(connection, {"policy_id": policy_id, "at": at})
    else:
        row = IN_FORCE_AS_OF.first(connection, {"policy_id": policy_id, "at": at, "as_of": as_of})
    if row is None:
        return None
    found = dict(zip(_VERSION_COLUMNS, row, strict=True))
    for flag in _FLAGS:  # the driver's own values: SQLite's 0 and 1
        found[flag] = bool(found[flag])
    return _version(found, connection)


def in_force_many(connection: Connection, policy_ids: list[str], at: str) -> dict[str, dict[str, Any]]:
    """Return, for each of the policies that has one, the number and effective date of the version in force."""
    v = policy_versions
    newest = (select(v.c.version, v.c.effective_from)
              .where(v.c.policy_id == bindparam("policy_id"), v.c.effective_from <= at)
              .order_by(v.c.effective_from.desc(), v.c.version.desc()).limit(1))
    found = {}
    for policy_id in policy_ids:
        row = connection.execute(newest, {"policy_id": policy_id}).first()
        if row is not None:
            found[policy_id] = {"version": row.version, "effective_from": row.effective_from}
    return found


def scheduled(connection: Connection, policy_id: str, at: str, as_of: str | None = None) -> dict[str, Any] | None:
    """Return the next published version to take effect after `at` (its number and effective date)."""
    v = policy_versions
    query = (select(v.c.version, v.c.effective_from).where(v.c.policy_id == policy_id, v.c.effective_from > at)
             .order_by(v.c.effective_from, v.c.version).limit(1))
    if as_of is not None:
        query = query.where(v.c.recorded_at <= as_of)
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def get(connection: Connection, policy_id: str, number: int, as_of: str | None = None) -> dict[str, Any] | None:
    """Return version `number` with its document, if its publication was recorded by `as_of`."""
    v = policy_versions
    query = select(v).where(v.c.policy_id == policy_id, v.c.version == number)
    if as_of is not None:
        query = query.where(v.c.recorded_at <= as_of)
    row = connection.execute(query).mappings().first()
    return _version(row, connection) if row else None


def page(connection: Connection, policy_id: str, after: int | None, limit: int,
         as_of: str | None = None) -> list[dict[str, Any]]:
    """Return up to `limit` versions (without their documents) in order, after a version number."""
    v = policy_versions
    columns = [c for c in v.c if c.name not in ("outline", "touched")]
    query = select(*columns).where(v.c.policy_id == policy_id).order_by(v.c.version).limit(limit)
    if as_of is not None:
        query = query.where(v.c.recorded_at <= as_of)
    if after is not None:
        query = query.where(v.c.version > after)
    return [_version(r) for r in connection.execute(query).mappings()]


def section_history(connection: Connection, policy_id: str, section_id: str, after: int | None = None,
                    limit: int | None = None) -> list[dict[str, Any]]:
    """Return the versions that changed one section, oldest first (up to `limit`, after a version number),
    each with its revision's summary and publisher."""
    s, v = section_changes, policy_versions
    query = (select(s, v.c.summary, v.c.publisher)
             .join(v, (v.c.policy_id == s.c.policy_id) & (v.c.version == s.c.version))
             .where(s.c.policy_id == policy_id, s.c.section_id == section_id).order_by(s.c.version))
    if limit is not None:
        query = query.limit(limit)
    if after is not None:
        query = query.where(s.c.version > after)
    rows = []
    for row in connection.execute(query).mappings():
        found = _version(row)
        found["changes"] = found["changes"].split(",")
        rows.append(found)
    return rows


def section_published(connection: Connection, policy_id: str, section_id: str) -> bool:
    """Tell whether any published version of the policy had this section."""
    s = section_changes
    return connection.execute(select(s.c.section_id).where(s.c.policy_id == policy_id, s.c.section_id == section_id)
                              .limit(1)).first() is not None


def touched_after(connection: Connection, policy_id: str, base: int) -> set[str]:
    """Return the section ids (and the title key) that versions after `base` changed."""
    query = select(policy_versions.c.touched).where(policy_versions.c.policy_id == policy_id,
                                                    policy_versions.c.version > base)
    return {sid for touched in connection.execute(query).scalars() for sid in json.loads(touched)}


def document(connection: Connection, policy_id: str, number: int) -> tuple[Any, str] | None:
    """Return version `number`'s document (version 0: the empty one under the first title) and the language."""
    return version_document(connection, policy_id, number)


def acknowledgement_due(connection: Connection, policy_id: str, acknowledged: int | None) -> dict[str, Any] | None:
    """Return the newest substantive (not editorial) version after the one acknowledged, if any."""
    v = policy_versions
    query = (select(v.c.version, v.c.effective_from, v.c.content_hash)
             .where(v.c.policy_id == policy_id, v.c.editorial.is_(False), v.c.version > (acknowledged or 0))
             .order_by(v.c.version.desc()).limit(1))
    row = connection.execute(query).mappings().first()
    return dict(row) if row else None


def preview(connection: Connection, revision_id: str, *, final: bool = False) -> dict[str, Any] | None:
    """Return a revision's preview as stored: title, sections, content hash, and (unless the revision is final)
    the sections it touches that versions after its base changed.

    The content hash is the stored document's (its canonical form hashed as the ledger hashes it): computed
    here, where the whole document is read anyway, not on every change, where it would cost a hash of the
    whole draft for a change to one section."""
    row = preview_row(connection, revision_id)
    if row is None:
        return None
    loaded = load_preview(connection, revision_id, row)
    assert loaded is not None
    conflicts: list[str] = []
    if not final:
        touched = set(connection.execute(select(preview_touched.c.section_id)
                                         .where(preview_touched.c.revision_id == revision_id)).scalars())
        conflicts = sorted(touched & touched_after(connection, row[0], row[1]))
    document, language = loaded
    return {"title": document.title, "sections": document.tree(),
            "content_hash": document.content_hash(row[0], language), "conflicts": conflicts}
