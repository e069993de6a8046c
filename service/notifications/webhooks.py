"""Webhooks: registration by admins (with the URL checked), the signed POST of each delivery, and its record.

A URL must be http(s) and its host must not be, or resolve to, a loopback, link-local, private or otherwise
non-public address unless POLICY_LEDGER_WEBHOOK_ALLOWED_HOSTS names it (a host, an address or a CIDR range):
a webhook is no way to probe the intranet. Redirects are not followed, for the same reason.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import Connection, Engine, func, insert, select, update

from events.domain.canonical import format_time
from events.domain.errors import InvalidInput, NotFound
from events.domain.types import REGISTRY
from events.store.tables import events as events_table

from .outbox import worker_transaction
from .settings import NotifySettings
from .tables import notifications, webhook_attempts, webhooks

TIMEOUT = 10  # seconds a receiver has to answer
USER_AGENT = "policy-ledger-webhooks/1"
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def allowed(address: Address, host: str, allowed_hosts: tuple[str, ...]) -> bool:
    """Tell whether an address may be reached: a public one, or one the deployment allows by host or range."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_global and not address.is_multicast:
        return True
    for entry in allowed_hosts:
        if entry.lower() == host.lower():
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def addresses_of(host: str) -> list[Address]:
    """Return every address a host name resolves to (an address literal is itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url(url: str, allowed_hosts: tuple[str, ...]) -> str:
    """Return the URL if a webhook may target it; refuse it (naming the field `url`) if not."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed [IPv6] bracket
        raise InvalidInput("url is not a URL", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("url must be an http or https URL with a host", field="url")
    if parts.username or parts.password:
        raise InvalidInput("url must not carry a user name or password", field="url")
    try:
        parts.port  # noqa: B018  (a bad port raises here)
    except ValueError:
        raise InvalidInput("url has a port that is not a number from 0 to 65535", field="url") from None
    host = parts.hostname
    try:
        found = addresses_of(host)
    except (OSError, UnicodeError, ValueError):
        raise InvalidInput(f"url's host {host!r} does not resolve", field="url") from None
    refused = [str(a) for a in found if not allowed(a, host, allowed_hosts)]
    if refused:
        raise InvalidInput(f"url's host {host!r} is a loopback, link-local or private address ({', '.join(refused)}); "
                           "a webhook may reach only public hosts unless WEBHOOK_ALLOWED_HOSTS names it", field="url")
    return url.strip()


def check_events(names: list[str]) -> list[str]:
    """Return the event types asked for, or refuse unknown ones (naming the field `events`)."""
    if not names:
        raise InvalidInput("events must name at least one event type, or be [\"*\"]", field="events")
    unknown = [n for n in names if n != "*" and n not in REGISTRY]
    if unknown:
        raise InvalidInput(f"unknown event type(s): {', '.join(unknown)}; known: {', '.join(sorted(REGISTRY))}",
                           field="events")
    return ["*"] if "*" in names else list(dict.fromkeys(names))


def register(engine: Engine, settings: NotifySettings, *, url: str, events: list[str], description: str | None,
             actor: str, now: datetime) -> dict[str, Any]:
    """Register a webhook for events after the log's head now; return it with its secret (shown only now)."""
    row = {"id": f"whk-{secrets.token_hex(8)}", "url": check_url(url, settings.webhook_allowed_hosts),
           "events": json.dumps(check_events(events)), "description": description, "secret": secrets.token_hex(32),
           "created_at": format_time(now), "created_by": actor, "active": True, "removed": False}
    with worker_transaction(engine) as connection:
        row["from_position"] = connection.execute(
            select(func.coalesce(func.max(events_table.c.position), 0))).scalar_one()
        connection.execute(insert(webhooks).values(**row))
    return {**view(row), "secret": row["secret"]}


def view(row: Any) -> dict[str, Any]:
    """Return a webhook as the API shows it (never its secret)."""
    return {"id": row["id"], "url": row["url"], "events": json.loads(row["events"]),
            "description": row["description"], "created_at": row["created_at"], "created_by": row["created_by"],
            "active": bool(row["active"]), "failing_since": row.get("failing_since"),
            "disabled_at": row.get("disabled_at")}


def listed(connection: Connection) -> list[dict[str, Any]]:
    """Return every webhook not removed, oldest first."""
    rows = connection.execute(select(webhooks).where(webhooks.c.removed.is_(False))
                              .order_by(webhooks.c.created_at, webhooks.c.id)).mappings()
    return [view(dict(row)) for row in rows]


def require(connection: Connection, webhook_id: str) -> dict[str, Any]:
    """Return one webhook not removed, or refuse with NotFound."""
    row = connection.execute(select(webhooks).where(webhooks.c.id == webhook_id,
                                                    webhooks.c.removed.is_(False))).mappings().first()
    if row is None:
        raise NotFound(f"no webhook {webhook_id!r}", field="id")
    return dict(row)


def remove(engine: Engine, webhook_id: str) -> None:
    """Remove a webhook: nothing more is delivered to it (its attempts stay on record)."""
    with worker_transaction(engine) as connection:
        require(connection, webhook_id)
        connection.execute(update(webhooks).where(webhooks.c.id == webhook_id).values(removed=True, active=False))
        connection.execute(update(notifications).where(notifications.c.channel == "webhook",
                                                       notifications.c.recipient == webhook_id,
                                                       notifications.c.status == "pending")
                           .values(status="failed", last_error="webhook removed"))


def attempts(connection: Connection, webhook_id: str, after: int | None, limit: int) -> list[dict[str, Any]]:
    """Return a webhook's delivery attempts, oldest first, after an attempt id."""
    query = (select(webhook_attempts).where(webhook_attempts.c.webhook_id == webhook_id)
             .order_by(webhook_attempts.c.id).limit(limit))
    if after is not None:
        query = query.where(webhook_attempts.c.id > after)
    return [dict(row) for row in connection.execute(query).mappings()]


def signature(secret: str, body: bytes) -> str:
    """Return the X-Policy-Ledger-Signature header's value: the HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """What one POST came to: a status code, or an error that stopped it."""

    status: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        """Tell whether the receiver took it (a 2xx answer)."""
        return self.status is not None and 200 <= self.status < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer (3xx, not 2xx), never followed


_opener = urllib.request.build_opener(_NoRedirects)


def post(hook: dict[str, Any], delivery: dict[str, Any], allowed_hosts: tuple[str, ...],
         timeout: float = TIMEOUT) -> Outcome:
    """POST one delivery to its webhook, signed; return the status code or what went wrong."""
    host = urlsplit(hook["url"]).hostname or ""
    try:
        refused = [str(a) for a in addresses_of(host) if not allowed(a, host, allowed_hosts)]
    except (OSError, UnicodeError, ValueError) as error:
        return Outcome(None, f"host does not resolve: {error}")
    if refused:
        return Outcome(None, f"host resolves to a private address ({', '.join(refused)})")
    body = delivery["body"].encode("utf-8")
    request = urllib.request.Request(hook["url"], data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
        "X-Policy-Ledger-Event": delivery["kind"], "X-Policy-Ledger-Delivery": delivery["id"],
        "X-Policy-Ledger-Signature": signature(hook["secret"], body)})
    try:
        with _opener.open(request, timeout=timeout) as answer:
            return Outcome(answer.status, None)
    except urllib.error.HTTPError as error:
        error.close()
        return Outcome(error.code, None)
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", error)
        return Outcome(None, f"{type(reason).__name__}: {reason}"[:500])
