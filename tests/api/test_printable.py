"""The printable version with its signature manifest, and the version list as the ledger knew it."""
from __future__ import annotations

from events.application import Ledger
from events.domain import commands as cmd
from events.store import EventStore
from tests.support import FakeClock, bearer
from tests.support.lifecycle import run_lifecycle


def _history(app) -> dict:
    """A realistic history whose record times are historical too (an empty log, so they never run backwards)."""
    clock = FakeClock()
    store = EventStore(app.extensions["policy_ledger"].engine, clock=clock)
    return run_lifecycle(Ledger(store=store, clock=clock), clock)


def test_a_printable_version_shows_the_text_and_who_signed_it_with_what_meaning(app, client):
    _history(app)
    response = client.get("/api/v1/policies/oshsu-quality/versions/2/print")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "билим берүүнүн сапатын кепилдөөнү камсыздоо;" in page
    assert "approved as quality assurance director" in page and "approved as rector" in page
    assert "qa-director" in page and "rector" in page
    assert "request_changes" in page and "no: content changed after it" in page
    document = client.get("/api/v1/policies/oshsu-quality/versions/2").json
    assert document["content_hash"] in page
    again = client.get("/api/v1/policies/oshsu-quality/versions/2/print",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_first_adopted_version_says_it_was_adopted_and_has_no_signatures(app, client):
    _history(app)
    page = client.get("/api/v1/policies/oshsu-quality/versions/1/print").get_data(as_text=True)
    assert "Adopted into the ledger" in page and "No signatures." in page


def test_a_printable_version_escapes_markup_in_the_text(app, client, tokens):
    created = client.post("/api/v1/policies", headers=bearer(tokens["author"]), json={
        "id": "markup", "title": "<b>Т</b>", "language": "ky", "review_interval_days": 30,
        "sections": [{"kind": "paragraph", "text": "<script>alert(1)</script> ү"}]})
    assert created.status_code == 201
    ledger = app.extensions["policy_ledger"].ledger
    from events.application import Context
    from events.domain.policy import Actor
    ledger.handle(cmd.AdoptRevision(policy_id="markup", revision_id=created.json["draft_revision_id"]),
                  Context(actor=Actor(name="quality-office", role="admin"), reason="adopted"))
    page = client.get("/api/v1/policies/markup/versions/1/print").get_data(as_text=True)
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_an_unknown_version_has_no_printable_page(app, client):
    _history(app)
    assert client.get("/api/v1/policies/oshsu-quality/versions/9/print").status_code == 404


def test_the_version_list_as_of_a_record_time_leaves_out_later_publications(app, client):
    _history(app)
    everything = client.get("/api/v1/policies/oshsu-quality/versions").json["items"]
    assert [v["version"] for v in everything] == [1, 2]
    earlier = client.get("/api/v1/policies/oshsu-quality/versions", query_string={
        "as_of": "2020-01-01T00:00:00Z"}).json["items"]
    assert [v["version"] for v in earlier] == [1]
