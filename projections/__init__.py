"""The read side: one module per read model, each owning its tables and fed by the append signal."""
from __future__ import annotations

from types import ModuleType

from events.store.signals import appended

from . import audit, catalog, revisions, versions

# Each module has TABLES and handle(connection, events); none depends on another having run first.
MODULES: tuple[ModuleType, ...] = (catalog, versions, revisions, audit)


def register() -> None:
    """Connect every read model to the append signal (idempotent: blinker keeps one connection each)."""
    for module in MODULES:
        appended.connect(module.on_appended)


def tables() -> list:
    """Return every table the read models own, in creation order."""
    return [table for module in MODULES for table in module.TABLES]
