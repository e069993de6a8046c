"""Commands that bring policies in and out: import a text, export a version, load the demo."""
from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.exc import DBAPIError

from events.domain.canonical import format_time, parse_time, utcnow
from events.domain.document import Document
from events.domain.errors import DomainError
from projections import documents as versions
from service import accounts, queries
from service.bootstrap import services
from service.content import controlled, demo, importing
from service.content.textformat import render_md, render_txt

PROGRESS_THRESHOLD = 200  # sections; below this an import is over before a bar would draw
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
DOCUMENT_FIELDS = ("title", "language", "version", "effective_from", "published_at", "revision_id")


class _UsageFailure(click.ClickException):
    """Bad usage, told in one line, with click's exit status for bad usage."""

    exit_code = click.UsageError.exit_code


class OneLineCommand(click.Command):
    """A command that reports bad usage as one line, like every other refusal, without the usage text."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as error:
            command = f"{parent.command_path} {info_name}" if parent else info_name
            raise _UsageFailure(f"{command}: {error.format_message()} (see --help)") from None


def fail(message: str) -> NoReturn:
    """Stop with a one-line message on stderr and exit status 1."""
    raise click.ClickException(message)


def _moment(value: str | None, option: str) -> datetime | None:
    """Parse a date (midnight UTC) or an RFC 3339 time with an offset."""
    if value is None:
        return None
    try:
        if DATE.fullmatch(value):
            return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
        return parse_time(value)
    except ValueError:
        fail(f"{option}: {value!r} is neither a date (YYYY-MM-DD) nor an RFC 3339 time with an offset")


def _require_schema(engine: Engine) -> None:
    where = engine.url.render_as_string(hide_password=True)
    try:
        ready = inspect(engine).has_table("events")
    except DBAPIError as error:
        fail(f"cannot reach the database at {where}: {str(error.orig).strip().splitlines()[0]}")
    if not ready:
        fail(f"no Policy Ledger schema at {where}; run `policy-ledger init` first")


@click.command("import", cls=OneLineCommand)
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--id", "policy_id", required=True, help="the policy's id: 2-100 lowercase letters, digits, hyphens")
@click.option("--title", help="the policy's title (default: the file's first line)")
@click.option("--actor", required=True, help="the user who imports it, as the audit trail will name them")
@click.option("--language", help="the text's language tag (default: detected from the text)")
@click.option("--review-interval-days", default=importing.DEFAULT_REVIEW_INTERVAL_DAYS, show_default=True,
              type=click.IntRange(1, 3660), help="how often the policy is due for review")
@click.option("--publish", is_flag=True, help="adopt the text at once as version 1 (approved outside the ledger)")
@click.option("--effective-from", metavar="DATE", help="with --publish: when version 1 takes effect (default: now)")
@click.option("--reason", help="why: recorded on the adoption with --publish (default: names the file), "
              "otherwise on the creation")
@with_appcontext
def import_command(file: Path, policy_id: str, title: str | None, actor: str, language: str | None,
                   review_interval_days: int, publish: bool, effective_from: str | None, reason: str | None) -> None:
    """Turn a Word, PDF, Markdown or plain-text policy FILE into a structured policy: a draft, or version 1 with
    --publish."""
    request = importing.ImportRequest(
        policy_id=policy_id, actor=actor, source=file.name, title=title, language=language,
        review_interval_days=review_interval_days, publish=publish,
        effective_from=_moment(effective_from, "--effective-from"), reason=reason)
    ledger = services().ledger
    try:
        importing.check_policy_id(policy_id)  # before reading, so a typo in the id costs nothing
        parsed = importing.parse_policy_file(file, current_app.config.get("IMPORT_MAX_BYTES"))
        importing.check_request(request, parsed)
        _require_schema(services().engine)
        _require_user(services().engine, actor)
        _check_sections(parsed.sections)
        result = importing.import_policy(ledger, parsed, request)
    except DomainError as error:
        fail(error.message)
    found = parsed.summary
    click.echo(f"read {file.name}: {found.format}, {found.headings} headings, {found.paragraphs} paragraphs, "
               f"{found.items} items, depth {found.max_depth}")
    if found.unclassified:
        click.echo(f"lines it could not classify (kept as paragraphs; check them): "
                   f"{', '.join(map(str, found.unclassified))}")
    else:
        click.echo("lines it could not classify: none")
    click.echo(f"created policy {result.policy_id}: {result.title} (language {result.language})")
    click.echo(f"draft revision {result.draft_revision_id}")
    if result.version is not None:
        click.echo(f"adopted as version {result.version}, effective from {result.effective_from}")


def _require_user(engine: Engine, name: str) -> None:
    with engine.connect() as connection:
        if accounts.find(connection, name) is None:
            fail(f"--actor: no user {name!r}; add one with `policy-ledger users add`")


def _check_sections(sections: list[dict[str, Any]]) -> None:
    total = sum(1 for _ in importing.walk_sections(sections))
    importing.check_count(total)  # before the progress bar: a refusal is one line
    if total <= PROGRESS_THRESHOLD:
        importing.check_sections(sections)
        return
    with click.progressbar(length=total, label="checking sections", file=sys.stderr) as bar:
        importing.check_sections(sections, progress=bar.update)


@click.command("export", cls=OneLineCommand)
@click.argument("policy_id", metavar="ID")
@click.option("--version", type=click.IntRange(min=1), help="this version, whatever is in force")
@click.option("--at", metavar="TIME", help="the version in force at TIME (default: now)")
@click.option("--as-of", metavar="TIME", help="as the ledger had recorded it by TIME")
@click.option("--format", "output", type=click.Choice(["md", "txt", "json", "pdf", "docx"]), default="md",
              show_default=True, help="pdf and docx are controlled copies, naming the version, its approvers and hash")
@click.option("-o", "--output", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="write to FILE instead of printing (needed for pdf and docx)")
@with_appcontext
def export_command(policy_id: str, version: int | None, at: str | None, as_of: str | None, output: str,
                   target: Path | None) -> None:
    """Print a version of policy ID: the one in force now, in force --at a time, or --version N."""
    if version is not None and at is not None:
        fail("give --version or --at, not both")
    if output in ("pdf", "docx") and target is None:
        fail(f"--format {output} writes a file: give it with -o FILE")
    at_time = format_time(_moment(at, "--at") or utcnow())
    as_of_time = format_time(moment) if (moment := _moment(as_of, "--as-of")) else None
    engine = services().engine
    _require_schema(engine)
    with engine.connect() as connection:
        found = _find_version(connection, policy_id, version, at_time, as_of_time)
        stamp = queries.copy_stamp(connection, policy_id, found, format_time(utcnow()))
    document = {
        "id": policy_id, **{key: found[key] for key in DOCUMENT_FIELDS}, "log_position": found["position"],
        "content_hash": found["content_hash"],
        "sections": Document.from_tree(found["title"], found["sections"]).tree(),  # in the API's key order
    }
    content: bytes
    if output == "json":
        content = (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode()
    elif output in ("md", "txt"):
        content = (render_md if output == "md" else render_txt)(document).encode()
    else:
        content = controlled.controlled_copy(output, document, stamp)
    if target is None:
        click.echo(content.decode(), nl=False)
        return
    try:
        target.write_bytes(content)
    except OSError as error:
        fail(f"cannot write {target}: {error.strerror or error}")
    click.echo(f"wrote {target}: policy {policy_id} version {found['version']} as {output}")


def _find_version(connection: Connection, policy_id: str, version: int | None, at: str,
                  as_of: str | None) -> dict[str, Any]:
    """Return the requested version, or stop saying why there is none."""
    found = (versions.get(connection, policy_id, version, as_of) if version is not None
             else versions.in_force(connection, policy_id, at, as_of))
    if found is not None:
        return found
    if versions.document(connection, policy_id, 0) is None:
        fail(f"no policy {policy_id!r}")
    recorded = f" as recorded by {as_of}" if as_of else ""
    if version is not None:
        fail(f"policy {policy_id!r} has no version {version}{recorded}")
    upcoming = versions.scheduled(connection, policy_id, at, as_of)
    if upcoming is None:
        fail(f"policy {policy_id!r} has no published version{recorded}")
    fail(f"nothing of policy {policy_id!r} is in force at {at}{recorded}: version {upcoming['version']} takes "
         f"effect from {upcoming['effective_from']}")


@click.command("demo", cls=OneLineCommand)
@click.option("--if-empty", is_flag=True,
              help="when the log already holds events, load nothing and print the saved tokens instead")
@click.option("--tokens", "show_tokens", is_flag=True, help="only print the saved demo users' tokens")
@click.option("--tokens-file", type=click.Path(dir_okay=False, path_type=Path),
              help="where the demo users' tokens are kept (default: demo-tokens.txt in the instance folder)")
@with_appcontext
def demo_command(if_empty: bool, show_tokens: bool, tokens_file: Path | None) -> None:
    """Load the seed policy with its history since 2019: revisions, reviews, approvals, responsibilities."""
    path = tokens_file or Path(current_app.instance_path) / demo.TOKENS_FILE
    database = services().engine.url.render_as_string(hide_password=True)
    if show_tokens:
        _print_tokens(path, database)
        return
    _require_schema(services().engine)
    if not os.access(_existing_parent(path), os.W_OK):
        fail(f"cannot write the demo tokens to {path}")
    held = services().store.head()[0]
    if held and if_empty:
        click.echo(f"the log already holds {held} events; demo not loaded")
        _print_tokens(path, database)
        return
    try:
        result = demo.load_demo(current_app.config["DATABASE_URL"])
    except DomainError as error:
        fail(error.message)
    demo.save_tokens(path, result, database)
    click.echo(f"loaded policy {result.policy_id}: {result.events} events from 2019 to now")
    for name, revision_id in result.revisions.items():
        click.echo(f"  {revision_id}: {demo.REVISION_NOTES[name]}")
    _print_tokens(path, database)


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists():
        parent = parent.parent
    return parent


def _print_tokens(path: Path, database: str) -> None:
    saved = demo.read_tokens(path)
    if not saved.users:
        click.echo(f"no demo tokens saved at {path}; the demo was not loaded from here")
    elif saved.database != database:
        click.echo(f"the demo tokens at {path} belong to another database ({saved.database})")
    else:
        click.echo(f"demo users, their passwords for the pages and their API tokens (saved in {path}):")
        width = max(len(name) for name, *_ in saved.users)
        for name, roles, password, token in saved.users:
            click.echo(f"  {name:<{width}}  {roles:<14}  {password:<28}  {token}")


COMMANDS = (import_command, export_command, demo_command)
