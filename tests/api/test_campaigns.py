"""Acknowledgement campaigns through the API: starting one, its roster as JSON and CSV, its renewal, refusals."""
from __future__ import annotations

import csv
import io

import pytest

from service.accounts import add_user
from tests.support.api import PID, get, ok, post, publish, revise

KYRGYZ_NAME = "Айгүл"
KYRGYZ_FULL_NAME = "Айгүл Өмүрбекова-Ңаматова"


@pytest.fixture
def kyrgyz_user(app) -> str:
    """A staff member whose user name and full name are Kyrgyz; returns her token."""
    return add_user(app.extensions["policy_ledger"].engine, KYRGYZ_NAME, ["staff"], full_name=KYRGYZ_FULL_NAME)


def start(client, tokens, body: dict, version: int = 1, status: int = 201) -> dict:
    return ok(post(client, tokens["admin"], f"/{PID}/versions/{version}/campaigns", body), status)


def roster(client, tokens, cid: str, version: int = 1, who: str = "admin") -> dict:
    return ok(get(client, tokens[who], f"/{PID}/versions/{version}/campaigns/{cid}"))


def test_a_campaign_asks_the_role_and_the_named_users_and_its_roster_counts_acknowledgements(
        client, tokens, published, kyrgyz_user):
    created = start(client, tokens, {"roles": ["staff"], "users": ["dean"],
                                     "due": "2024-04-01T00:00:00+06:00"})
    cid = created["id"]
    assert created["version"] == 1 and created["due"] == "2024-03-31T18:00:00.000000Z"
    found = roster(client, tokens, cid)
    assert (found["total"], found["acknowledged"], found["rate"]) == (3, 0, 0.0)
    assert [p["user"] for p in found["people"]] == sorted(["dean", "lecturer", KYRGYZ_NAME])
    assert all(p["acknowledged_at"] is None for p in found["people"])
    assert (found["roles"], found["users"], found["started_by"]) == (["staff"], ["dean"], "quality-office")

    ok(post(client, tokens["staff"], f"/{PID}/acknowledgements", {"version": 1}), 201)
    ok(client.post(f"/api/v1/policies/{PID}/acknowledgements", json={"version": 1},
                   headers={"Authorization": f"Bearer {kyrgyz_user}"}), 201)
    ok(post(client, tokens["reviewer"], f"/{PID}/acknowledgements", {"version": 1}), 201)  # not asked: not counted
    found = roster(client, tokens, cid, who="auditor")
    assert (found["total"], found["acknowledged"], found["rate"]) == (3, 2, round(2 / 3, 4))
    answered = {p["user"]: p["acknowledged_at"] for p in found["people"]}
    assert answered["dean"] is None and answered["lecturer"].startswith("2024-03-01")
    assert answered[KYRGYZ_NAME].startswith("2024-03-01")


def test_the_roster_downloads_as_csv_with_kyrgyz_names_intact(client, tokens, published, kyrgyz_user):
    cid = start(client, tokens, {"users": [KYRGYZ_NAME, "lecturer"], "due": "2024-04-01T00:00:00Z"})["id"]
    ok(client.post(f"/api/v1/policies/{PID}/acknowledgements", json={"version": 1},
                   headers={"Authorization": f"Bearer {kyrgyz_user}"}), 201)
    response = get(client, tokens["admin"], f"/{PID}/versions/1/campaigns/{cid}?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8").lstrip("\ufeff"))))
    assert rows[0] == ["user", "full_name", "acknowledged_at"]
    by_user = {row[0]: row for row in rows[1:]}
    assert by_user[KYRGYZ_NAME][1] == KYRGYZ_FULL_NAME and by_user[KYRGYZ_NAME][2].startswith("2024-03-01")
    assert by_user["lecturer"][2] == ""


def test_a_substantive_version_starts_a_new_campaign_for_the_same_people_and_an_editorial_one_does_not(
        client, tokens, published, clock):
    cid = start(client, tokens, {"roles": ["staff"], "users": ["dean"], "due": "2024-03-15T09:00:00Z"})["id"]
    editorial = revise(client, tokens, PID, [{"op": "amend", "section_id": published["closing"],
                                              "text": "Саясат бардык деңгээлдерде жүзөгө ашырылат!"}])["id"]
    assert publish(client, tokens, PID, editorial, "2024-03-01T10:00:00Z", editorial=True) == 2
    assert get(client, tokens["admin"], f"/{PID}/versions/2/campaigns/{cid}-v2").status_code == 404
    # an acknowledgement of the editorial version answers the campaign of the version before it
    ok(post(client, tokens["staff"], f"/{PID}/acknowledgements", {"version": 2}), 201)
    found = roster(client, tokens, cid)
    assert found["counted_versions"] == [1, 2] and found["acknowledged"] == 1
    substantive = revise(client, tokens, PID, [{"op": "amend", "section_id": published["first"],
                                                "text": "жаңы милдет ү ө ң;"}])["id"]
    assert publish(client, tokens, PID, substantive, "2024-04-01T00:00:00Z") == 3
    renewed = roster(client, tokens, f"{cid}-v3", version=3)
    assert renewed["follows"] == cid and renewed["version"] == 3
    assert [p["user"] for p in renewed["people"]] == ["dean", "lecturer"] and renewed["acknowledged"] == 0
    # the fortnight the first campaign gave (less the microseconds the test clock ticks), from the effective date
    assert renewed["due"].startswith("2024-04-14T23:59:59.99")
    assert roster(client, tokens, cid)["counted_versions"] == [1, 2]


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"roles": ["staff"]}, 422, "due"),
    ({"roles": ["janitor"], "due": "2024-04-01T00:00:00Z"}, 422, "roles"),
    ({"users": ["nobody-x"], "due": "2024-04-01T00:00:00Z"}, 422, "users"),
    ({"due": "2024-04-01T00:00:00Z"}, 422, "roles"),
    ({"roles": ["staff"], "due": "2024-02-01T00:00:00Z"}, 422, "due"),
    ({"roles": ["staff"], "due": "2024-04-01T00:00:00Z", "extra": 1}, 422, "extra"),
])
def test_a_bad_campaign_is_refused_naming_the_field_and_starts_nothing(client, tokens, published, app, body, status,
                                                                       field):
    store = app.extensions["policy_ledger"].store
    before = store.head()[0]
    refused = start(client, tokens, body, status=status)
    assert any(name.split("[")[0] == field for name in refused["errors"]), refused
    assert store.head()[0] == before


def test_an_unknown_version_or_campaign_is_a_404_and_only_admins_and_auditors_read_a_roster(client, tokens,
                                                                                           published):
    assert post(client, tokens["admin"], f"/{PID}/versions/9/campaigns",
                {"roles": ["staff"], "due": "2024-04-01T00:00:00Z"}).status_code == 404
    cid = start(client, tokens, {"roles": ["staff"], "due": "2024-04-01T00:00:00Z"})["id"]
    assert get(client, tokens["admin"], f"/{PID}/versions/1/campaigns/cmp-nothing").status_code == 404
    assert get(client, tokens["admin"], f"/{PID}/versions/2/campaigns/{cid}").status_code == 404
    for who in ("staff", "author", "approver"):
        assert get(client, tokens[who], f"/{PID}/versions/1/campaigns/{cid}").status_code == 403
    assert post(client, tokens["approver"], f"/{PID}/versions/1/campaigns",
                {"roles": ["staff"], "due": "2024-04-01T00:00:00Z"}).status_code == 403
