"""The signals that feed read models: one inside the append's transaction, one once it committed."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# send(store, connection=..., events=[StoredEvent, ...], replaying=bool, memo=dict | None): receivers that raise
# roll the append back. A replay (a rebuild) sends the log in large batches in order and passes one `memo`
# dict for its whole length, where a read model may keep what it will need again in a later batch; an append
# sends memo=None. What a read model writes must not depend on the batches or on the memo, only on the events.
appended = _signals.signal("policy-ledger.events-appended")

# send(store, events=[StoredEvent, ...]) after an append's transaction committed (never for a replay): a read
# model may then trust, in memory, what it wrote for those events. Receivers must not raise or write.
committed = _signals.signal("policy-ledger.events-committed")
