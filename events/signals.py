"""The signal that feeds read models, sent inside the append's transaction."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# send(store, connection=..., events=[StoredEvent, ...], replaying=bool); receivers that raise roll the append back.
appended = _signals.signal("policy-ledger.events-appended")
