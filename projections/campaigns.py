"""Acknowledgement campaigns: which version, by when, and the people asked (as resolved when it started)."""
from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, Connection, Index, Integer, String, Table, Text, insert, select

from events.domain import types as ev
from events.domain.streams import policy_of
from events.store import StoredEvent
from events.store.prepared import Prepared
from events.store.tables import Position, metadata

campaigns = Table(
    "campaigns", metadata,
    Column("campaign_id", String(100), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("roles", Text, nullable=False),  # JSON: the roles asked
    Column("users", Text, nullable=False),  # JSON: the users asked by name
    Column("due", String(27), nullable=False),
    Column("started_at", String(27), nullable=False),
    Column("started_by", String(200), nullable=False),
    Column("follows", String(100)),  # the campaign of an earlier version this one renews
    Column("position", Position, nullable=False),
    Index("ix_campaigns_policy", "policy_id", "position"),
)

campaign_people = Table(
    "campaign_people", metadata,
    Column("campaign_id", String(100), primary_key=True),
    Column("person", String(200), primary_key=True),
    Column("policy_id", String(200), nullable=False),
    Index("ix_campaign_people_person", "person", "policy_id"),
)

TABLES = (campaigns, campaign_people)
_INSERT = Prepared(insert(campaigns))
_INSERT_PEOPLE = Prepared(insert(campaign_people))


def on_appended(sender: Any, *, connection: Connection, events: list[StoredEvent], replaying: bool = False,
                memo: dict[str, Any] | None = None) -> None:
    """Keep each campaign started and the people it asks."""
    started, people = [], []
    for stored in events:
        if stored.type != "CampaignStarted":
            continue
        event = stored.event
        assert isinstance(event, ev.CampaignStarted)
        pid = policy_of(stored.stream)
        started.append({"campaign_id": event.campaign_id, "policy_id": pid, "version": event.version,
                        "roles": json.dumps(event.roles), "users": json.dumps(event.users, ensure_ascii=False),
                        "due": event.due, "started_at": stored.meta["occurred_at"],
                        "started_by": stored.meta["actor"], "follows": event.follows, "position": stored.position})
        people += [{"campaign_id": event.campaign_id, "person": person, "policy_id": pid} for person in event.people]
    _INSERT.execute_many(connection, started)
    _INSERT_PEOPLE.execute_many(connection, people)


# ---- reads -------------------------------------------------------------------------------------

def _decoded(row: Any) -> dict[str, Any]:
    found = dict(row)
    found["roles"], found["users"] = json.loads(found["roles"]), json.loads(found["users"])
    return found


def get(connection: Connection, policy_id: str, campaign_id: str) -> dict[str, Any] | None:
    """Return one campaign with the people it asks (sorted), or None."""
    row = connection.execute(select(campaigns).where(campaigns.c.policy_id == policy_id,
                                                     campaigns.c.campaign_id == campaign_id)).mappings().first()
    if row is None:
        return None
    found = _decoded(row)
    found["people"] = list(connection.execute(
        select(campaign_people.c.person).where(campaign_people.c.campaign_id == campaign_id)
        .order_by(campaign_people.c.person)).scalars())
    return found


def of_policy(connection: Connection, policy_id: str) -> list[dict[str, Any]]:
    """Return a policy's campaigns, newest first, each with how many people it asks."""
    query = select(campaigns).where(campaigns.c.policy_id == policy_id).order_by(campaigns.c.position.desc())
    found = [_decoded(row) for row in connection.execute(query).mappings()]
    for campaign in found:
        campaign["people"] = list(connection.execute(
            select(campaign_people.c.person).where(campaign_people.c.campaign_id == campaign["campaign_id"])
            .order_by(campaign_people.c.person)).scalars())
    return found


def asking(connection: Connection, person: str) -> list[dict[str, Any]]:
    """Return every campaign that asks a person, oldest first."""
    c, p = campaigns, campaign_people
    query = (select(c).join(p, p.c.campaign_id == c.c.campaign_id).where(p.c.person == person)
             .order_by(c.c.position))
    return [_decoded(row) for row in connection.execute(query).mappings()]
