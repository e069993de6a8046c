"""Commands for users: roles, API tokens and passwords for the pages."""
from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from events.domain.errors import DomainError
from events.domain.rules import ROLES
from service import accounts
from service.bootstrap import services


def _fail(message: str) -> None:
    raise click.ClickException(message)


def read_password(confirm: bool = True) -> str:
    """Read a password: prompted twice, hidden, at a terminal; else the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("password", hide_input=True, confirmation_prompt=confirm))
    line = sys.stdin.readline()
    if not line:
        _fail("no password on standard input")
    return line.rstrip("\r\n")


@click.group("users")
def users_group() -> None:
    """Manage users: their roles, API tokens and passwords."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="one of the roles; repeat for several.")
@click.option("--full-name", help="the name signatures and pages show (default: NAME)")
@click.option("--email", help="where messages go (none without one)")
@click.option("--language", type=click.Choice(accounts.LANGUAGES), help="the language of pages and messages")
@click.option("--password-stdin", is_flag=True, help="read a password for the pages from standard input")
@with_appcontext
def users_add(name: str, roles: tuple[str, ...], full_name: str | None, email: str | None, language: str | None,
              password_stdin: bool) -> None:
    """Create a user; prints a new API token as the last line."""
    password = read_password() if password_stdin else None
    try:
        token = accounts.add_user(services().engine, name, list(roles), full_name=full_name, email=email,
                                  language=language, password=password)
    except DomainError as error:
        _fail(error.message)
    signs_in = " and a password for the pages" if password is not None else ""
    click.echo(f"user {name} created with roles {', '.join(roles)}{signs_in}; API token (shown once):")
    click.echo(token)


@users_group.command("password")
@click.argument("name")
@with_appcontext
def users_password(name: str) -> None:
    """Set a user's password for the pages, read from standard input (asked twice at a terminal)."""
    try:
        accounts.set_password(services().engine, name, read_password())
    except DomainError as error:
        _fail(error.message)
    click.echo(f"password of {name} set")


@users_group.command("token")
@click.argument("name")
@with_appcontext
def users_token(name: str) -> None:
    """Issue another API token for an existing user (to replace a lost one); prints it as the last line."""
    try:
        token = accounts.add_token(services().engine, name)
    except DomainError as error:
        _fail(error.message)
    click.echo(f"new API token for {name} (shown once):")
    click.echo(token)


@users_group.command("revoke")
@click.argument("name")
@with_appcontext
def users_revoke(name: str) -> None:
    """Revoke every API token of a user."""
    try:
        count = accounts.revoke_tokens(services().engine, name)
    except DomainError as error:
        _fail(error.message)
    click.echo(f"revoked {count} token(s) of {name}")
