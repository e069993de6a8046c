"""What every API blueprint shares: the blueprint class, the fields and schemas of the conventions, problems, reads."""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from functools import partial, wraps
from typing import Any, ClassVar, Generic, TypeVar

import flask_smorest
from apispec import BasePlugin
from flask import current_app, request
from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate
from sqlalchemy import Connection
from webargs.flaskparser import FlaskParser
from webargs.multidictproxy import MultiDictProxy
from werkzeug.datastructures import CombinedMultiDict

from events.domain.canonical import format_time
from events.domain.commands import Command
from events.domain.document import KINDS
from events.domain.errors import InvalidInput, NotFound, WrongState
from events.domain.rules import APPROVALS, APPROVING_MEANINGS, ROUTE_STEPS, SIGNING_ROLES, Route
from projections import catalog
from service import accounts, queries
from service.bootstrap import services
from service.http import guards
from service.http.caching import REVALIDATE
from service.http.paging import DEFAULT_LIMIT, MAX_LIMIT, BadCursor, decode_cursor

C = TypeVar("C", bound=Command)
MAX_INT = guards.MAX_INT
QUERY = {"location": "query", "unknown": RAISE}  # webargs would otherwise drop unknown query parameters


# ---- reads ------------------------------------------------------------------------------------------

@contextmanager
def reading() -> Iterator[Connection]:
    """Open one consistent snapshot for a read."""
    with queries.snapshot() as connection:
        yield connection


def now() -> str:
    """Return the ledger's clock reading as stored text."""
    return format_time(services().ledger.clock())


def policy_row(connection: Connection, pid: str) -> dict[str, Any]:
    """Return a policy's catalogue row or refuse with 404."""
    row = catalog.get(connection, pid)
    if row is None:
        raise NotFound(f"no policy {pid!r}", field="pid")
    return row


def public(directive: str = REVALIDATE) -> str:
    """Return Cache-Control for published content: shared caches may keep it only when anyone may read it."""
    return ("public, " if current_app.config["ANONYMOUS_READS"] else "private, ") + directive


# ---- fields ------------------------------------------------------------------------------------

class Text(fields.String):
    """A string without NUL or other control characters (tabs and line breaks allowed)."""

    _CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if self._CONTROL.search(text):
            raise ValidationError("must not contain control characters")
        return text


class Moment(fields.AwareDateTime):
    """An RFC 3339 time with an offset, loaded as the ledger's fixed-width UTC text."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:  # type: ignore[override]
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            moment = moment.astimezone(UTC)
        except (OverflowError, ValueError):
            raise ValidationError("time is out of range") from None
        if not 1000 <= moment.year <= 9999:
            raise ValidationError("the year must be from 1000 to 9999")
        return format_time(moment)


class Cursor(fields.String):
    """An opaque paging cursor holding the last key of the page before, checked against the key's shape."""

    def __init__(self, *shape: type, **kwargs: Any) -> None:
        super().__init__(**kwargs, metadata={"description": "opaque; pass next_cursor from the page before"})
        self.shape = shape

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            key = decode_cursor(text)
        except BadCursor:
            raise ValidationError("not a cursor this service issued") from None
        parts = key if len(self.shape) > 1 else [key]
        if (not isinstance(parts, list) or len(parts) != len(self.shape)
                or not all(type(p) is t for p, t in zip(parts, self.shape, strict=True))
                or any(type(p) is int and not 0 <= p <= 2**62 for p in parts)):
            raise ValidationError("not a cursor this service issued")
        return tuple(parts) if len(self.shape) > 1 else key


class NonBlank(validate.Validator):
    """Refuse a string of only white space."""

    error = "must not be blank"

    def __call__(self, value: str) -> str:
        if not value.strip():
            raise ValidationError(self.error)
        return value


def count(minimum: int = 1, maximum: int = MAX_INT, **kwargs: Any) -> fields.Integer:
    """Return a strict whole-number field within bounds."""
    return fields.Integer(strict=True, validate=validate.Range(min=minimum, max=maximum), **kwargs)


def time(**kwargs: Any) -> fields.String:
    """Return an answer's time field: fixed-width UTC text."""
    return fields.String(metadata={"format": "date-time", "description": "UTC"}, **kwargs)


def reason() -> Text:
    """Return the `reason` field every write takes."""
    return Text(validate=validate.Length(max=2000), metadata={"description": "why: shown in the audit trail"})


class Strict(Schema):
    """Refuse unknown fields, naming them; an empty `cursor=` asks for the first page, as no cursor does."""

    class Meta:
        unknown = RAISE

    @pre_load
    def empty_cursor(self, data: Any, **kwargs: Any) -> Any:
        """Drop an empty cursor: clients fill the parameter from the `next_cursor` of a page before, or leave it."""
        if "cursor" in self.fields and hasattr(data, "get") and data.get("cursor") == "":
            return {key: data[key] for key in data if key != "cursor"}
        return data


class ListQuery(Strict):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(min=1, max=MAX_LIMIT),
                           metadata={"description": f"items per page, 1 to {MAX_LIMIT}"})


class NoQuery(Strict):
    """No query parameters at all."""


# ---- write bodies become commands ---------------------------------------------------------------

@dataclass(frozen=True)
class Parsed(Generic[C]):
    """A write body, parsed: its command, waiting for the ids the path gives, and the reason it states."""

    make: Callable[..., C]
    reason: str | None

    def command(self, **ids: Any) -> C:
        """Return the command for the resource the path names."""
        return self.make(**ids)


class CommandInput(Strict):
    """A write body that asks for one command; `reason` goes beside it, into the event's metadata."""

    command: ClassVar[type[Command]]

    def to_command(self, data: dict[str, Any]) -> dict[str, Any]:
        """Return the command's fields from the parsed body (what is not the reason)."""
        return data

    @post_load
    def _parsed(self, data: dict[str, Any], **kwargs: Any) -> Parsed[Any]:
        stated = data.pop("reason", None)
        return Parsed(partial(self.command, **self.to_command(data)), stated)


# ---- answers and their documentation ---------------------------------------------------------------

class Problem(Schema):
    """An RFC 9457 problem document."""

    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "messages per field, dotted for nested fields"})
    code = fields.String(metadata={"description": "the refusal in one word, for programs (`stale_version`, …)"})
    conflicts = fields.List(fields.String(), metadata={"description": "409: sections changed since the base"})
    expected_version = fields.Integer(metadata={"description": "409/412: the stream version the request expected"})
    actual_version = fields.Integer(metadata={"description": "409/412: the stream version it found"})
    scheduled = fields.Dict(metadata={"description": "404 nothing in force: the version that takes effect later"})
    retry_after = fields.Integer(metadata={"description": "429: seconds to wait before trying again"})
    retired_from = fields.String(metadata={"description": "404 policy retired: from when it is in force nowhere"})
    retired_reason = fields.String(metadata={"description": "404 policy retired: why (its retirement's summary)"})


class Page(Schema):
    next_cursor = fields.String(allow_none=True)


class Section(Schema):
    """A section of a document, with the sections under it."""

    id = fields.String()
    kind = fields.String(metadata={"enum": list(KINDS)})
    label = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    text = fields.String()
    children = fields.List(fields.Nested(lambda: Section()))


IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                 "description": "an ETag from an earlier read: 304 when nothing changed"}
IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
            "description": "the ETag of the last read of this policy or revision: 412 and nothing written when stale"}
IDEMPOTENCY_KEY = {"in": "header", "name": "Idempotency-Key", "required": False,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                   "description": "a retry with the same key and body gets the first answer and writes nothing"}
WRITE_HEADERS = (IF_MATCH, IDEMPOTENCY_KEY)
PROBLEMS = {
    400: "malformed JSON or a body nested too deep",
    401: "no token, or a bad one",
    403: "the role or separation of duties refuses",
    404: "no such policy, version, revision or section",
    409: "the revision's state does not allow it, or its sections changed since its base (`conflicts`)",
    412: "If-Match is stale: nothing was written",
    413: "the body is larger than the deployment allows",
    415: "the body is not sent as application/json",
    422: "a field is missing, unknown or invalid; `errors` names it",
}
READ_PROBLEMS = (401, 404, 422)
WRITE_PROBLEMS = (400, 401, 403, 404, 409, 412, 413, 415, 422)


HEADERS_KEY = "x-policy-ledger-headers"  # where a view's documented request headers wait for HeadersPlugin


class HeadersPlugin(BasePlugin):
    """Move the request headers a view documents into its operation's parameters, beside the query's."""

    def operation_helper(self, path: str | None = None, operations: dict[str, Any] | None = None,
                         **kwargs: Any) -> None:
        for operation in (operations or {}).values():
            headers = operation.pop(HEADERS_KEY, None)
            if headers:
                operation.setdefault("parameters", []).extend(headers)
                if IF_NONE_MATCH in headers:  # a conditional read also answers 304, with no body
                    operation.setdefault("responses", {})["304"] = {
                        "description": "Not Modified: the ETag still matches"}


class Parser(FlaskParser):
    """webargs' Flask parser, with one more location: a multipart body's fields and files, read as one."""

    __location_map__ = {**FlaskParser.__location_map__, "multipart": "load_multipart"}  # noqa: RUF012

    def load_multipart(self, req: Any, schema: Any) -> Any:
        """Return a multipart body's fields and files as one mapping."""
        return MultiDictProxy(CombinedMultiDict([req.form, req.files]), schema)


class Blueprint(flask_smorest.Blueprint):
    """A resource's blueprint: ids in its paths are checked first, and its views can document headers."""

    ARGUMENTS_PARSER = Parser()
    # A file and the fields beside it are one multipart/form-data body, described as one schema.
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {  # noqa: RUF012 (flask-smorest's own class attribute)
        **flask_smorest.Blueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING, "multipart": "multipart/form-data"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.before_request(guards.path_ids)

    def arguments(self, schema: Any, *args: Any, **kwargs: Any) -> Callable[[Any], Any]:
        """Parse a view's arguments; a request without a query string gets the query schema's defaults, parsed
        once here rather than on every request (what the most frequent read, the policy in force now, asks)."""
        decorate = super().arguments(schema, *args, **kwargs)
        if kwargs.get("location") != "query":
            return decorate
        try:
            defaults = (schema() if isinstance(schema, type) else schema).load({})
        except ValidationError:
            return decorate  # a required parameter: every request is parsed, and answered 422 without it

        def with_defaults(view: Any) -> Any:
            parsed = decorate(view)

            @wraps(parsed)
            def wrapper(*view_args: Any, **view_kwargs: Any) -> Any:
                if request.query_string:
                    return parsed(*view_args, **view_kwargs)
                return view(*view_args, dict(defaults), **view_kwargs)

            return wrapper

        return with_defaults

    def problems(self, *codes: int, headers: tuple[dict[str, Any], ...] = ()) -> Callable[[Any], Any]:
        """Document the problem documents a view may answer, and the request headers it reads, in one layer.

        (`alt_response` would wrap the view once per code; request headers go through HeadersPlugin, since
        `parameters` given here would replace the query's.)
        """
        responses = {str(code): {"description": PROBLEMS[code],
                                 "content": {"application/problem+json": {"schema": Problem}}} for code in codes}
        return self.doc(responses=responses, **({HEADERS_KEY: list(headers)} if headers else {}))


# ---- approval routes, as policies and revisions take them ---------------------------------------

class StepInput(Strict):
    approvals = count(*APPROVALS, load_default=1)
    users = fields.List(Text(validate=[validate.Length(min=1, max=200), NonBlank()]), validate=validate.Length(max=50),
                        metadata={"description": "named signers (each must hold the approver or admin role)"})
    roles = fields.List(fields.String(validate=validate.OneOf(SIGNING_ROLES)), validate=validate.Length(max=5))
    meanings = fields.List(fields.String(validate=validate.OneOf(sorted(APPROVING_MEANINGS))),
                           metadata={"description": "the meanings that count (default: every one but `reviewed`)"})


class RouteInput(Strict):
    """Either the simple rule `{approvals, roles}` (one step) or `{steps: [...]}` signed in order."""

    approvals = count(*APPROVALS)
    roles = fields.List(fields.String(validate=validate.OneOf(SIGNING_ROLES)), validate=validate.Length(min=1))
    steps = fields.List(fields.Nested(StepInput), validate=validate.Length(min=1, max=ROUTE_STEPS[1]))

    @post_load
    def _route(self, data: dict[str, Any], **kwargs: Any) -> Route:
        if "steps" in data and ({"approvals", "roles"} & set(data)):
            raise ValidationError({"steps": ["give either steps or approvals and roles, not both"]})
        if "steps" not in data:
            data = {"approvals": data.get("approvals", 1), "roles": data.get("roles", ["approver"])}
        try:
            return Route.from_data(data)
        except InvalidInput as error:
            field = (error.field or "approval_rule").removeprefix("approval_rule.")
            raise ValidationError({field: [error.message]}) from None


class StepAnswer(Schema):
    approvals = fields.Integer()
    users = fields.List(fields.String())
    roles = fields.List(fields.String())
    meanings = fields.List(fields.String())


class RouteAnswer(Schema):
    approvals = fields.Integer(metadata={"description": "the simple rule: one step"})
    roles = fields.List(fields.String())
    steps = fields.List(fields.Nested(StepAnswer), metadata={"description": "a route of several steps, in order"})


def known_signers(route: Route | None, field: str) -> None:
    """Refuse a route naming anyone who is no user or holds no signing role (422 naming the entry)."""
    if route is None:
        return
    with reading() as connection:
        for index, step in enumerate(route.steps):
            accounts.check_people(connection, step.users, f"{field}.steps[{index}].users", *SIGNING_ROLES)
        for index, asked, able in accounts.short_steps(connection, route):
            raise InvalidInput(f"the step asks for {asked} signatures, and only {able} people can sign it",
                               field=f"{field}.steps[{index}].approvals")


def signable(policy_id: str, author: str) -> None:
    """Refuse to send a revision to review when a step of the policy's route could not be signed without its
    author (409): it would wait for good."""
    with reading() as connection:
        row = policy_row(connection, policy_id)
        route = Route.from_data(json.loads(row["approval_rule"]))
        for index, asked, able in accounts.short_steps(connection, route, author):
            raise WrongState(f"step {index + 1} of the approval route asks for {asked} signatures, and only {able} "
                             "people other than the author can sign it", field="approval_rule")
