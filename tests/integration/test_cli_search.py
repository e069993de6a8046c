"""`policy-ledger search QUERY [--all]`, through click's runner on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest

from service.accounts import add_user
from tests.integration.test_cli_content import invoke, one_line_error
from tests.support import SEED_POLICY


@pytest.fixture
def seed(runner, app) -> str:
    """The seed policy adopted as version 1, in force since 2019-09-01."""
    add_user(app.extensions["policy_ledger"].engine, "quality-office", ["author", "admin"])
    result = invoke(runner, "import", SEED_POLICY, "--id", "oshsu-quality", "--actor", "quality-office",
                    "--publish", "--effective-from", "2019-09-01")
    assert result.exit_code == 0, result.output
    return "oshsu-quality"


def test_search_prints_each_section_found_with_its_words_marked(runner, app, seed):
    result = invoke(runner, "search", "интеграциялоо")
    assert result.exit_code == 0, result.output
    first, snippet = result.stdout.splitlines()[:2]
    assert first.startswith("oshsu-quality ")
    assert "version 1, in force" in first
    assert "*интеграциялоо*" in snippet


def test_a_phrase_in_quotes_and_folded_letters_are_searched_as_on_the_api(runner, app, seed):
    phrase = invoke(runner, "search", '"кепилдигин камсыздоо"')
    filtered = invoke(runner, "search", '"кепилдигин камсыздоо"', "--policy", "oshsu-quality", "--language", "ky")
    assert phrase.exit_code == filtered.exit_code == 0
    assert phrase.stdout == filtered.stdout != ""
    assert "*кепилдигин* *камсыздоо*" in phrase.stdout
    assert invoke(runner, "search", '"камсыздоо кепилдигин"').stderr.strip() == "no section matches"
    written, folded = invoke(runner, "search", "өнүгүү"), invoke(runner, "search", "онугуу")
    assert folded.stdout.replace("*", "") == written.stdout.replace("*", "") != ""


def test_nothing_found_says_so_on_stderr(runner, app, seed):
    result = invoke(runner, "search", "плагиат")
    assert (result.exit_code, result.stdout, result.stderr.strip()) == (0, "", "no section matches")


def test_every_version_with_all(runner, app, seed):
    result = invoke(runner, "search", "интеграциялоо", "--all")
    assert result.exit_code == 0, result.output
    assert "version 1, in force" in result.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["   "], "the query is empty"), (['"саясат'], "unbalanced quotation mark"), (["***"], "no words"),
    (["саясат", "--limit", "0"], "--limit"),
])
def test_a_query_that_cannot_be_searched_is_one_line(runner, app, seed, args, message):
    assert message in one_line_error(invoke(runner, "search", *args))
