"""E-mail over SMTP with the standard library: one connection per batch, plain text with an HTML alternative."""
from __future__ import annotations

import base64
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any

from .settings import NotifySettings

TIMEOUT = 30  # seconds to wait for the mail server


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx answer): trying again would not help."""


class TransientFailure(Exception):
    """The server put the message off (a 4xx answer): try it again later; the connection still serves others."""


def build(settings: NotifySettings, row: dict[str, Any]) -> Message:
    """Return the message of an outbox row, with a Message-ID stable across retries (for deduplication).

    Built with the classic MIME classes and `Header`: the modern EmailMessage folds a long non-ASCII subject
    with the space between two words as the folding white space, which readers drop ("Ош мамлекеттик" would
    arrive as "Ошмамлекеттик"); `Header` keeps every space inside its encoded words.
    """
    message = MIMEMultipart("alternative")
    message["From"] = settings.mail_from
    message["To"] = row["address"]
    message["Subject"] = Header(row["subject"], "utf-8")  # type: ignore[assignment]  # compat32 takes a Header
    message["Date"] = formatdate(localtime=False)
    domain = settings.mail_from.rpartition("@")[2] or "policy-ledger"
    message["Message-ID"] = f"<{row['id']}@{domain}>"
    message["X-Policy-Ledger-Notification"] = row["kind"]
    if row.get("language"):
        message["Content-Language"] = row["language"]
    message.attach(MIMEText(row["body"], "plain", "utf-8"))
    if row.get("html"):
        message.attach(MIMEText(row["html"], "html", "utf-8"))
    return message


@contextmanager
def connection(settings: NotifySettings) -> Iterator[smtplib.SMTP]:
    """Open an SMTP connection as the settings say (plain, STARTTLS or TLS from the start; log in if a user)."""
    if not settings.smtp_host:
        raise RuntimeError("POLICY_LEDGER_SMTP_HOST is not set: the worker has nowhere to send mail")
    client: smtplib.SMTP
    if settings.smtp_tls == "ssl":
        client = smtplib.SMTP_SSL(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT,
                                  context=ssl.create_default_context())
    else:
        client = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT)
    try:
        if settings.smtp_tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            log_in(client, settings.smtp_user, settings.smtp_password or "")
        yield client
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def log_in(client: smtplib.SMTP, user: str, password: str) -> None:
    """Log in; a user name or password beyond ASCII (which smtplib cannot send) goes as AUTH PLAIN in UTF-8."""
    if user.isascii() and password.isascii():
        client.login(user, password)
        return
    client.ehlo_or_helo_if_needed()
    token = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, answer = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def send(client: smtplib.SMTP, settings: NotifySettings, row: dict[str, Any]) -> None:
    """Send one outbox row's message; a refusal for good raises PermanentFailure, anything else as it comes."""
    try:
        client.send_message(build(settings, row))
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        if all(500 <= code < 600 for code in codes):
            raise PermanentFailure(str(error.recipients)) from error
        raise TransientFailure(str(error.recipients)) from error
    except smtplib.SMTPResponseException as error:
        if 500 <= error.smtp_code < 600:
            raise PermanentFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
        if 400 <= error.smtp_code < 500:
            raise TransientFailure(f"{error.smtp_code} {error.smtp_error!r}") from error
        raise
