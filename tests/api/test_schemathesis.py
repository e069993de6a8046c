"""A bounded schemathesis run against the served OpenAPI document: no 5xx, no response breaking its schema."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from events.application import Ledger
from tests.support import FakeClock
from tests.support.lifecycle import run_lifecycle


@pytest.fixture
def database_url(databases, tmp_path) -> str:
    """SQLite only: the fuzz run is bounded; every endpoint also runs on PostgreSQL in the API tests."""
    with databases.lend("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def api_schema(app):
    """The app with a real history in it, loaded as a schemathesis schema from its own OpenAPI document."""
    clock = FakeClock()
    run_lifecycle(Ledger(store=app.extensions["policy_ledger"].store, clock=clock), clock)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _token_for(method: str, path: str, tokens: dict[str, str]) -> str:
    """Send each operation the token of the role that may call it, so generated cases reach the handlers."""
    if "/webhooks" in path:
        return tokens["admin"]
    if method == "GET" or path.endswith("/checkpoints"):
        return tokens["auditor"]
    if path.endswith("/reviews"):
        return tokens["reviewer"]
    if path.endswith(("/approvals", "/publish", "/reject", "/periodic-reviews")):
        return tokens["approver2"]
    if path.endswith("/responsibilities"):
        return tokens["admin"]
    return tokens["author"]


def _fuzz(operation, token: str, calls: list[int]) -> None:
    """Run the generated cases of one operation with the given token, recording the status of every answer."""

    @settings(max_examples=12, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy())
    def check(case) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
        response = case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
        calls.append(response.status_code)

    check()


@pytest.mark.slow
def test_the_api_never_answers_5xx_nor_breaks_its_own_schema(api_schema, tokens):
    calls = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 30

    for operation in operations:
        _fuzz(operation, _token_for(operation.method.upper(), operation.path, tokens), calls)
    assert len(calls) >= 5 * len(operations)
    assert sum(200 <= code < 300 for code in calls) >= 10, "the run should reach real answers too"
