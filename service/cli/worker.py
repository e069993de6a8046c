"""`policy-ledger worker`: send e-mail and webhook deliveries and check for reviews coming due, until stopped."""
from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from service.bootstrap import services
from service.notifications.settings import NotifySettings
from service.notifications.worker import Worker


@click.command("worker")
@click.option("--poll", default=2.0, type=click.FloatRange(0.05, 3600), show_default=True,
              help="seconds to wait when nothing is due")
@click.option("--lease", "lease_seconds", default=60, type=click.IntRange(1, 3600), show_default=True,
              help="seconds a claim is held before another worker may take it over")
@click.option("--batch", default=50, type=click.IntRange(1, 1000), show_default=True,
              help="e-mails (or webhooks) one claim takes")
@click.option("--once", is_flag=True, help="do one round and exit (for cron or a check)")
@with_appcontext
def worker_command(poll: float, lease_seconds: int, batch: int, once: bool) -> None:
    """Send mail and webhook deliveries, check reviews due; runs until SIGTERM."""
    try:
        settings = NotifySettings.from_config(current_app.config)
    except ValueError as error:
        raise click.ClickException(str(error)) from None
    worker = Worker(services().engine, settings, clock=services().store.clock, lease=timedelta(seconds=lease_seconds),
                    batch=batch)
    if once:
        click.echo(f"done: {worker.round()}")
        return
    worker.install_signals()
    click.echo(f"worker {worker.name} started", err=True)
    worker.run(poll)
    click.echo(f"worker {worker.name} stopped", err=True)
