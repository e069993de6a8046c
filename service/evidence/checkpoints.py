"""Ed25519 signing keys and signed checkpoints of the chain head, kept in their own table."""
from __future__ import annotations

import base64
import hashlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
    load_pem_public_key,
)
from flask import Flask, current_app, request
from flask.wrappers import Response
from sqlalchemy import Column, Connection, Engine, Index, Integer, String, Table, insert, select

from events.domain.canonical import canonical_json, format_time, parse_time
from events.domain.errors import WrongState
from events.store import EventStore
from events.store.engine import read_transaction, write_transaction
from events.store.tables import Position, metadata

log = logging.getLogger(__name__)

# Names what the signature means, so a signature over this statement cannot pass for one over anything else.
STATEMENT = "policy-ledger checkpoint v1"
DEFAULT_KEY_NAME = "signing-key.pem"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_FILE_BYTES = 64 * 1024  # a PEM Ed25519 key is about 120 bytes

checkpoints = Table(
    "checkpoints", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("position", Position, nullable=False),
    Column("hash", String(64), nullable=False),
    Column("recorded_at", String(27), nullable=False),
    Column("signed_at", String(27), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", String(100), nullable=False),
    Index("ix_checkpoints_signed_at", "signed_at"),
)


class KeyFileError(RuntimeError):
    """A signing key file is missing, unreadable or not an Ed25519 private key."""


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key and what the world may know of it."""

    private: Ed25519PrivateKey

    @property
    def public_pem(self) -> str:
        """Return the public key as PEM (SubjectPublicKeyInfo)."""
        return public_pem(self.private.public_key())

    @property
    def key_id(self) -> str:
        """Return the key's id: the SHA-256 hex of the raw public key."""
        return key_id(self.private.public_key())

    def sign(self, message: str) -> str:
        """Sign a text's UTF-8 bytes; return the signature as base64."""
        return base64.b64encode(self.private.sign(message.encode("utf-8"))).decode("ascii")


def public_pem(key: Ed25519PublicKey) -> str:
    """Return a public key as PEM text."""
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def key_id(key: Ed25519PublicKey) -> str:
    """Return the SHA-256 hex of a public key's 32 raw bytes."""
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


# ---- key files ---------------------------------------------------------------------------------

def public_key_path(private_path: Path) -> Path:
    """Return where the public key of a private key file is written: `x.pem` → `x.pub.pem`."""
    stem = private_path.name[:-4] if private_path.name.endswith(".pem") else private_path.name
    return private_path.with_name(stem + ".pub.pem")


def _write_exclusively(path: Path, data: bytes, mode: int) -> None:
    # Write beside the target and link it into place: the file appears whole or not at all, and an
    # existing one (another worker's, or one the operator keeps) is never overwritten.
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.link(temporary, path)
    finally:
        os.unlink(temporary)


def generate_key_file(path: Path, *, overwrite: bool = False) -> Path:
    """Write a new Ed25519 private key (PEM, mode 0600) and its public key beside it; return the public key's path."""
    if path.exists() and not overwrite:
        raise KeyFileError(f"{path} already exists; choose another file or pass --force")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    if overwrite and path.exists():
        path.unlink()
    _write_exclusively(path, pem, 0o600)
    public = public_key_path(path)
    public.write_text(public_pem(key.public_key()), encoding="ascii")
    return public


def load_key(path: Path) -> SigningKey:
    """Load an Ed25519 private key from a PEM file, refusing anything else in one line."""
    try:
        if path.exists() and not path.is_file():  # a device (/dev/zero) or a FIFO would be read without end
            raise KeyFileError(f"cannot read the signing key {path}: not a regular file")
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as error:
        raise KeyFileError(f"cannot read the signing key {path}: {error.strerror or error}") from None
    try:
        private = load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise KeyFileError(f"{path} is not an unencrypted PEM private key: {error}") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyFileError(f"{path} holds a {type(private).__name__}; checkpoints need an Ed25519 key")
    return SigningKey(private)


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    """Parse a PEM public key, refusing anything but Ed25519."""
    key = load_pem_public_key(pem.encode("ascii") if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError("the public key is not an Ed25519 key")
    return key


def load_or_create(path: Path) -> tuple[SigningKey, bool]:
    """Load the key at path, making one there first if there is none; tell whether it was made."""
    if path.exists():
        return load_key(path), False
    try:
        generate_key_file(path)
    except (KeyFileError, FileExistsError):
        return load_key(path), False  # another worker made it a moment ago
    return load_key(path), True


def signing_key(app: Flask | None = None) -> SigningKey:
    """Return the app's signing key: SIGNING_KEY_FILE, else one made on first use under the instance folder."""
    app = app or current_app
    cached = app.extensions.get("policy_ledger_signing_key")
    if cached is not None:
        return cached
    configured = app.config.get("SIGNING_KEY_FILE")
    if configured:
        key = load_key(Path(configured))
    else:
        path = Path(app.instance_path) / DEFAULT_KEY_NAME
        key, created = load_or_create(path)
        if created:
            log.warning("no SIGNING_KEY_FILE configured: made a new checkpoint signing key at %s (key id %s)",
                        path, key.key_id)
    app.extensions["policy_ledger_signing_key"] = key
    return key


# ---- checkpoints -------------------------------------------------------------------------------

def statement(checkpoint: dict[str, Any]) -> str:
    """Return the exact text a checkpoint's signature covers (canonical JSON)."""
    return canonical_json({
        "statement": STATEMENT, "position": checkpoint["position"], "hash": checkpoint["hash"],
        "recorded_at": checkpoint["recorded_at"], "signed_at": checkpoint["signed_at"],
        "key_id": checkpoint["key_id"]})


def verify_checkpoint(checkpoint: dict[str, Any], public_key: Ed25519PublicKey) -> bool:
    """Tell whether a checkpoint's signature is good for this public key."""
    try:
        public_key.verify(base64.b64decode(checkpoint["signature"], validate=True),
                          statement(checkpoint).encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True


def _as_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "position": row.position, "hash": row.hash, "recorded_at": row.recorded_at,
            "signed_at": row.signed_at, "key_id": row.key_id, "signature": row.signature}


def _newest(connection: Connection) -> Any:
    return connection.execute(select(checkpoints).order_by(checkpoints.c.id.desc()).limit(1)).first()


def sign_head(store: EventStore, key: SigningKey, *, clock: Callable[[], datetime] | None = None,
              older_than: timedelta | None = None) -> dict[str, Any] | None:
    """Sign the chain head now and keep the checkpoint; with `older_than`, only if the newest is that old."""
    # The write transaction holds appends off, so the head it signs is the head when it is stored.
    with write_transaction(store.engine) as connection:
        now = (clock or store.clock)()
        if older_than is not None:
            newest = _newest(connection)
            if newest is not None and parse_time(newest.signed_at) > now - older_than:
                return None
        position, chain_hash, recorded_at = store.head(connection)
        if position == 0:
            if older_than is not None:
                return None
            raise WrongState("the log is empty: there is no head to sign", field="position")
        checkpoint = {"position": position, "hash": chain_hash, "recorded_at": recorded_at,
                      "signed_at": format_time(now), "key_id": key.key_id}
        checkpoint["signature"] = key.sign(statement(checkpoint))
        result = connection.execute(insert(checkpoints).values(**checkpoint))
        assert result.inserted_primary_key is not None
        checkpoint = {"id": result.inserted_primary_key[0], **checkpoint}
    return checkpoint


def page(engine: Engine, after: int | None, limit: int) -> list[dict[str, Any]]:
    """Return up to `limit` checkpoints, oldest first, after a checkpoint id."""
    query = select(checkpoints).order_by(checkpoints.c.id).limit(limit)
    if after is not None:
        query = query.where(checkpoints.c.id > after)
    with read_transaction(engine) as connection:
        return [_as_dict(row) for row in connection.execute(query)]


def init_app(app: Flask) -> None:
    """Sign a checkpoint after writes when CHECKPOINT_INTERVAL_SECONDS asks for them."""
    app.after_request(checkpoint_after_write)


def checkpoint_after_write(response: Response) -> Response:
    """After a successful write request, sign a checkpoint if the newest is older than the configured interval."""
    interval = current_app.config.get("CHECKPOINT_INTERVAL_SECONDS") or 0
    if interval <= 0 or request.method not in WRITE_METHODS or response.status_code >= 400:
        return response
    from service.bootstrap import services
    try:
        made = sign_head(services().store, signing_key(), older_than=timedelta(seconds=interval))
    except Exception:  # the write itself succeeded; a checkpoint that could not be signed must not undo its answer
        log.exception("could not sign the periodic checkpoint")
        return response
    if made is not None:
        log.info("signed checkpoint %s at position %s", made["id"], made["position"])
    return response
