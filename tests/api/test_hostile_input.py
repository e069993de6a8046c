"""Input a careless or hostile client can send is a 4xx naming the field, never a 500, and writes nothing:
lone surrogates anywhere in a JSON body, numbers and cursors past what the databases hold, times out of range."""
from __future__ import annotations

import base64
import json

import pytest

from tests.support import bearer
from tests.support.api import API, PID

PROBLEM = "application/problem+json"
SURROGATE = "\ud800"


def raw_json(client, token: str, path: str, body: dict):
    """POST a body with lone surrogates escaped as JSON allows (`\\ud800`), which json.dumps writes as sent."""
    return client.post(API + path, data=json.dumps(body), content_type="application/json", headers=bearer(token))


def assert_refused(response, status: int, field: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert field in response.json.get("errors", {}), response.json


def test_a_lone_surrogate_anywhere_in_a_json_body_is_a_422_naming_the_field(client, tokens, draft, published, store):
    before = store.head()[0]
    base = f"/{PID}/revisions/{draft}"
    cases = [
        ("author", f"/{PID}/revisions", {"summary": "Жаңы " + SURROGATE}, "summary"),
        ("author", f"{base}/changes", {"changes": [{"op": "amend", "section_id": published["first"],
                                                    "text": "ү" + SURROGATE + "ө"}]}, "changes[0].text"),
        ("author", f"{base}/changes", {"changes": [{"op": "retitle", "title": SURROGATE}]}, "changes[0].title"),
        ("author", f"{base}/withdraw", {"reason": "ң" + SURROGATE}, "reason"),
        ("approver", f"{base}/reject", {"reason": SURROGATE}, "reason"),
        ("author", "", {"id": "new-policy", "title": "Саясат" + SURROGATE, "language": "ky",
                        "review_interval_days": 365}, "title"),
        ("author", f"{base}/changes", {"changes": [{"op": "retitle", "title": "ok"}], "\udfff": 1}, "\\udfff"),
    ]
    for who, path, body, field in cases:
        assert_refused(raw_json(client, tokens[who], path, body), 422, field)
    assert store.head()[0] == before


def test_a_surrogate_encoded_in_a_query_arrives_as_replacement_characters_and_is_answered(client, tokens, published):
    # Percent-encoded, a surrogate is invalid UTF-8: the query decodes it as U+FFFD, which no id or cursor holds.
    response = client.get(f"{API}?cursor=%ED%A0%80", headers=bearer(tokens["auditor"]))
    assert_refused(response, 422, "cursor")
    response = client.get(f"{API}/{PID}/audit?actor=%ED%A0%80", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200 and response.json["items"] == []


def _cursor(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize("query", [
    "after=9223372036854775808", "after=-1", "after=99999999999999999999999999", "up_to=9223372036854775808",
    f"cursor={_cursor(2**63)}", f"cursor={_cursor(-1)}", f"cursor={_cursor(10**30)}",
])
def test_a_position_or_cursor_past_64_bits_or_negative_is_a_422_on_the_log(client, tokens, published, query):
    field = query.split("=")[0]
    assert_refused(client.get(f"/api/v1/events?{query}", headers=bearer(tokens["auditor"])), 422, field)


@pytest.mark.parametrize("path", [f"/{PID}/events", "/ledger/checkpoints"])
def test_a_cursor_past_64_bits_or_negative_is_a_422_on_every_page(client, tokens, published, path):
    for value in (2**63, -1, 10**30):
        response = client.get(f"/api/v1{'/policies' if 'events' in path else ''}{path}?cursor={_cursor(value)}",
                              headers=bearer(tokens["auditor"]))
        assert_refused(response, 422, "cursor")


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00%2B14:00",
                                   "0999-12-31T23:59:59Z", "10000-01-01T00:00:00Z"])
@pytest.mark.parametrize("field", ["since", "until", "as_of"])
def test_a_time_out_of_range_on_the_audit_trail_is_a_422_naming_it(client, tokens, published, value, field):
    response = client.get(f"{API}/{PID}/audit?{field}={value}", headers=bearer(tokens["auditor"]))
    assert_refused(response, 422, field)


def test_an_empty_cursor_is_the_first_page(client, tokens, published):
    response = client.get(f"{API}?cursor=", headers=bearer(tokens["auditor"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [p["id"] for p in response.json["items"]] == [PID]
