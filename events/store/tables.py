"""The event table, its idempotency keys, and the triggers that make the log append-only in the database."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Engine, Integer, MetaData, String, Table, Text, UniqueConstraint

# One MetaData for the whole database: read models add their own tables to it.
metadata = MetaData()

Position = BigInteger().with_variant(Integer, "sqlite")

events = Table(
    "events", metadata,
    Column("position", Position, primary_key=True, autoincrement=False),
    Column("stream", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("type", String(100), nullable=False),
    Column("schema", Integer, nullable=False),
    Column("data", Text, nullable=False),
    Column("meta", Text, nullable=False),
    Column("recorded_at", String(27), nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("stream", "version", name="uq_events_stream_version"),
    # No index on recorded_at: it never decreases along positions (EventStore.position_at searches them),
    # and a third B-tree would cost every append one more page write.
)

idempotency_keys = Table(
    "idempotency_keys", metadata,
    Column("key", String(200), primary_key=True),
    Column("stream", String(200), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("first_position", Position, nullable=False),
    Column("last_position", Position, nullable=False),
    Column("from_version", Integer, nullable=False),
    Column("to_version", Integer, nullable=False),
    Column("result", Text, nullable=False),
    Column("recorded_at", String(27), nullable=False),
)

APPEND_ONLY_MESSAGE = "events are append-only: UPDATE, DELETE and TRUNCATE are refused"

SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
)

POSTGRES_TRIGGERS = (
    f"""CREATE OR REPLACE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'insufficient_privilege'; END $$""",
    "DROP TRIGGER IF EXISTS events_no_update_delete ON events",
    """CREATE TRIGGER events_no_update_delete BEFORE UPDATE OR DELETE ON events
        FOR EACH ROW EXECUTE FUNCTION events_append_only()""",
    "DROP TRIGGER IF EXISTS events_no_truncate ON events",
    """CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
        FOR EACH STATEMENT EXECUTE FUNCTION events_append_only()""",
)


def append_only_ddl(dialect: str) -> tuple[str, ...]:
    """Return the statements that make the events table refuse changes, for one dialect."""
    return POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS


def create_all(engine: Engine) -> None:
    """Create every table registered on the metadata and the append-only triggers (tests and first runs)."""
    metadata.create_all(engine)
    with engine.begin() as connection:
        for statement in append_only_ddl(engine.dialect.name):
            connection.exec_driver_sql(statement)
