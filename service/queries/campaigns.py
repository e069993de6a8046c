"""Acknowledgement campaigns as people read them: the audience asked, who has acknowledged and when, the rate."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection

from events.domain.errors import InvalidInput
from projections import audit, campaigns, documents
from service import accounts

CSV_COLUMNS = ("user", "full_name", "acknowledged_at")
FORMULA_OPENERS = ("=", "+", "-", "@", "\t", "\r")


def audience(connection: Connection, roles: Iterable[str], users: Iterable[str]) -> tuple[str, ...]:
    """Return who a campaign asks now: the named users (each must exist) and every holder of the roles."""
    people: dict[str, None] = {}
    for name in users:
        if accounts.find(connection, name) is None:
            raise InvalidInput(f"no user {name!r}", field="users")
        people[name] = None
    for role in roles:
        people.update(dict.fromkeys(user.name for user in accounts.holders(connection, role)))
    return tuple(people)


def counted_versions(connection: Connection, policy_id: str, version: int) -> list[int]:
    """Return the versions whose acknowledgement answers a campaign for `version`: it and the editorial versions
    right after it (an editorial change asks nobody again), up to the next substantive one."""
    counted = [version]
    for row in documents.page(connection, policy_id, version, 100_000):
        if not row["editorial"]:
            break
        counted.append(row["version"])
    return counted


def roster(connection: Connection, policy_id: str, campaign_id: str) -> dict[str, Any] | None:
    """Return a campaign with each person asked and when they acknowledged (None: not yet), and the rate."""
    found = campaigns.get(connection, policy_id, campaign_id)
    if found is None:
        return None
    versions = counted_versions(connection, policy_id, found["version"])
    first: dict[str, str] = {}
    for ack in audit.acknowledgements_by(connection, policy_id, found["people"], versions):
        first.setdefault(ack["person"], ack["at"])
    people = []
    for name in found["people"]:
        user = accounts.find(connection, name)
        people.append({"user": name, "full_name": user.full_name if user else None,
                       "acknowledged_at": first.get(name)})
    done = sum(1 for person in people if person["acknowledged_at"] is not None)
    return {"id": found["campaign_id"], "policy_id": policy_id, "version": found["version"], "due": found["due"],
            "roles": found["roles"], "users": found["users"], "started_at": found["started_at"],
            "started_by": found["started_by"], "follows": found["follows"], "total": len(people),
            "acknowledged": done, "rate": round(done / len(people), 4) if people else 0.0,
            "counted_versions": versions, "people": people}


def waiting_for(connection: Connection, person: str, now: str) -> dict[str, dict[str, Any]]:
    """Return, by policy, the newest campaign asking a person that they have not answered: version and due date."""
    found: dict[str, dict[str, Any]] = {}
    for campaign in campaigns.asking(connection, person):
        pid = campaign["policy_id"]
        versions = counted_versions(connection, pid, campaign["version"])
        if audit.acknowledgements_by(connection, pid, [person], versions):
            found.pop(pid, None)
            continue
        found[pid] = {"campaign_id": campaign["campaign_id"], "version": campaign["version"],
                      "due": campaign["due"], "overdue": campaign["due"] <= now}
    return found


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_OPENERS):
        return "'" + value  # a spreadsheet would run it as a formula
    return value


def as_csv(found: dict[str, Any]) -> str:
    """Return the roster as CSV: UTF-8 with a BOM (so spreadsheets read Kyrgyz as such), one row per person."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for person in found["people"]:
        writer.writerow([_cell(person[column]) for column in CSV_COLUMNS])
    return "\ufeff" + buffer.getvalue()
