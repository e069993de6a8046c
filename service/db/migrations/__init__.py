"""Alembic migrations for the whole database: the log, its triggers, the read models and the service's tables."""
