"""The store: the log's tables, engines and transactions, the append, reads, the hash chain and its verification.

Everything here is SQLAlchemy Core; `prepared` holds the only statements run on the driver's own cursor.
"""
from __future__ import annotations

from .eventstore import BATCH, AppendResult, EventStore, StoredEvent, VerifyResult, stream_events

__all__ = ["BATCH", "AppendResult", "EventStore", "StoredEvent", "VerifyResult", "stream_events"]
