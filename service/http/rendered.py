"""Answers rendered once per change of a policy: the reads made most (the policy in force now, as JSON and as
a page), answered from memory while nothing was written since they were rendered.

Each answer remembers the database's change token when it was rendered (`EventStore.change_token`: on SQLite
the database's own count of commits by other connections, on PostgreSQL the head of the log). A request for
an answer checks the token first, so a write by any worker or host is seen at once; a conditional request
whose ETag is the kept answer's is answered 304 by `NotModified`, in front of the Flask app, without
routing, parsing or reading anything else.
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

from events.domain.canonical import format_time
from service.bootstrap import Services

from .caching import tags

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


@dataclass(frozen=True)
class Rendered:
    """One answer about a policy, as it was when the policy's stream stood at `stream_version`."""

    stream_version: int
    until: str | None  # when the next published version takes effect, and this answer stops being true
    etag: str
    body: bytes
    token: Any = None  # the database's change token when the answer was rendered
    cache_control: str = "public, no-cache"
    vary: str | None = None


class RenderedAnswers:
    """Rendered answers by key, each good while its policy's stream has not moved and `until` is ahead."""

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: OrderedDict[str, Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, stream_version: int, now: str) -> Rendered | None:
        """Return the kept answer if it is still the answer at `stream_version` and `now`."""
        found = self.peek(key)
        if (found is None or found.stream_version != stream_version
                or (found.until is not None and now >= found.until)):
            return None
        return found

    def peek(self, key: str) -> Rendered | None:
        """Return the kept answer under a key, unchecked."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, rendered: Rendered) -> None:
        """Keep an answer, dropping the least recently stored one beyond the size."""
        with self._lock:
            self._entries[key] = rendered
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def answers() -> RenderedAnswers:
    """Return the app's rendered answers (one set per app, made on first use)."""
    found: RenderedAnswers = current_app.extensions.setdefault("policy_ledger_rendered", RenderedAnswers())
    return found


# ---- 304s before Flask --------------------------------------------------------------------------

_JSON = re.compile(r"/api/v1/policies/([A-Za-z0-9][A-Za-z0-9._-]{0,199})")
_PAGE = re.compile(r"/policies/([A-Za-z0-9][A-Za-z0-9._-]{0,199})")
_LANGUAGE_QUERY = re.compile(r"lang=(ky|ru|en)")


class NotModified:
    """Answer a conditional GET of a kept answer with 304 before the Flask app runs, when the ETag the client
    holds is the kept answer's, it has not expired, and nothing was written since it was rendered.

    Anything else (another path, a query, a token or a session, another ETag, a write since) goes to the app,
    which decides as it always does. Counted and logged like every other request.
    """

    def __init__(self, app: WSGIApp, services: Services, kept: RenderedAnswers,
                 language: Callable[[dict[str, Any]], str | None], anonymous_reads: bool,
                 record: Callable[..., None]) -> None:
        self.app, self.services, self.kept = app, services, kept
        self.language, self.anonymous_reads, self.record = language, anonymous_reads, record

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        held = environ.get("HTTP_IF_NONE_MATCH")
        if held and self.anonymous_reads and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            started = time.perf_counter()
            found = self._kept(environ)
            if found is not None and found.etag in tags(held) and self._fresh(found):
                request_id = os.urandom(16).hex()
                headers = [("ETag", found.etag), ("Cache-Control", found.cache_control), ("X-Request-ID", request_id)]
                if found.vary:
                    headers.append(("Vary", found.vary))
                start_response("304 NOT MODIFIED", headers)
                self.record(environ["REQUEST_METHOD"], environ.get("PATH_INFO", ""), "304 of a kept answer", 304,
                            time.perf_counter() - started, request_id, None)
                return [b""]
        return self.app(environ, start_response)

    def _kept(self, environ: dict[str, Any]) -> Rendered | None:
        if "HTTP_AUTHORIZATION" in environ:
            return None  # a token must be checked, and the app does that
        path, query = environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", "")
        if not query and (match := _JSON.fullmatch(path)):
            return self.kept.peek(match.group(1))
        if (match := _PAGE.fullmatch(path)) and (not query or _LANGUAGE_QUERY.fullmatch(query)):
            if "policy_ledger_session=" in environ.get("HTTP_COOKIE", ""):
                return None  # a signed-in reader's page names them
            language = self.language(environ)
            return self.kept.peek(f"page {match.group(1)} {language}") if language else None
        return None

    def _fresh(self, found: Rendered) -> bool:
        if found.until is not None and format_time(self.services.ledger.clock()) >= found.until:
            return False
        return found.token is not None and bool(self.services.store.change_token() == found.token)


def shortcut_not_modified(app: Flask, language: Callable[[dict[str, Any]], str | None],
                          record: Callable[..., None]) -> None:
    """Put NotModified in front of the app's WSGI callable."""
    from service.bootstrap import services
    with app.app_context():
        kept = answers()
        found = services()
    app.wsgi_app = NotModified(app.wsgi_app, found, kept, language,  # type: ignore[method-assign]
                               app.config["ANONYMOUS_READS"], record)
