"""The HTTP API v1: one flask-smorest blueprint per resource."""
from __future__ import annotations

from flask_smorest import Api


def register_api(api: Api) -> None:
    """Register every API blueprint."""
    from . import audit, ledger
    api.register_blueprint(ledger.blp)
    api.register_blueprint(audit.blp)
    from . import governance, policies, revisions
    api.register_blueprint(policies.blp)
    api.register_blueprint(revisions.blp)
    api.register_blueprint(governance.blp)
