"""The HTTP API v1: one flask-smorest blueprint per resource, each with its schemas beside it."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from .common import HeadersPlugin, Problem


class _Api(Api):
    """The API, documenting its errors as the problem documents it sends."""

    ERROR_SCHEMA = Problem


def init_app(app: Flask) -> Api:
    """Attach the API and register every resource's blueprint."""
    from . import audit, governance, ledger, policies, revisions
    app.config.update(
        API_TITLE="Policy Ledger", API_VERSION="v1", OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs", OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
    )
    api = _Api(app, spec_kwargs={"extra_plugins": [HeadersPlugin()]})
    for module in (policies, revisions, governance, ledger, audit):
        api.register_blueprint(module.blp)
    return api
