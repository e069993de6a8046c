"""The pages for people: server-rendered, in Kyrgyz, Russian and English, working with JavaScript off.

They read the same read models as the API (through `service.queries` and `projections`) and write through
the same use cases; the actor of every write is the signed-in user.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Request, render_template, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask.wrappers import Response
from flask_babel import Babel, get_locale
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from service.http import problems

from . import audit, campaigns, finding, i18n, people, reading, workspace

PAGES = (people.people, reading.reading, audit.console, workspace.workspace, finding.finding, campaigns.campaigns)

TRANSLATIONS = Path(__file__).with_name("translations")
csrf = CSRFProtect()
# No inline script or style anywhere; assets only from this site (the service runs on intranets).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "object-src 'none'")
NOT_PAGES = ("/api/", "/health", "/metrics")


class PageSessions(SecureCookieSessionInterface):
    """Sessions for the pages only: an API request (bearer tokens) never opens, reads or writes one."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(NOT_PAGES):
            return self.make_null_session(app)
        return super().open_session(app, request)


def _session_key(app: Flask) -> bytes:
    """Return the key that signs sessions: SESSION_KEY_FILE, else one made on first use in the instance folder."""
    configured = app.config.get("SESSION_KEY_FILE")
    path = Path(configured) if configured else Path(app.instance_path) / "session-key"
    if not path.exists() and not configured:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # exclusively, so workers starting together agree on one key
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(secrets.token_bytes(32))
    key = path.read_bytes()
    if len(key) < 32:
        raise RuntimeError(f"the session key {path} holds fewer than 32 bytes")
    return key


def _security_headers(response: Response) -> Response:
    if request.path.startswith(NOT_PAGES):
        return response
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
    response.vary.add("Cookie")
    response.vary.add("Accept-Language")
    return i18n.remember_language(response)


def wants_page() -> bool:
    """Tell whether an error should be answered as a page rather than a problem document."""
    if request.path.startswith(NOT_PAGES):
        return False
    best = request.accept_mimetypes.best_match(("text/html", "application/json", "application/problem+json"))
    return best == "text/html"


def error_page(error: HTTPException) -> Response:
    """Render an HTTP error as a page, in the reader's language."""
    response = Response(render_template("web/error.html", error=error), status=error.code or 500,
                        mimetype="text/html")
    for name, value in ((getattr(error, "data", None) or {}).get("headers") or {}).items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Install the pages: languages, sessions, CSRF protection, security headers and the page blueprints."""
    app.secret_key = _session_key(app)
    app.session_interface = PageSessions()
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=app.config["SECURE_COOKIES"],
        SESSION_COOKIE_NAME="policy_ledger_session", PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked on the pages' forms only: the API takes bearer tokens, not cookies
        WTF_CSRF_TIME_LIMIT=None, WTF_CSRF_SSL_STRICT=app.config["SECURE_COOKIES"],
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
    )
    Babel(app, locale_selector=i18n.select_locale)
    csrf.init_app(app)
    app.jinja_env.globals.update(human_date=lambda value: i18n.human_date(value, str(get_locale())),
                                 human_time=lambda value: i18n.human_time(value, str(get_locale())),
                                 day=i18n.day, in_language=i18n.in_language)
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def page_context() -> dict[str, Any]:
        return {"institution": app.config["INSTITUTION"], "current_user": people.current_user,
                "languages": i18n.NAMES, "lang": str(get_locale() or "en")}

    for blueprint in PAGES:
        app.register_blueprint(blueprint)
    app.before_request(_protect_forms)
    app.after_request(_security_headers)
    problems.serve_pages(app, wants_page, error_page)


def _protect_forms() -> None:
    if request.method == "POST" and request.blueprint in {blueprint.name for blueprint in PAGES}:
        csrf.protect()
