"""Commands for auditors and operators: signing keys, checkpoints and evidence bundles."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from events.domain.errors import DomainError
from service.bootstrap import services
from service.evidence import bundle as evidence
from service.evidence import checkpoints


@click.group("keys")
def keys_group() -> None:
    """Manage the Ed25519 key that signs checkpoints."""


@keys_group.command("generate")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="where to write the private key (PEM, mode 0600); the public key goes beside it")
@click.option("--force", is_flag=True, help="replace an existing file")
def keys_generate(output: Path, force: bool) -> None:
    """Write a new private key; print the public key's path as the last line."""
    try:
        public = checkpoints.generate_key_file(output, overwrite=force)
    except (checkpoints.KeyFileError, OSError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"private key written to {output} (mode 0600); set POLICY_LEDGER_SIGNING_KEY_FILE={output}")
    click.echo(str(public))


def _signing_key() -> checkpoints.SigningKey:
    try:
        return checkpoints.signing_key(current_app)
    except checkpoints.KeyFileError as error:
        raise click.ClickException(str(error)) from None


@click.command("checkpoint")
@with_appcontext
def checkpoint_command() -> None:
    """Sign the chain head now (for cron); print the checkpoint."""
    try:
        made = checkpoints.sign_head(services().store, _signing_key())
    except DomainError as error:
        raise click.ClickException(error.message) from None
    assert made is not None
    click.echo(f"checkpoint {made['id']}: position {made['position']} hash {made['hash']} "
               f"signed at {made['signed_at']} by key {made['key_id']}")


@click.command("bundle")
@click.argument("policy_id")
@click.option("-o", "--output", "output", required=True, metavar="FILE",
              help="where to write the bundle (JSON); '-' for standard output")
@with_appcontext
def bundle_command(policy_id: str, output: str) -> None:
    """Write the offline evidence bundle of one policy."""
    try:
        bundle = evidence.build(services().store, _signing_key(), policy_id)
    except DomainError as error:
        raise click.ClickException(error.message) from None
    if output == "-":
        for chunk in bundle.chunks:
            sys.stdout.write(chunk)
        sys.stdout.flush()
    else:
        _write_atomically(Path(output), bundle.chunks)
    click.echo(f"bundle of {policy_id} up to the checkpoint at position {bundle.checkpoint['position']} "
               f"written to {output}", err=True)


def _write_atomically(path: Path, chunks) -> None:
    # A bundle cut short by an error would fail verification for the wrong reason: write it whole or not at all.
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=".bundle-")
    except OSError as error:
        raise click.ClickException(f"cannot write to {path.parent}: {error.strerror}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for chunk in chunks:
                handle.write(chunk)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except OSError as error:
        os.unlink(temporary)
        raise click.ClickException(f"cannot write {path}: {error.strerror or error}") from None
    except BaseException:
        os.unlink(temporary)
        raise


COMMANDS = (keys_group, checkpoint_command, bundle_command)
