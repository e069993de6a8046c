"""A real SMTP server for tests (aiosmtpd on a free loopback port) that keeps every message it takes."""
from __future__ import annotations

import email
import email.policy
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.support.servers import free_port, self_signed

# Who the demo's story concerns, event by event (the actor of each is never told of their own doing).
DEMO_MESSAGES = Counter({
    # 2019: version 1 adopted by the quality office: everyone else must acknowledge it, but the teacher
    # acknowledged version 2 since, so is not asked to read version 1.
    **{(name, "acknowledgement_needed"): 1 for name in
       ("dean", "head-of-department", "reviewer1", "reviewer2", "qa-director", "rector", "auditor", "lecturer")},
    # 2021: submitted twice to two reviewers; one asks for changes; when both approve, both approvers must sign.
    ("reviewer1", "review_requested"): 2, ("reviewer2", "review_requested"): 3,  # the third: 2024's submission
    ("head-of-department", "changes_requested"): 1,
    ("qa-director", "signature_needed"): 1, ("rector", "signature_needed"): 1,
    # published by the QA director: its author is told, and everyone but the two (and the teacher) must read it
    ("head-of-department", "published"): 1,
    **{(name, "acknowledgement_needed"): 2 for name in ("dean", "reviewer1", "reviewer2", "rector", "auditor",
                                                                        "lecturer")},
    ("quality-office", "acknowledgement_needed"): 1,
    # 2024: the rector rejects the proposal; its author is told.
    ("head-of-department", "rejected"): 1,
    # the 2022 review's next date (2023) has passed: the owner is reminded.
    ("quality-office", "review_overdue"): 1,
})


class Mailbox:
    """What the server took, in order; `before_accept` may refuse or hold a message (return an SMTP reply)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.before_accept: Callable[[EmailMessage], str | None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802  (aiosmtpd's hook)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if self.before_accept is not None:
            answer = self.before_accept(message)
            if answer is not None:
                return answer
        with self.lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def taken(self) -> list[EmailMessage]:
        """Return a copy of the messages taken so far."""
        with self.lock:
            return list(self.messages)


def certificate(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key for the mail server; return their paths."""
    return self_signed(directory, "smtp-cert.pem", "smtp-key.pem")


def _login(user: str, password: str) -> Callable[..., AuthResult]:
    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            user.encode(), password.encode())
        return AuthResult(success=good, handled=False)

    return authenticator


@contextmanager
def smtp_server(tls: str = "none", cert: tuple[Path, Path] | None = None,
                login: tuple[str, str] | None = None) -> Iterator[tuple[Mailbox, int]]:
    """Run an SMTP server on a free loopback port (plain, STARTTLS required, or TLS from the start; a login
    required when given); yield its mailbox and port."""
    mailbox = Mailbox()
    port = free_port()
    options: dict[str, Any] = {}
    if tls != "none":
        assert cert is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        options.update(ssl_context=context) if tls == "ssl" else options.update(tls_context=context,
                                                                                 require_starttls=True)
    if login is not None:
        # Over TLS from the start aiosmtpd does not know the connection is encrypted: it must offer AUTH anyway
        # (and then cannot insist on it without a warning; a wrong password is still refused).
        options.update(authenticator=_login(*login), auth_required=tls != "ssl", auth_require_tls=tls != "ssl")
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def text_of(message: EmailMessage, subtype: str = "plain") -> str:
    """Return a message's plain-text (or HTML) part."""
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    return str(part.get_content())
