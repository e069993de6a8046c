"""The Flask service: the app factory, and the rooms it is built from (http, api, cli, content, evidence, ops, db)."""
from __future__ import annotations

import os
from typing import Any

from flask import Flask

from . import bootstrap, config


def _base_app(test_config: dict[str, Any] | None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, static_folder="web/static")
    app.config.from_mapping(config.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Kyrgyz and every other script go out as written
    app.json.sort_keys = False  # type: ignore[attr-defined]
    bootstrap.init_app(app)
    return app


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: configuration from the environment (or `test_config`), services, API, probes, CLI."""
    from . import api, cli, http, web
    from .evidence import checkpoints
    from .http import rendered
    from .ops import health, observability
    app = _base_app(test_config)
    observability.init_app(app)  # first, so every request gets an id and a timer before anything else runs
    api.init_app(app)
    http.init_app(app)  # after the API, whose own HTTP error handler the problem documents replace
    web.init_app(app)
    rendered.shortcut_not_modified(app, web.i18n.language_of, observability.record_request)
    checkpoints.init_app(app)
    health.init_app(app)
    cli.init_app(app)
    return app


def create_cli_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app the command line needs: configuration, services, logging and the commands, no HTTP API."""
    from . import cli
    from .ops import observability
    app = _base_app(test_config)
    observability.configure_logging(app.config.get("LOG_LEVEL", "INFO"))
    cli.init_app(app)
    return app
