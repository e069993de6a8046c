"""Verification: the hash chain walked whole, then every signed checkpoint held against it.

The chain alone proves each event links to the one before; it cannot tell that the newest events were cut off,
or the last one rewritten with its hash recomputed. A signed checkpoint can: it names a position and the chain's
hash there, under a signature only the service's key makes.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from events.store import EventStore, VerifyResult
from events.store.engine import read_transaction
from events.store.tables import events

from .checkpoints import checkpoints, verify_checkpoint

PublicKeys = Mapping[str, Ed25519PublicKey]  # by key id


@dataclass(frozen=True)
class Verification:
    """The chain's walk and the checkpoints' check: ok only when both hold."""

    chain: VerifyResult
    checkpoints_checked: int = 0
    checked_up_to: dict[str, Any] | None = None  # the newest checkpoint that held: id, position, signed_at
    bad_checkpoint: int | None = None  # the id of the first checkpoint that did not
    bad_position: int | None = None  # the position it names
    checkpoint_problem: str | None = None

    @property
    def ok(self) -> bool:
        """Tell whether the chain is whole and every checkpoint holds against it."""
        return self.chain.ok and self.checkpoint_problem is None

    @property
    def events_checked(self) -> int:
        """Return how many events the walk found sound."""
        return self.chain.events_checked

    @property
    def first_bad_position(self) -> int | None:
        """Return the first position the walk or a checkpoint found wrong."""
        return self.chain.first_bad_position if not self.chain.ok else self.bad_position

    @property
    def problem(self) -> str | None:
        """Say what is wrong, the chain's break first."""
        return self.chain.problem if not self.chain.ok else self.checkpoint_problem

    def to_dict(self) -> dict[str, Any]:
        """Return the answer of `GET /api/v1/ledger/verify`."""
        return {"ok": self.ok, "events_checked": self.events_checked, "first_bad_position": self.first_bad_position,
                "problem": self.problem, "checkpoints_checked": self.checkpoints_checked,
                "checked_up_to": self.checked_up_to}


def verify(store: EventStore, public_keys: Callable[[], PublicKeys],
           progress: Callable[[int], None] | None = None) -> Verification:
    """Walk the chain, then hold every signed checkpoint against it: position present, hash equal, signature good.

    The checkpoints are read first, each beside the event at its position, so none signed during the walk
    names a position the walk did not reach. `public_keys` is asked only when there is a checkpoint.
    """
    query = (select(checkpoints, events.c.hash.label("event_hash"))
             .select_from(checkpoints.outerjoin(events, events.c.position == checkpoints.c.position))
             .order_by(checkpoints.c.id))
    with read_transaction(store.engine) as connection:
        signed = [row._asdict() for row in connection.execute(query)]
    chain = store.verify(progress=progress)
    if not signed:
        return Verification(chain=chain)
    keys = public_keys()
    newest: dict[str, Any] | None = None
    for count, row in enumerate(signed):
        problem = _problem(row, keys, chain)
        if problem is not None:
            return Verification(chain=chain, checkpoints_checked=count, checked_up_to=newest,
                                bad_checkpoint=row["id"], checkpoint_problem=problem,
                                bad_position=row["position"])
        if newest is None or row["position"] >= newest["position"]:
            newest = {"id": row["id"], "position": row["position"], "signed_at": row["signed_at"]}
    return Verification(chain=chain, checkpoints_checked=len(signed), checked_up_to=newest)


def _problem(row: dict[str, Any], keys: PublicKeys, chain: VerifyResult) -> str | None:
    where = f"checkpoint {row['id']} (position {row['position']}, signed {row['signed_at']})"
    key = keys.get(row["key_id"])
    if key is None:
        return f"{where} is signed by a key this service does not hold (key id {row['key_id']})"
    if not verify_checkpoint(row, key):
        return f"{where}: its signature does not verify"
    if row["event_hash"] is None:
        return f"{where}: the log no longer holds that position: its tail was cut off"
    if row["event_hash"] != row["hash"]:
        return f"{where}: the event there is not the one signed: the log was rewritten"
    if chain.ok and row["position"] > chain.events_checked:
        return f"{where}: the walk ended before that position"
    return None
