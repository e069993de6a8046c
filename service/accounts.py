"""People: users with roles, a full name, an address and a language; API tokens and passwords.

Tokens are shown once and stored only as SHA-256 hashes (they are long random secrets); passwords are
hashed with Argon2id (argon2-cffi's defaults, RFC 9106's recommended profile). Repeated failed sign-ins
slow a user's next attempts down: after five, each further attempt must wait twice as long as the one
before (from one second, to at most fifteen minutes); a good password resets the count.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)

from events.domain.canonical import format_time, parse_time, utcnow
from events.domain.errors import AlreadyExists, Forbidden, InvalidInput, NotFound
from events.domain.rules import ROLES, SIGNING_ROLES, Route
from events.store.engine import write_transaction
from events.store.tables import metadata

LANGUAGES = ("ky", "ru", "en")
PASSWORD_LENGTH = (10, 1024)
FREE_ATTEMPTS = 5  # failed sign-ins before each further attempt has to wait
LONGEST_WAIT = timedelta(minutes=15)

users = Table(
    "users", metadata,
    Column("name", String(200), primary_key=True),
    Column("roles", Text, nullable=False),
    Column("created_at", String(27), nullable=False),
    Column("full_name", Text),
    Column("email", String(320)),
    Column("language", String(8)),
    Column("password_hash", Text),
    Column("failed_attempts", Integer, nullable=False, server_default="0"),
    Column("last_failed_at", String(27)),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_name", String(200), ForeignKey("users.name"), nullable=False),
    Column("created_at", String(27), nullable=False),
)

# Each failed re-authentication at signing (a wrong password given with a signature): who, on what, when.
signing_failures = Table(
    "signing_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_name", String(200), nullable=False),
    Column("policy_id", String(200), nullable=False),
    Column("revision_id", String(64), nullable=False),
    Column("at", String(27), nullable=False),
    Index("ix_signing_failures_user", "user_name", "at"),
)

_hasher = PasswordHasher()


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


@dataclass(frozen=True, kw_only=True)
class User:
    """A user as the pages, messages and signatures need them."""

    name: str
    roles: tuple[str, ...]
    full_name: str
    email: str | None
    language: str | None
    has_password: bool

    @property
    def principal(self) -> Principal:
        """Return the user as the principal of a request."""
        return Principal(name=self.name, roles=self.roles)


def hash_token(token: str) -> str:
    """Return the stored form of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _checked_roles(roles: list[str]) -> str:
    bad = [r for r in roles if r not in ROLES]
    if not roles or bad:
        raise InvalidInput(f"roles must be drawn from {', '.join(ROLES)}", field="role")
    return ",".join(dict.fromkeys(roles))


def checked_email(email: str) -> str:
    """Return an address in its normal form, or refuse one that is not an e-mail address."""
    try:
        return str(validate_email(email, check_deliverability=False).normalized)
    except EmailNotValidError as error:
        raise InvalidInput(f"{email!r} is not an e-mail address: {error}", field="email") from None


def _checked_language(language: str) -> str:
    if language not in LANGUAGES:
        raise InvalidInput(f"language must be one of {', '.join(LANGUAGES)}", field="language")
    return language


def _checked_password(password: str) -> str:
    low, high = PASSWORD_LENGTH
    if not low <= len(password) <= high:
        raise InvalidInput(f"a password is {low} to {high} characters", field="password")
    return _hasher.hash(password)


def add_user(engine: Engine, name: str, roles: list[str], *, full_name: str | None = None, email: str | None = None,
             language: str | None = None, password: str | None = None) -> str:
    """Create a user with roles (and a password, if given) and return a new API token (the only time it is shown)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidInput("a user name is 1 to 200 characters", field="name")
    row = {
        "name": name, "roles": _checked_roles(roles), "created_at": format_time(utcnow()),
        "full_name": (full_name or "").strip() or None, "email": checked_email(email) if email else None,
        "language": _checked_language(language) if language else None,
        "password_hash": _checked_password(password) if password is not None else None, "failed_attempts": 0,
    }
    token = secrets.token_urlsafe(32)
    with write_transaction(engine) as connection:
        if connection.execute(select(users.c.name).where(users.c.name == name)).first():
            raise AlreadyExists(f"user {name!r} already exists", field="name")
        connection.execute(insert(users).values(**row))
        connection.execute(insert(api_tokens).values(token_hash=hash_token(token), user_name=name,
                                                     created_at=row["created_at"]))
    return token


def _require_user(connection: Connection, name: str) -> None:
    if not connection.execute(select(users.c.name).where(users.c.name == name)).first():
        raise NotFound(f"no user {name!r}", field="name")


def add_token(engine: Engine, name: str) -> str:
    """Issue another token for an existing user and return it (the only time it is shown)."""
    token = secrets.token_urlsafe(32)
    with write_transaction(engine) as connection:
        _require_user(connection, name)
        connection.execute(insert(api_tokens).values(token_hash=hash_token(token), user_name=name,
                                                     created_at=format_time(utcnow())))
    return token


def revoke_tokens(engine: Engine, name: str) -> int:
    """Delete every token of a user, so none of them authenticates any more; return how many."""
    with write_transaction(engine) as connection:
        _require_user(connection, name)
        return connection.execute(delete(api_tokens).where(api_tokens.c.user_name == name)).rowcount


def set_password(engine: Engine, name: str, password: str) -> None:
    """Give a user a (new) password for the pages; the count of failed sign-ins starts again."""
    hashed = _checked_password(password)
    with write_transaction(engine) as connection:
        _require_user(connection, name)
        connection.execute(update(users).where(users.c.name == name).values(
            password_hash=hashed, failed_attempts=0, last_failed_at=None))


def principal_for(connection: Connection, token: str) -> Principal | None:
    """Return who a bearer token belongs to, or None for an unknown token."""
    row = connection.execute(
        select(users.c.name, users.c.roles).join(api_tokens, api_tokens.c.user_name == users.c.name)
        .where(api_tokens.c.token_hash == hash_token(token))).first()
    return Principal(name=row.name, roles=tuple(row.roles.split(","))) if row else None


def _user(row: object) -> User:
    return User(name=row.name, roles=tuple(row.roles.split(",")), full_name=row.full_name or row.name,  # type: ignore[attr-defined]
                email=row.email, language=row.language, has_password=row.password_hash is not None)  # type: ignore[attr-defined]


def find(connection: Connection, name: str) -> User | None:
    """Return one user (None for an unknown name)."""
    row = connection.execute(select(users).where(users.c.name == name)).first()
    return _user(row) if row else None


def holders(connection: Connection, role: str) -> list[User]:
    """Return the users who hold a role, by name."""
    return [user for user in (_user(row) for row in connection.execute(select(users).order_by(users.c.name)))
            if role in user.roles]


def wait_before_next_attempt(failed: int, last_failed_at: str | None, now: datetime) -> timedelta:
    """Return how long a user with `failed` failed sign-ins must still wait before the next attempt."""
    if failed < FREE_ATTEMPTS or last_failed_at is None:
        return timedelta(0)
    wait = min(timedelta(seconds=2 ** (failed - FREE_ATTEMPTS)), LONGEST_WAIT)
    return max(parse_time(last_failed_at) + wait - now, timedelta(0))


class TooManyAttempts(Forbidden):
    """Failed sign-ins came too fast: the next attempt has to wait."""

    code = "too_many_attempts"

    def __init__(self, wait: timedelta) -> None:
        seconds = max(1, int(wait.total_seconds() + 0.999))
        super().__init__(f"too many failed attempts; try again in {seconds} seconds", field="password",
                         details={"retry_after": seconds})
        self.seconds = seconds


def check_password(engine: Engine, name: str, password: str, now: datetime | None = None) -> User | None:
    """Return the user if the password is theirs; None (and one more failed attempt) if not.

    Refuses with TooManyAttempts, checking nothing, while the user has to wait. An unknown name is
    answered like a wrong password, after the same work, so a sign-in page tells no one who has an account.
    """
    now = now or utcnow()
    with write_transaction(engine) as connection:
        row = connection.execute(select(users).where(users.c.name == name)).first()
        if row is None or row.password_hash is None:
            _same_work_as_a_check(password)
            return None
        wait = wait_before_next_attempt(row.failed_attempts, row.last_failed_at, now)
        if wait > timedelta(0):
            raise TooManyAttempts(wait)
        try:
            _hasher.verify(row.password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            connection.execute(update(users).where(users.c.name == name).values(
                failed_attempts=row.failed_attempts + 1, last_failed_at=format_time(now)))
            return None
        updates: dict[str, object] = {}
        if row.failed_attempts:
            updates.update(failed_attempts=0, last_failed_at=None)
        if _hasher.check_needs_rehash(row.password_hash):
            updates["password_hash"] = _hasher.hash(password)
        if updates:
            connection.execute(update(users).where(users.c.name == name).values(**updates))
        return _user(row)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def _same_work_as_a_check(password: str) -> None:
    with contextlib.suppress(VerificationError):
        _hasher.verify(_dummy_hash(), password)


def record_signing_failure(engine: Engine, name: str, policy_id: str, revision_id: str, now: datetime) -> None:
    """Keep one failed re-authentication at signing (the signature itself records nothing)."""
    with write_transaction(engine) as connection:
        connection.execute(insert(signing_failures).values(user_name=name, policy_id=policy_id,
                                                           revision_id=revision_id, at=format_time(now)))


def listed_signing_failures(connection: Connection, name: str | None, limit: int) -> list[dict[str, object]]:
    """Return failed re-authentications at signing, newest first: everyone's or one person's."""
    query = select(signing_failures).order_by(signing_failures.c.id.desc()).limit(limit)
    if name is not None:
        query = query.where(signing_failures.c.user_name == name)
    return [dict(row) for row in connection.execute(query).mappings()]


def check_people(connection: Connection, names: Iterable[str], field: str, *roles: str,
                 unchecked: str | None = None) -> None:
    """Refuse, naming the field, any name (but `unchecked`) that is no user's or whose user holds none of the roles."""
    for index, name in enumerate(names):
        if name == unchecked:
            continue
        user = find(connection, name)
        if user is None:
            raise InvalidInput(f"no user {name!r}", field=f"{field}[{index}]")
        if not any(role in user.roles for role in roles):
            raise InvalidInput(f"{name!r} does not hold the role {' or '.join(roles)}", field=f"{field}[{index}]")


def short_steps(connection: Connection, route: Route, author: str | None = None) -> list[tuple[int, int, int]]:
    """Return each step (from 0) that fewer people could sign than it asks for, with how many it asks and how
    many could: users it names who hold a signing role and holders of its roles, the author left out."""
    everyone = [_user(row) for row in connection.execute(select(users))]
    short = []
    for index, step in enumerate(route.steps):
        able = {u.name for u in everyone if u.name != author and any(r in SIGNING_ROLES for r in u.roles)
                and (u.name in step.users or any(r in u.roles for r in step.roles))}
        if len(able) < step.approvals:
            short.append((index, step.approvals, len(able)))
    return short
