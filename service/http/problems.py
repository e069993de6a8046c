"""Every error as an RFC 9457 problem document; nothing a client sends becomes a bare 500."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, json, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from events.domain import errors as domain

log = logging.getLogger(__name__)
Refusal = TypeVar("Refusal", bound=HTTPException)

PROBLEM_TYPE = "urn:policy-ledger:problem:"
STATUS_FOR: list[tuple[type[domain.DomainError], int]] = [
    (domain.InvalidInput, 422),
    (domain.IdempotencyMismatch, 422),
    (domain.NotFound, 404),
    (domain.Forbidden, 403),
    (domain.ConcurrencyError, 409),
    (domain.DomainError, 409),  # wrong state, conflicts, approval rule: the request fits, the moment does not
]


def problem(status: int, title: str, detail: str | None = None, *, code: str | None = None,
            errors: dict[str, list[str]] | None = None, **extra: Any) -> Response:
    """Build a problem+json response."""
    body: dict[str, Any] = {"type": PROBLEM_TYPE + (code or str(status)), "title": title, "status": status,
                            "detail": detail or title}
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    return response


def refusal(kind: type[Refusal], message: str, *, messages: dict[str, Any] | None = None,
            headers: dict[str, str] | None = None) -> Refusal:
    """Return an HTTP error whose problem document says `message`, names the fields in `messages` (by where
    they were sent: json, query, headers) and carries `headers` (webargs' `data` convention)."""
    error = kind(message)
    data: dict[str, Any] = {"message": message}
    if messages:
        data["messages"] = messages
    if headers:
        data["headers"] = headers
    error.data = data  # type: ignore[attr-defined]
    return error


def from_domain(error: domain.DomainError, status: int | None = None) -> Response:
    """Map a domain refusal to its HTTP status, naming the rule and the field."""
    if status is None:
        status = next(code for cls, code in STATUS_FOR if isinstance(error, cls))
    errors = {error.field: [error.message]} if error.field else None
    return problem(status, error.code.replace("_", " "), error.message, code=error.code, errors=errors,
                   **error.details)


def _flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow's nested messages ({"json": {"a": {"0": [...]}}}) into dotted field names."""
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix or "body": messages}
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if not prefix and key in ("json", "query", "headers", "form", "files", "path"):
                flat.update(_flatten(value, ""))
                continue
            name = f"{prefix}[{key}]" if isinstance(key, int) or str(key).isdigit() else (
                f"{prefix}.{key}" if prefix else str(key))
            flat.update(_flatten(value, name))
    else:
        flat[prefix or "body"] = [str(messages)]
    return flat


PAGES = "policy_ledger_error_pages"


def serve_pages(app: Flask, wants_page: Callable[[], bool], render: Callable[[HTTPException], Response]) -> None:
    """Answer errors of requests for pages as pages; every other error stays a problem document."""
    app.extensions[PAGES] = (wants_page, render)


def _http_error(error: HTTPException) -> Response:
    response = _error_response(error)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        # RFC 9110: a 405 names the methods the resource does answer.
        response.headers["Allow"] = ", ".join(sorted(error.valid_methods))
    return response


def _error_response(error: HTTPException) -> Response:
    pages = current_app.extensions.get(PAGES)
    if pages is not None and pages[0]():
        return pages[1](error)
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    errors = _flatten(messages) if messages else None
    detail = data.get("message") or error.description
    if errors and (not detail or detail == error.description):
        detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items())
    response = problem(error.code or 500, error.name, detail, errors=errors)
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def init_app(app: Flask) -> None:
    """Register the handlers that turn every error into a problem document."""

    @app.errorhandler(domain.DomainError)
    def domain_error(error: domain.DomainError) -> Response:
        if isinstance(error, domain.ConcurrencyError) and request.headers.get("If-Match"):
            return from_domain(error, 412)  # the client's precondition failed; nothing was appended
        return from_domain(error)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        return _http_error(error)

    @app.errorhandler(OperationalError)
    def database_down(error: OperationalError) -> Response:
        log.warning("database unavailable: %s", error)
        response = problem(503, "Service Unavailable", "the database is unavailable; retry shortly",
                           code="database_unavailable")
        response.headers["Retry-After"] = "5"
        return response

    @app.errorhandler(DBAPIError)
    def database_error(error: DBAPIError) -> Response:
        if error.connection_invalidated:
            return database_down(error)  # type: ignore[arg-type]
        log.exception("database error")
        return problem(500, "Internal Server Error", "the request could not be completed", code="internal")

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unhandled error")
        return problem(500, "Internal Server Error", "the request could not be completed", code="internal")
