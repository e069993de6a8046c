"""What the worker and the webhooks read from the app's configuration (POLICY_LEDGER_* settings)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SMTP_TLS = ("none", "starttls", "ssl")


@dataclass(frozen=True, kw_only=True)
class NotifySettings:
    """Where links point, how mail goes out, when reminders start, which private hosts a webhook may reach."""

    base_url: str = "http://127.0.0.1:8000"
    timezone: str = "Asia/Bishkek"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_tls: str = "none"
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "policy-ledger@localhost"
    review_reminder_days: int = 30
    webhook_allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NotifySettings:
        """Read the settings from a Flask app's configuration."""
        tls = str(config.get("SMTP_TLS") or "none").lower()
        if tls not in SMTP_TLS:
            raise ValueError(f"SMTP_TLS must be one of {', '.join(SMTP_TLS)}, not {tls!r}")
        allowed = config.get("WEBHOOK_ALLOWED_HOSTS") or ()
        if isinstance(allowed, str):
            allowed = tuple(part.strip() for part in allowed.split(",") if part.strip())
        return cls(base_url=str(config.get("BASE_URL") or cls.base_url).rstrip("/"),
                   timezone=str(config.get("TIMEZONE") or cls.timezone),
                   smtp_host=config.get("SMTP_HOST") or None,
                   smtp_port=int(config.get("SMTP_PORT") or (465 if tls == "ssl" else 25)),
                   smtp_tls=tls, smtp_user=config.get("SMTP_USER") or None,
                   smtp_password=config.get("SMTP_PASSWORD") or None,
                   mail_from=str(config.get("MAIL_FROM") or cls.mail_from),
                   review_reminder_days=int(config.get("REVIEW_REMINDER_DAYS") or 30),
                   webhook_allowed_hosts=tuple(allowed))

    def link(self, path: str) -> str:
        """Return the public address of a page."""
        return f"{self.base_url}{path}"
