"""Create or upgrade the database schema: the log, its triggers, the read models and the service's tables."""
from __future__ import annotations

from sqlalchemy import Engine

import projections
from events.schema import create_all

from . import auth, http  # noqa: F401  (registers the service tables on the metadata)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the current version."""
    projections.register()
    create_all(engine)
