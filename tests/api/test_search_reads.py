"""GET /api/v1/search on the seed policy with three versions, built once per database for the module.

Every test here only reads (`nothing_written` fails one that writes).
"""
from __future__ import annotations

import pytest

from tests.support import DATABASES, FakeClock, bearer
from tests.support.api import PID, PROVISION_5_NEW, build_three_versions, ok
from tests.support.apps import add_tokens, running_app

pytestmark = pytest.mark.usefixtures("nothing_written")
SEARCH = "/api/v1/search"


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request, databases, tmp_path_factory) -> str:
    with databases.lend(request.param, tmp_path_factory.mktemp("search")) as url:
        yield url


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def app(database_url, clock):
    with running_app(database_url, CLOCK=clock) as app:
        yield app


@pytest.fixture(scope="module")
def tokens(app) -> dict[str, str]:
    return add_tokens(app)


@pytest.fixture(scope="module")
def three_versions(app, tokens, clock) -> dict:
    return build_three_versions(app.test_client(), tokens, clock)


def search(client, token: str | None = None, **query: str):
    return client.get(SEARCH, query_string=query, headers=bearer(token) if token else {})


def test_anyone_finds_sections_of_the_version_in_force_with_their_words_marked(client, three_versions):
    body = ok(search(client, q="интеграциялоо"))
    assert body["next_cursor"] is None
    [item] = body["items"]
    assert item == {
        "policy_id": PID, "language": "ky", "title": "ОшМУнун билим берүүнүн сапаты саясаты", "version": 3,
        "in_force": True,
        "effective_from": "2025-09-01T00:00:00.000000Z", "section_id": three_versions["provision"],
        "label": item["label"], "snippet": item["snippet"], "versions": {"from": 2, "to": 3}, "exact": True}
    assert "<mark>интеграциялоо</mark>" in item["snippet"]
    assert item["snippet"].replace("<mark>", "").replace("</mark>", "").rstrip("…") in PROVISION_5_NEW


def test_a_text_no_longer_in_force_is_found_only_in_every_version_by_staff(client, tokens, three_versions):
    assert ok(search(client, q='"илим менен интеграциялоо"'))["items"] == []
    [old] = ok(search(client, tokens["reviewer"], q='"илим менен интеграциялоо"', **{"in": "all"}))["items"]
    assert (old["version"], old["in_force"], old["versions"], old["section_id"]) == (
        1, False, {"from": 1, "to": 1}, three_versions["provision"])
    [closing] = ok(search(client, tokens["auditor"], q="деңгээлдерде ашырылат", **{"in": "all"}))["items"]
    assert (closing["section_id"], closing["version"], closing["versions"], closing["in_force"]) == (
        three_versions["closing"], 2, {"from": 1, "to": 2}, False)
    assert closing["title"] == "Ош мамлекеттик университетинин билим берүүнүн сапаты областындагы саясаты"  # v2


def test_every_version_ranks_the_versions_in_force_first(client, tokens, three_versions):
    items = ok(search(client, tokens["author"], q="интеграциялоо", **{"in": "all"}))["items"]
    assert [(i["in_force"], i["versions"]) for i in items] == [(True, {"from": 2, "to": 3}),
                                                               (False, {"from": 1, "to": 1})]


def test_every_version_needs_a_signed_in_user(client, three_versions):
    response = search(client, q="саясат", **{"in": "all"})
    assert response.status_code == 401
    assert response.content_type == "application/problem+json"


def test_pages_follow_the_cursor_to_the_same_ranked_list(client, three_versions):
    whole = ok(search(client, q="билим", limit="500"))["items"]
    assert len(whole) > 3
    paged, cursor = [], None
    while True:
        body = ok(search(client, q="билим", limit="2", **({"cursor": cursor} if cursor else {})))
        paged += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert paged == whole


def test_filters_by_policy_and_language(client, three_versions):
    assert ok(search(client, q="саясат", language="ru"))["items"] == []
    assert ok(search(client, q="саясат", policy="another-policy"))["items"] == []
    assert ok(search(client, q="саясат", language="ky", policy=PID))["items"] == ok(
        search(client, q="саясат"))["items"]


@pytest.mark.parametrize(("q", "problem"), [
    ("", "the query is empty"), ("   ", "the query is empty"),
    ('"саясат', "unbalanced quotation mark"), ("*** ()", "no words"), ("ж" * 201, "longer than 200"),
])
def test_a_query_that_cannot_be_searched_is_a_422_naming_the_problem(client, three_versions, q, problem):
    response = search(client, q=q)
    assert response.status_code == 422
    body = response.json
    assert problem in body["detail"]
    assert problem in body["errors"]["q"][0]


def test_a_missing_query_is_an_empty_one(client, three_versions):
    assert search(client).json["errors"]["q"] == ["the query is empty"]


@pytest.mark.parametrize("q", ["саясат AND", "NOT саясат", "саясат*", "саясат OR (NEAR", "col:саясат", "^саясат"])
def test_search_operators_a_person_typed_are_taken_as_plain_words(client, three_versions, q):
    response = search(client, q=q)
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize("query", [{"in": "everything"}, {"cursor": "nonsense"}, {"limit": "0"}, {"sort": "x"}])
def test_bad_parameters_are_422_naming_them(client, three_versions, query):
    response = search(client, q="саясат", **query)
    assert response.status_code == 422
    assert response.json["errors"]
