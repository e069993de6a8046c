"""Stream naming: one stream per policy."""
from __future__ import annotations

STREAM_PREFIX = "policy-"


def stream_for(policy_id: str) -> str:
    """Return the stream name that holds one policy's events."""
    return STREAM_PREFIX + policy_id


def policy_of(stream: str) -> str:
    """Return the policy id a stream belongs to."""
    return stream[len(STREAM_PREFIX):]
