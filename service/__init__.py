"""The Flask service: app factory, configuration, API blueprints, auth, problem documents and the CLI."""
from __future__ import annotations

import os
from typing import Any, Callable

from flask import Flask
from flask_smorest import Api

from . import bootstrap, cli, config
from .http import problems
from .ops import health, observability


class _Flask(Flask):
    """Flask, remembering which views are coroutines instead of inspecting them on every call.

    flask-smorest's decorators ask `ensure_sync` about each wrapped view on every request, and each answer
    costs a walk through the function's wrappers; views do not change once registered.
    """

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        known = self.__dict__.setdefault("_policy_ledger_sync", {})
        found = known.get(func)
        if found is None:
            if len(known) >= 10_000:  # views and hooks are a few dozen; anything else is not worth keeping
                known.clear()
            found = known[func] = super().ensure_sync(func)
        return found


class _Api(Api):
    """The API, documenting its errors as the problem documents it sends."""

    from .schemas import Problem as ERROR_SCHEMA  # noqa: N811


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration from the environment (or `test_config`), services, API, CLI."""
    app = _Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.json.ensure_ascii = False  # Kyrgyz and every other script go out as written
    app.json.sort_keys = False
    app.config.update(
        API_TITLE="Policy Ledger", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
    )
    bootstrap.init_app(app)
    observability.init_app(app)  # before the API, so every request gets an id and a timer first
    api = _Api(app)
    problems.init_app(app)  # after Api(), whose own HTTP error handler this replaces
    from .api import register_api
    register_api(api)
    health.init_app(app)
    cli.init_app(app)
    return app
