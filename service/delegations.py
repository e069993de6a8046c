"""Delegations: a person names a delegate for a period (an approver on leave), and the delegate may sign for them.

A delegation is the service's own record, like users: who delegated to whom, from when until when, why,
who set it up and who ended it. The ledger records each signature a delegate gives with `on_behalf_of`,
so the log itself says who signed for whom; this table says which delegations allowed it.
"""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, Engine, Index, String, Table, Text, insert, select, update

from events.domain.canonical import format_time
from events.domain.errors import Forbidden, InvalidInput, NotFound, WrongState
from events.store.engine import write_transaction
from events.store.tables import metadata
from service import accounts

delegations = Table(
    "delegations", metadata,
    Column("id", String(64), primary_key=True),
    Column("delegator", String(200), nullable=False),
    Column("delegate", String(200), nullable=False),
    Column("valid_from", String(27), nullable=False),
    Column("valid_until", String(27), nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", String(27), nullable=False),
    Column("revoked_by", String(200)),
    Column("revoked_at", String(27)),
    Index("ix_delegations_delegate", "delegate", "valid_from"),
)


def add(engine: Engine, *, delegator: str, delegate: str, valid_from: str, valid_until: str, reason: str,
        created_by: str, now: datetime) -> dict[str, Any]:
    """Record that `delegate` may sign for `delegator` from one time until another; return the delegation."""
    if delegate == delegator:
        raise InvalidInput("a person cannot be their own delegate", field="delegate")
    if valid_until <= valid_from:
        raise InvalidInput("until must be later than from", field="until")
    if valid_until <= format_time(now):
        raise InvalidInput("until is already past", field="until")
    if not reason.strip():
        raise InvalidInput("reason is required", field="reason")
    row = {"id": f"dlg-{secrets.token_hex(6)}", "delegator": delegator, "delegate": delegate,
           "valid_from": valid_from, "valid_until": valid_until, "reason": reason, "created_by": created_by,
           "created_at": format_time(now), "revoked_by": None, "revoked_at": None}
    with write_transaction(engine) as connection:
        for field, name in (("delegator", delegator), ("delegate", delegate)):
            if accounts.find(connection, name) is None:
                raise InvalidInput(f"no user {name!r}", field=field)
        connection.execute(insert(delegations).values(**row))
    return row


def revoke(engine: Engine, delegation_id: str, *, by: str, admin: bool, now: datetime) -> dict[str, Any]:
    """End a delegation now (the person who delegated, or an admin); return it as it now stands."""
    with write_transaction(engine) as connection:
        row = connection.execute(select(delegations).where(delegations.c.id == delegation_id)).mappings().first()
        if row is None:
            raise NotFound(f"no delegation {delegation_id!r}", field="id")
        if not admin and by not in (row["delegator"], row["created_by"]):
            raise Forbidden("only the person who delegated, or an admin, may end a delegation", field="id")
        if row["revoked_at"] is not None:
            raise WrongState("the delegation is already ended", field="id")
        ended = {"revoked_by": by, "revoked_at": format_time(now)}
        connection.execute(update(delegations).where(delegations.c.id == delegation_id).values(**ended))
        return {**row, **ended}


def listed(connection: Connection, person: str | None) -> list[dict[str, Any]]:
    """Return delegations, newest first: every one, or those given by or to one person."""
    query = select(delegations).order_by(delegations.c.created_at.desc(), delegations.c.id)
    if person is not None:
        query = query.where((delegations.c.delegator == person) | (delegations.c.delegate == person))
    return [dict(row) for row in connection.execute(query).mappings()]


def active(connection: Connection, *, delegator: str, delegate: str, at: str) -> bool:
    """Tell whether `delegate` may sign for `delegator` at a time."""
    d = delegations
    query = select(d.c.id).where(d.c.delegator == delegator, d.c.delegate == delegate, d.c.valid_from <= at,
                                 d.c.valid_until > at, d.c.revoked_at.is_(None))
    return connection.execute(query).first() is not None


def delegators(connection: Connection, delegate: str, at: str) -> list[str]:
    """Return the people `delegate` may sign for at a time, by name."""
    d = delegations
    query = (select(d.c.delegator).where(d.c.delegate == delegate, d.c.valid_from <= at, d.c.valid_until > at,
                                         d.c.revoked_at.is_(None)).order_by(d.c.delegator).distinct())
    return list(connection.execute(query).scalars())
