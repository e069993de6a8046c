"""A bounded schemathesis run against the served OpenAPI document, with every check: no 5xx, no response breaking
its schema, its status codes, content types or headers, no invalid request accepted; explicit cases for the
inputs its generators did not reach; and the stateful phase."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi import checks as conformance

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
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)


# Every check schemathesis has for responses. A schema-valid request may still be refused with 422 where the
# domain decides what no schema can say (an opaque cursor this service did not issue, a time before the year
# 1000, a lone surrogate, a rule of the policy), or 412 when a generated If-Match names another version: the
# problem document then names the field. Any other refusal of valid data fails.
CHECKS = [not_a_server_error, conformance.status_code_conformance, conformance.content_type_conformance,
          conformance.response_headers_conformance, conformance.response_schema_conformance,
          conformance.negative_data_rejection, conformance.positive_data_acceptance,
          conformance.unsupported_method, conformance.allow_header_conformance]
CONFIG = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "412", "422", "429"]}}})


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
        response = case.call_and_validate(checks=CHECKS)
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


def _operation(api_schema, method: str, path: str):
    return next(r.ok() for r in api_schema.get_all_operations()
                if r.ok().method.upper() == method and r.ok().path == path)


EXPLICIT = [  # inputs that once answered 500 or were refused though valid; (method, path, case fields, status)
    ("POST", "/api/v1/policies/{pid}/revisions", {"path_parameters": {"pid": "oshsu-quality"},
                                                  "body": {"summary": "Жаңы \ud800"}}, 422),
    ("POST", "/api/v1/policies", {"body": {"id": "new-policy", "title": "\udfffСаясат", "language": "ky",
                                           "review_interval_days": 365}}, 422),
    ("GET", "/api/v1/events", {"query": {"after": 9223372036854775808}}, 422),
    ("GET", "/api/v1/events", {"query": {"after": -1}}, 422),
    ("GET", "/api/v1/events", {"query": {"cursor": "OTIyMzM3MjAzNjg1NDc3NTgwOA"}}, 422),  # 2^63
    ("GET", "/api/v1/policies/{pid}/events", {"path_parameters": {"pid": "oshsu-quality"},
                                              "query": {"cursor": "LTE"}}, 422),  # -1
    ("GET", "/api/v1/policies/{pid}/audit", {"path_parameters": {"pid": "oshsu-quality"},
                                             "query": {"since": "9999-12-31T23:59:59-14:00"}}, 422),
    ("GET", "/api/v1/policies/{pid}/audit", {"path_parameters": {"pid": "oshsu-quality"},
                                             "query": {"since": "0001-01-01T00:00:00+14:00"}}, 422),
    ("GET", "/api/v1/policies", {"query": {"cursor": ""}}, 200),
    ("GET", "/api/v1/policies/{pid}/diff", {"path_parameters": {"pid": "oshsu-quality"},
                                            "query": {"from": 1, "to": 1}}, 200),
]


@pytest.mark.parametrize("method, path, fields, status", EXPLICIT)
def test_explicit_cases_that_once_broke_the_service_pass_every_check(api_schema, tokens, method, path, fields,
                                                                      status):
    operation = _operation(api_schema, method, path)
    case = operation.Case(**fields, headers={"Authorization": f"Bearer {_token_for(method, path, tokens)}"})
    response = case.call_and_validate(checks=[not_a_server_error, conformance.status_code_conformance,
                                              conformance.content_type_conformance,
                                              conformance.response_schema_conformance])
    assert response.status_code == status, response.text[:500]


@pytest.mark.slow
def test_the_stateful_phase_chains_requests_without_a_5xx_or_a_conformance_failure(api_schema, tokens):
    machine = api_schema.as_state_machine()  # transitions inferred from the document: ids answered, ids sent

    class Machine(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {_token_for(case.method.upper(), case.path, tokens)}"}}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            case.validate_response(response, checks=CHECKS)

    Machine.run(settings=settings(max_examples=20, stateful_step_count=6, deadline=None, database=None,
                                  suppress_health_check=list(HealthCheck)))
