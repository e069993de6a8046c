"""Users and API tokens: tokens are shown once and stored only as SHA-256 hashes."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Engine, ForeignKey, String, Table, Text, delete, insert, select

from events.domain.canonical import format_time, utcnow
from events.domain.errors import AlreadyExists, InvalidInput, NotFound
from events.domain.rules import ROLES
from events.store.tables import metadata

users = Table(
    "users", metadata,
    Column("name", String(200), primary_key=True),
    Column("roles", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(200), ForeignKey("users.name"), nullable=False),
    Column("created_at", String(27), nullable=False),
)


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The person behind a request and the roles they hold."""

    name: str
    roles: tuple[str, ...]

    def has(self, *roles: str) -> bool:
        """Tell whether the principal holds any of the roles."""
        return any(r in self.roles for r in roles)

    def acting_role(self, *allowed: str) -> str:
        """Return the first role of theirs the action allows (recorded in the event as their role then)."""
        return next(r for r in allowed if r in self.roles)


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_user(engine: Engine, name: str, roles: list[str]) -> str:
    """Create a user with roles and return a new token for them (the only time it is shown)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a user name is 1 to 200 characters", field="name")
    bad = [r for r in roles if r not in ROLES]
    if not roles or bad:
        raise InvalidInput(f"roles must be drawn from {', '.join(ROLES)}", field="role")
    token = secrets.token_urlsafe(32)
    now = format_time(utcnow())
    with engine.begin() as connection:
        if connection.execute(select(users.c.name).where(users.c.name == name)).first():
            raise AlreadyExists(f"user {name!r} already exists", field="name")
        connection.execute(insert(users).values(name=name, roles=",".join(dict.fromkeys(roles)), created_at=now))
        connection.execute(insert(api_tokens).values(token_hash=hash_token(token), user_name=name, created_at=now))
    return token


def add_token(engine: Engine, name: str) -> str:
    """Issue another token for an existing user and return it (the only time it is shown)."""
    token = secrets.token_urlsafe(32)
    with engine.begin() as connection:
        if not connection.execute(select(users.c.name).where(users.c.name == name)).first():
            raise NotFound(f"no user {name!r}", field="name")
        connection.execute(insert(api_tokens).values(token_hash=hash_token(token), user_name=name,
                                                     created_at=format_time(utcnow())))
    return token


def revoke_tokens(engine: Engine, name: str) -> int:
    """Delete every token of a user, so none of them authenticates any more; return how many."""
    with engine.begin() as connection:
        if not connection.execute(select(users.c.name).where(users.c.name == name)).first():
            raise NotFound(f"no user {name!r}", field="name")
        return connection.execute(delete(api_tokens).where(api_tokens.c.user_name == name)).rowcount


def principal_for(connection: Connection, token: str) -> Principal | None:
    """Return who a bearer token belongs to, or None for an unknown token."""
    row = connection.execute(
        select(users.c.name, users.c.roles).join(api_tokens, api_tokens.c.user_name == users.c.name)
        .where(api_tokens.c.token_hash == hash_token(token))).first()
    return Principal(name=row.name, roles=tuple(row.roles.split(","))) if row else None
