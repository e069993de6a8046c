"""The read side: one module or package per read model, each owning its tables and fed by the append signal.

Each read model's writer reads and writes only its own tables, so none depends on another having run
first (blinker calls receivers in no set order); reads that combine read models are composed by the
service (`service/queries`), never by a read model reaching into another's tables.
"""
from __future__ import annotations

from types import ModuleType

from sqlalchemy import Table

from events.store.signals import appended, committed

from . import audit, campaigns, catalog, documents, revisions, search

# Each has TABLES and on_appended(sender, connection=, events=, replaying=, memo=); some also
# on_committed(sender, events=), told once an append's transaction committed.
MODULES: tuple[ModuleType, ...] = (catalog, documents, revisions, audit, search, campaigns)


def register() -> None:
    """Connect every read model to the append signal (idempotent: blinker keeps one connection each)."""
    for module in MODULES:
        appended.connect(module.on_appended)
        if hasattr(module, "on_committed"):
            committed.connect(module.on_committed)


def tables() -> list[Table]:
    """Return every table the read models own, in creation order."""
    return [table for module in MODULES for table in module.TABLES]
