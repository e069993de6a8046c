"""The auditor's trail endpoints over one history, built once per database for the module: filters, CSV and
JSON lines exports, responsibilities in time, section lineage.

Every test here only reads (`nothing_written` fails one that writes); the export of a long log is in
test_audit.py."""
from __future__ import annotations

import csv
import io
import json

import pytest

from events.application import Context
from events.domain import commands as cmd
from events.domain.canonical import parse_time
from tests.support import DATABASES, FakeClock, bearer
from tests.support.apps import add_tokens, running_app
from tests.support.lifecycle import ADMIN, ledger_on, run_lifecycle

PID = "oshsu-quality"
TRICKY = 'Ректордун буйругу: "сапат", 2024\nкийинки жылы'

pytestmark = pytest.mark.usefixtures("nothing_written")


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request, databases, tmp_path_factory) -> str:
    with databases.lend(request.param, tmp_path_factory.mktemp("audit")) as url:
        yield url


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def app(database_url):
    with running_app(database_url) as app:
        yield app


@pytest.fixture(scope="module")
def tokens(app) -> dict[str, str]:
    return add_tokens(app)


@pytest.fixture(scope="module")
def history(database_url, clock) -> dict:
    """The lifecycle, then a hand-over of the mission section recorded late and a reason spreadsheets might trip on."""
    with ledger_on(database_url, clock) as ledger:
        ids = run_lifecycle(ledger, clock, PID)
        (first_assignment,) = ledger.load(PID).assignments  # the unit run_lifecycle made responsible for the mission
        clock.set("2024-03-05T10:00:00+00:00")
        ledger.handle(
            cmd.AssignResponsibility(
                policy_id=PID, party="Өмүрбек Төлөнов", party_kind="person", section_id=ids["mission"],
                duty="responsible", valid_from=parse_time("2024-01-01T00:00:00Z"),
            ),
            Context(actor=ADMIN.actor, reason=TRICKY),
        )
        # Recorded on 2024-03-20, backdated: the unit stopped answering for the mission on 2024-01-01.
        clock.set("2024-03-20T10:00:00+00:00")
        ledger.handle(
            cmd.RevokeResponsibility(
                policy_id=PID, assignment_id=first_assignment, valid_to=parse_time("2024-01-01T00:00:00Z"),
            ),
            Context(actor=ADMIN.actor, reason="=HYPERLINK(\"x\")"),
        )
        ledger.handle(
            cmd.AssignResponsibility(
                policy_id=PID, party="Ректорат", party_kind="unit", section_id=None, duty="owner",
                valid_from=parse_time("2019-09-01T00:00:00Z"),
            ),
            ADMIN,
        )
        return {**ids, "unit_assignment": first_assignment}


def _get(client, tokens, path: str, **query):
    return client.get(f"/api/v1/policies/{PID}/{path}", query_string=query, headers=bearer(tokens["auditor"]))


def _all(client, tokens, **query) -> list[dict]:
    items, cursor = [], None
    while True:
        body = _get(client, tokens, "audit", **query, **({"cursor": cursor} if cursor else {})).json
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            return items


# ---- the trail ----------------------------------------------------------------------------------

def test_the_trail_names_who_did_what_in_which_role_when_and_why(client, tokens, history, store):
    items = _all(client, tokens, limit=4)
    assert [i["position"] for i in items] == [e.position for e in store.read_all()]
    rejected = next(i for i in items if i["action"] == "revision_rejected")
    assert (rejected["actor"], rejected["role"], rejected["reason"]) == ("rector", "approver", "Жобо милдеттүү")
    assert rejected["revision_id"] == history["rejected"]
    signed = [i for i in items if i["action"] == "approval_signed"]
    assert [(i["actor"], i["detail"]) for i in signed] == [
        ("qa-director", "approved as quality assurance director"), ("rector", "approved as rector")]
    assert set(items[0]) == {"position", "occurred_at", "recorded_at", "actor", "role", "action", "revision_id",
                             "section_id", "version", "detail", "reason", "correlation_id"}


def test_the_trail_filters_by_actor_action_and_occurred_time(client, tokens, history):
    rector = _all(client, tokens, actor="rector")
    assert rector and {i["actor"] for i in rector} == {"rector"}
    reviews = _all(client, tokens, action="review_request_changes")
    assert [i["detail"] for i in reviews] == ["Сөз айкашын тактаңыз"]
    window = _all(client, tokens, since="2021-05-01T00:00:00Z", until="2021-08-31T00:00:00+06:00")
    assert window and all("2021-05-01" <= i["occurred_at"] <= "2021-08-31" for i in window)
    assert {i["action"] for i in window} >= {"revision_opened", "approval_signed", "revision_published"}


def test_as_of_shows_only_what_was_recorded_by_then(client, tokens, history):
    known = _all(client, tokens, as_of="2024-03-10T00:00:00Z")
    assert known[-1]["action"] == "responsibility_assigned"
    assert "responsibility_revoked" not in {i["action"] for i in known}
    assert all(i["recorded_at"] <= "2024-03-10" for i in known)
    assert len(_all(client, tokens)) == len(known) + 2


@pytest.mark.parametrize("query,field", [
    ("since=2021-05-01T00:00:00", "since"),  # no offset
    ("until=yesterday", "until"),
    ("as_of=2021-13-01T00:00:00Z", "as_of"),
    ("since=2022-01-01T00:00:00Z&until=2021-01-01T00:00:00Z", "until"),
    ("action=deleted_everything", "action"),
    ("actor=", "actor"),
    ("format=pdf", "format"),
    ("limit=0", "limit"),
    ("cursor=%%%", "cursor"),
    ("who=rector", "who"),
])
def test_a_bad_trail_parameter_is_a_422_naming_it(client, tokens, history, query, field):
    response = client.get(f"/api/v1/policies/{PID}/audit?{query}", headers=bearer(tokens["auditor"]))
    assert response.status_code == 422
    assert field in response.json["errors"]


@pytest.mark.parametrize("path", ["audit", "responsibilities/at", "sections/s-0002/lineage"])
def test_the_trail_is_for_auditors_only_and_for_known_policies(client, tokens, history, path):
    assert client.get(f"/api/v1/policies/{PID}/{path}").status_code == 401
    assert client.get(f"/api/v1/policies/{PID}/{path}", headers=bearer(tokens["approver"])).status_code == 403
    assert client.get(f"/api/v1/policies/{PID}/{path}", headers=bearer(tokens["auditor"])).status_code == 200
    unknown = client.get(f"/api/v1/policies/nowhere/{path}", headers=bearer(tokens["auditor"]))
    assert unknown.status_code == 404 and "policy_id" in unknown.json["errors"]


# ---- exports ------------------------------------------------------------------------------------

def test_the_csv_export_opens_in_a_spreadsheet_with_kyrgyz_intact(client, tokens, history):
    response = _get(client, tokens, "audit", format="csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params["charset"] == "utf-8"
    assert response.headers["Content-Disposition"].startswith(f'attachment; filename="{PID}-audit.csv"')
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.split("\r\n", 1)[0] == ("position,occurred_at,recorded_at,actor,role,action,revision_id,"
                                        "section_id,version,detail,reason,correlation_id")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert rows == [{k: "" if v is None else str(v) if k != "reason" or not str(v).startswith("=") else "'" + v
                     for k, v in item.items()} for item in _all(client, tokens)]
    tricky = next(r for r in rows if r["reason"] == TRICKY)  # quotes, comma and newline come back whole
    assert tricky["detail"] == "Өмүрбек Төлөнов (person): responsible"
    assert '"Ректордун буйругу: ""сапат"", 2024\nкийинки жылы"' in text


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_kept_as_text(client, tokens, history):
    text = _get(client, tokens, "audit", format="csv", action="responsibility_revoked").get_data().decode("utf-8-sig")
    (row,) = csv.DictReader(io.StringIO(text, newline=""))
    assert row["reason"] == "'=HYPERLINK(\"x\")"


def test_exports_take_the_same_filters_and_json_lines_carry_the_exact_values(client, tokens, history):
    lines = _get(client, tokens, "audit", format="jsonl", actor="quality-office").get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == _all(client, tokens, actor="quality-office")
    assert any(json.loads(line)["reason"] == "=HYPERLINK(\"x\")" for line in lines)
    csv_rows = list(csv.DictReader(io.StringIO(
        _get(client, tokens, "audit", format="csv", actor="rector").get_data().decode("utf-8-sig"), newline="")))
    assert {r["actor"] for r in csv_rows} == {"rector"} and len(csv_rows) == len(_all(client, tokens, actor="rector"))


# ---- responsibilities in time -------------------------------------------------------------------

def _parties(client, tokens, **query) -> set[str]:
    body = _get(client, tokens, "responsibilities/at", **query).json
    return {i["party"] for i in body["items"]}


def test_responsibility_at_an_effective_time_as_known_at_a_record_time(client, tokens, history):
    mission = history["mission"]
    # As the system knew it on 2024-03-10 (before the backdated revocation was recorded): the unit still answered.
    assert _parties(client, tokens, at="2024-02-01T00:00:00Z", as_of="2024-03-10T00:00:00Z",
                    section_id=mission) == {"Сапат бөлүмү", "Өмүрбек Төлөнов"}
    # As known now: the unit stopped on 2024-01-01, and the policy-wide owner counts for every section.
    assert _parties(client, tokens, at="2024-02-01T00:00:00Z", section_id=mission) == {"Өмүрбек Төлөнов", "Ректорат"}
    # Before the person's assignment began, the unit answered, as it was known then and as known now.
    assert _parties(client, tokens, at="2023-06-01T00:00:00Z", as_of="2023-06-01T00:00:00Z") == {"Сапат бөлүмү"}
    assert _parties(client, tokens, at="2023-06-01T00:00:00Z") == {"Сапат бөлүмү", "Ректорат"}
    assert _parties(client, tokens, at="2019-08-01T00:00:00Z") == set()


def test_a_revocation_recorded_after_as_of_is_not_shown(client, tokens, history):
    body = _get(client, tokens, "responsibilities/at", at="2023-06-01T00:00:00Z", as_of="2024-03-10T00:00:00Z").json
    (unit,) = [i for i in body["items"] if i["party"] == "Сапат бөлүмү"]
    assert unit["valid_to"] is None and unit["revoked_by"] is None
    now = _get(client, tokens, "responsibilities/at", at="2023-06-01T00:00:00Z").json
    (unit,) = [i for i in now["items"] if i["party"] == "Сапат бөлүмү"]
    assert unit["valid_to"] == "2024-01-01T00:00:00.000000Z" and unit["revoked_by"] == "quality-office"
    assert unit["assigned_recorded_at"].startswith("2019-08-20")


def test_responsibilities_at_refuses_bad_times_and_unknown_sections(client, tokens, history):
    bad = _get(client, tokens, "responsibilities/at", at="2024-02-01")
    assert bad.status_code == 422 and "at" in bad.json["errors"]
    extra = _get(client, tokens, "responsibilities/at", when="now")
    assert extra.status_code == 422 and "when" in extra.json["errors"]
    unknown = _get(client, tokens, "responsibilities/at", section_id="s-9999")
    assert unknown.status_code == 404 and "section_id" in unknown.json["errors"]


# ---- lineage ------------------------------------------------------------------------------------

def test_a_sections_lineage_names_each_change_its_author_reviewers_and_signatories(client, tokens, history):
    body = _get(client, tokens, f"sections/{history['first_item']}/lineage").json
    first, second = body["items"]
    assert (first["version"], first["changes"], first["reviews"], first["approvals"]) == (1, ["added"], [], [])
    assert second["version"] == 2 and second["changes"] == ["amended"] and second["author"] == "dean"
    assert second["revision_id"] == history["revision"] and second["summary"] == "Миссияны тактоо"
    assert second["text"] == "билим берүүнүн сапатын кепилдөөнү камсыздоо;"
    assert [(r["reviewer"], r["verdict"], r["void"]) for r in second["reviews"]] == [
        ("reviewer1", "request_changes", True), ("reviewer1", "approve", False)]
    assert [(a["approver"], a["role"], a["meaning"], a["void"]) for a in second["approvals"]] == [
        ("qa-director", "approver", "approved as quality assurance director", False),
        ("rector", "approver", "approved as rector", False)]
    assert second["approvers"] == ["qa-director", "rector"]
    assert [e["data"]["text"] for e in second["edits"]] == [
        "билим берүүнүн сапатын кепилдөө;", "билим берүүнүн сапатын кепилдөөнү камсыздоо;"]


def test_an_unknown_sections_lineage_is_a_404(client, tokens, history):
    response = _get(client, tokens, "sections/s-9999/lineage")
    assert response.status_code == 404 and "section_id" in response.json["errors"]
    bad = _get(client, tokens, f"sections/{history['mission']}/lineage", depth=2)
    assert bad.status_code == 422 and "depth" in bad.json["errors"]


def test_the_openapi_document_describes_the_trail_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    audit = spec["paths"]["/api/v1/policies/{pid}/audit"]["get"]
    assert {"actor", "since", "until", "as_of", "action", "format", "limit", "cursor"} <= {
        p["name"] for p in audit["parameters"]}
    assert set(audit["responses"]["200"]["content"]) == {"application/json", "text/csv", "application/x-ndjson"}
    assert "/api/v1/policies/{pid}/responsibilities/at" in spec["paths"]
    assert "approvals" in spec["components"]["schemas"]["LineageItem"]["properties"]
