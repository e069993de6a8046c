"""Settings, each read from a POLICY_LEDGER_* environment variable with a safe default."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _flag(value: str) -> bool:
    return value.lower() in ("1", "true", "yes", "on")


# name -> (default, parser); every one can be set as POLICY_LEDGER_<NAME>.
SETTINGS: dict[str, tuple[Any, Any]] = {
    "DATABASE_URL": (None, str),
    "ANONYMOUS_READS": (True, _flag),
    "MAX_CONTENT_LENGTH": (1024 * 1024, int),
    "IMPORT_MAX_BYTES": (20 * 1024 * 1024, int),  # the largest file an import takes (API and command line)
    "SIGNING_KEY_FILE": (None, str),
    "CHECKPOINT_INTERVAL_SECONDS": (0, int),
    "LOG_LEVEL": ("INFO", str),
    "DB_POOL_SIZE": (5, int),
    "BASE_URL": ("http://127.0.0.1:8000", str),
    "TIMEZONE": ("Asia/Bishkek", str),
    "INSTITUTION": ("Ош мамлекеттик университети", str),
    "SESSION_KEY_FILE": (None, str),
    "SECURE_COOKIES": (False, _flag),
    "METRICS": ("local", str),  # who may read /metrics: local (loopback only), token (admin, auditor), open, off
    "SIGNING_REQUIRES_PASSWORD": (True, _flag),  # a signature asks for the signer's password again
    # Notifications (policy-ledger worker): mail over SMTP, reminders, webhooks.
    "SMTP_HOST": (None, str),
    "SMTP_PORT": (None, int),
    "SMTP_TLS": ("none", str),
    "SMTP_USER": (None, str),
    "SMTP_PASSWORD": (None, str),
    "MAIL_FROM": ("policy-ledger@localhost", str),
    "REVIEW_REMINDER_DAYS": (30, int),
    "WEBHOOK_ALLOWED_HOSTS": ("", str),
}


def from_environment(instance_path: str) -> dict[str, Any]:
    """Return the configuration: environment values over defaults; SQLite under the instance folder by default."""
    config: dict[str, Any] = {}
    for name, (default, parse) in SETTINGS.items():
        raw = os.environ.get(f"POLICY_LEDGER_{name}")
        config[name] = parse(raw) if raw not in (None, "") else default
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'policy-ledger.sqlite3'}"
    return config
