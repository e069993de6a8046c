"""`policy-ledger search`: full-text search from the command line, as the API answers it."""
from __future__ import annotations

import re
import sys
from html import unescape

import click
from flask.cli import with_appcontext

from events.domain.canonical import format_time
from events.store.engine import read_transaction
from projections.search import QueryError
from service.bootstrap import services
from service.queries.search import search_page

from .content import OneLineCommand, _require_schema, fail

_MARK = re.compile(r"<mark>(.*?)</mark>")


def _plain(snippet: str, styled: bool) -> str:
    """Return a snippet as terminal text: matched words bold on a terminal, between asterisks otherwise."""
    marked = _MARK.sub(lambda m: click.style(m[1], bold=True, underline=True) if styled else f"*{m[1]}*", snippet)
    return unescape(marked)


@click.command("search", cls=OneLineCommand)
@click.argument("query")
@click.option("--all", "every_version", is_flag=True, help="search every version, not only those in force")
@click.option("--language", help="only policies in this language")
@click.option("--policy", "policy_id", metavar="ID", help="only this policy")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500), help="how many sections")
@with_appcontext
def search_command(query: str, every_version: bool, language: str | None, policy_id: str | None,
                   limit: int) -> None:
    """Find sections by their words (a word also finds the words it begins; "phrases" in quotes)."""
    engine = services().engine
    _require_schema(engine)
    try:
        with read_transaction(engine) as connection:
            found, _ = search_page(connection, query, at=format_time(services().store.clock()),
                                every_version=every_version, language=language, policy_id=policy_id,
                                limit=limit)
    except QueryError as error:
        fail(f"search: {error}")
    if not found:
        click.echo("no section matches", err=True)
        return
    styled = sys.stdout.isatty()
    for item in found:
        held = item["versions"]
        versions = f"version {held['from']}" if held["from"] == held["to"] else f"versions {held['from']}–{held['to']}"
        state = "in force" if item["in_force"] else f"not in force (shown: version {item['version']})"
        label = f" {item['label']}" if item["label"] else ""
        click.echo(f"{item['policy_id']}{label} [{item['section_id']}]  {versions}, {state}  {item['title']}")
        click.echo(f"    {_plain(item['snippet'], styled)}")


COMMANDS = (search_command,)
