"""The `policy-ledger` command line: a Flask CLI group over the same app."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from service import db as schema
from service.bootstrap import services
from service.ops import observability

from . import content as cli_content
from . import evidence as cli_evidence
from . import search as cli_search
from . import users as cli_users
from . import worker as cli_worker

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def fail(message: str) -> None:
    """Stop with a one-line message on stderr and exit status 1."""
    raise click.ClickException(message)


@click.command("init")
@with_appcontext
def init_command() -> None:
    """Create or upgrade the database schema."""
    schema.upgrade(services().engine)
    click.echo(f"schema ready at {services().engine.url.render_as_string(hide_password=True)}")


@click.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Drop and rebuild every read model from the log."""
    from projections.rebuild import rebuild
    store = services().store
    total = store.head()[0]
    started = time.perf_counter()
    with click.progressbar(length=total, label="replaying", file=sys.stderr) as bar:
        count = rebuild(store, progress=bar.update)
    elapsed = time.perf_counter() - started
    click.echo(f"replayed {count} events in {elapsed:.2f}s")


@click.command("verify")
@with_appcontext
def verify_command() -> None:
    """Walk the hash chain and hold every signed checkpoint against it; exit 1 naming the first bad position."""
    store = services().store
    total = store.head()[0]
    with click.progressbar(length=total, label="verifying", file=sys.stderr) as bar:
        result = observability.verify(store, progress=bar.update)
    if not result.chain.ok:
        fail(f"chain broken at position {result.first_bad_position}: {result.problem} "
             f"({result.events_checked} events verified before it)")
    if not result.ok:
        fail(f"checkpoint broken: {result.problem} ({result.events_checked} events verified, "
             f"{result.checkpoints_checked} checkpoints held before it)")
    newest = result.checked_up_to
    held = (f"; {result.checkpoints_checked} signed checkpoints hold, up to position {newest['position']} "
            f"(checkpoint {newest['id']}, signed {newest['signed_at']})") if newest else "; no signed checkpoint yet"
    click.echo(f"ok: {result.events_checked} events verified{held}")


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, type=click.IntRange(1, 65535), show_default=True)
@click.option("--workers", default=None, type=click.IntRange(1, 64), help="default: from the core count")
@click.option("--config", "config_file", envvar="POLICY_LEDGER_GUNICORN_CONFIG", type=click.Path(dir_okay=False),
              default=str(PROJECT_ROOT / "deploy" / "gunicorn.conf.py"), show_default=True,
              help="gunicorn settings file")
def serve_command(host: str, port: int, workers: int | None, config_file: str) -> None:
    """Serve the API under gunicorn with deploy/gunicorn.conf.py."""
    if not Path(config_file).is_file():
        fail(f"no gunicorn settings at {config_file}: pass --config or set POLICY_LEDGER_GUNICORN_CONFIG")
    args = [sys.executable, "-m", "gunicorn", "--config", config_file, "--bind", f"{host}:{port}"]
    if workers:
        args += ["--workers", str(workers)]
    args.append("service:create_app()")
    os.execv(sys.executable, args)


def init_app(app: Flask) -> None:
    """Register the commands on the app, so `flask --app wsgi …` has them too."""
    for command in (init_command, cli_users.users_group, rebuild_command, verify_command, serve_command,
                    cli_worker.worker_command,
                    *cli_content.COMMANDS, *cli_evidence.COMMANDS, *cli_search.COMMANDS):
        app.cli.add_command(command)


def _set_database(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value:
        os.environ["POLICY_LEDGER_DATABASE_URL"] = value


def _create_app() -> Flask:
    from service import create_cli_app
    return create_cli_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False)
@click.option("--database", metavar="URL", callback=_set_database, expose_value=False, is_eager=True,
              help="database URL (default: POLICY_LEDGER_DATABASE_URL, else SQLite under the instance folder)")
def main() -> None:
    """Policy Ledger: event-sourced policy versioning."""
