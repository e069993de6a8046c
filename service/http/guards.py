"""Guards every API request passes: ids in paths that could name something, and write bodies that are JSON objects."""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request
from werkzeug.exceptions import BadRequest, UnprocessableEntity, UnsupportedMediaType

from events.domain.errors import NotFound

from .problems import refusal

View = TypeVar("View", bound=Callable[..., Any])
MAX_INT = 2**31 - 1
# Ids in paths are generated slugs: anything else cannot name a resource, so it is a 404 before any query.
PATH_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
MAX_JSON_DEPTH = 64
_SURROGATE = re.compile("[\ud800-\udfff]")


def path_ids() -> None:
    """Refuse, before any view runs, ids in the path that cannot exist (404 naming the parameter)."""
    for name, value in (request.view_args or {}).items():
        if (not PATH_ID.fullmatch(value)) if isinstance(value, str) else value > MAX_INT:
            raise NotFound(f"no such {name}", field=name)


def json_body(view: View) -> View:
    """Refuse a write body that is not sent as JSON (415) or nests deeper than any real one (400)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not request.is_json:
            raise refusal(UnsupportedMediaType, "the request body must be JSON, sent as Content-Type: application/json",
                          messages={"headers": {"Content-Type": ["must be application/json"]}})
        try:
            body = json.loads(request.get_data())
            too_deep = _depth(body) > MAX_JSON_DEPTH
        except ValueError:
            body, too_deep = None, False  # malformed JSON: the body parser answers it with a 400 naming the body
        except RecursionError:
            body, too_deep = None, True
        if too_deep:
            message = f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
            raise refusal(BadRequest, message, messages={"json": [message]})
        where = lone_surrogate(body)
        if where is not None:
            message = "must not contain a lone surrogate (\\ud800 to \\udfff): it is not a character"
            raise refusal(UnprocessableEntity, f"{where}: {message}", messages={"json": {where: [message]}})
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def lone_surrogate(value: Any) -> str | None:
    """Return where in a parsed JSON value (`changes[0].text`) a string holds a lone surrogate, or None.

    JSON may escape one (`"\\ud800"`), but no UTF-8 text, so no database, can hold it."""
    todo: list[tuple[Any, str]] = [(value, "")]
    while todo:
        value, where = todo.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return where or "body"
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else str(key)
                if _SURROGATE.search(key):
                    return name.encode("utf-8", "backslashreplace").decode("ascii")
                todo.append((item, name))
        elif isinstance(value, list):
            todo.extend((item, f"{where}[{index}]") for index, item in enumerate(value))
    return None


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        value, level = todo.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            if level > MAX_JSON_DEPTH:
                break
            todo.extend((v, level + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


FORM_OVERHEAD = 64 * 1024  # bytes a multipart body spends beside its file: boundaries, headers, small fields


def file_upload(view: View) -> View:
    """Take a write as multipart/form-data (415 otherwise), up to the import size limit rather than the JSON one."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"] + FORM_OVERHEAD
        if request.mimetype != "multipart/form-data":
            raise refusal(UnsupportedMediaType, "the file must be sent as Content-Type: multipart/form-data",
                          messages={"headers": {"Content-Type": ["must be multipart/form-data"]}})
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
