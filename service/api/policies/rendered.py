"""The policy in force now, rendered once per change: the read web frontends make most, answered from memory."""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from flask import current_app


@dataclass(frozen=True)
class Rendered:
    """One policy's answer to "what is in force now", as it was when its stream stood at `stream_version`."""

    stream_version: int
    until: str | None  # when the next published version takes effect, and this answer stops being true
    etag: str
    body: bytes


class RenderedAnswers:
    """Rendered answers per policy, each good while the policy's stream has not moved and `until` is ahead.

    Whoever uses one checks the stream's version in the log first, so writes made by other workers and hosts
    are seen at once; only the rendering (reading the version, shaping it through its schema, serialising
    it) is saved.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = size
        self._entries: OrderedDict[str, Rendered] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, policy_id: str, stream_version: int, now: str) -> Rendered | None:
        """Return the kept answer if it is still the answer at `stream_version` and `now`."""
        with self._lock:
            found = self._entries.get(policy_id)
        if (found is None or found.stream_version != stream_version
                or (found.until is not None and now >= found.until)):
            return None
        return found

    def put(self, policy_id: str, rendered: Rendered) -> None:
        """Keep an answer, dropping the least recently stored one beyond the size."""
        with self._lock:
            self._entries[policy_id] = rendered
            self._entries.move_to_end(policy_id)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def answers() -> RenderedAnswers:
    """Return the app's rendered answers (one set per app, made on first use)."""
    found: RenderedAnswers = current_app.extensions.setdefault("policy_ledger_rendered", RenderedAnswers())
    return found
