"""The HTTP API v1: one flask-smorest blueprint per resource, each with its schemas beside it."""
from __future__ import annotations

from flask import Flask, Response, send_from_directory
from flask_smorest import Api
from swagger_ui_bundle import swagger_ui_path

from .common import HeadersPlugin, Problem


class _Api(Api):
    """The API, documenting its errors as the problem documents it sends."""

    ERROR_SCHEMA = Problem


def init_app(app: Flask) -> Api:
    """Attach the API and register every resource's blueprint."""
    from . import audit, campaigns, delegations, governance, ledger, notifications, policies, revisions, search
    app.config.update(
        API_TITLE="Policy Ledger", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        # Swagger UI's files come with the package (swagger-ui-bundle): the docs page works on an intranet.
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="/api/v1/docs/assets/",
    )
    api = _Api(app, spec_kwargs={"extra_plugins": [HeadersPlugin()]})
    for module in (policies, revisions, governance, ledger, audit, search, delegations, campaigns, notifications):
        api.register_blueprint(module.blp)
    app.add_url_rule("/api/v1/docs/assets/<path:filename>", "swagger_ui_assets", _swagger_ui_asset)
    return api


def _swagger_ui_asset(filename: str) -> Response:
    """Serve one of Swagger UI's files from the package that ships them."""
    return send_from_directory(swagger_ui_path, filename, max_age=24 * 3600)
