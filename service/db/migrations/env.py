"""Alembic environment: runs on the connection service.db hands over, or on sqlalchemy.url when run by hand."""
from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context

from events.store.engine import make_engine, write_transaction

config = context.config
if config.config_file_name is not None and "connection" not in config.attributes:
    fileConfig(config.config_file_name)  # run by hand with alembic.ini; the service keeps its own logging


def _target_metadata():
    # Every module that owns tables registers them on the one MetaData; autogenerate compares against all of it.
    from service.db import full_metadata
    return full_metadata()


def _url() -> str:
    # By hand, the service's own setting wins over alembic.ini, so both always point at one database.
    url = os.environ.get("POLICY_LEDGER_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set POLICY_LEDGER_DATABASE_URL or sqlalchemy.url in alembic.ini")
    return url


def run_offline() -> None:
    """Emit the SQL instead of running it (`alembic upgrade head --sql`)."""
    context.configure(url=_url(), target_metadata=_target_metadata(),
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    """Migrate on the caller's connection, or open one from sqlalchemy.url (the `alembic` command)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = make_engine(_url())
    try:
        with write_transaction(engine) as connection:
            _migrate(connection)
    finally:
        engine.dispose()


def _migrate(connection) -> None:
    # render_as_batch: SQLite alters tables only by copying them, which batch mode does for us.
    context.configure(connection=connection, target_metadata=_target_metadata(), render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
