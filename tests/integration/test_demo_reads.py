"""The demo's history since 2019 as the read models hold it, loaded once per database for the module.

Every test here only reads (`nothing_written` fails one that writes); the rebuild, the refusals that need other
states and the command that loads the demo are in test_demo.py.
"""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from events.domain.errors import WrongState
from events.store import EventStore
from projections import documents as versions_model
from projections.audit import acknowledgements, periodic_reviews, responsibilities
from projections.documents import policy_versions
from projections.revisions import revision_approvals, revision_changes, revision_reviews, revision_transitions
from projections.revisions import revisions as revisions_table
from service import accounts as auth
from service.content import demo
from service.content.demo import load_demo
from tests.support import DATABASES
from tests.support.apps import running_app

DEMO_USERS = {"dean", "head-of-department", "teacher", "reviewer1", "reviewer2", "qa-director", "rector",
              "auditor", "quality-office", "lecturer"}

pytestmark = pytest.mark.usefixtures("nothing_written")


@pytest.fixture(scope="module", params=DATABASES)
def database_url(request, databases, tmp_path_factory) -> str:
    with databases.lend(request.param, tmp_path_factory.mktemp("demo")) as url:
        yield url


@pytest.fixture(scope="module")
def app(database_url):
    with running_app(database_url) as app:
        yield app


@pytest.fixture(scope="module")
def loaded(app) -> demo.DemoResult:
    return load_demo(app.config["DATABASE_URL"])


def rows(app, query) -> list:
    with app.extensions["policy_ledger"].engine.connect() as connection:
        return connection.execute(query).all()


def sections(app, version: int) -> list:
    with app.extensions["policy_ledger"].engine.connect() as connection:
        return versions_model.get(connection, demo.POLICY_ID, version)["sections"]


def store(app) -> EventStore:
    return app.extensions["policy_ledger"].store


def test_two_versions_are_published_adopted_in_2019_and_revised_in_2021(app, loaded):
    versions = rows(app, select(policy_versions).order_by(policy_versions.c.version))
    assert [(v.version, v.effective_from, v.published_at[:10], v.adopted, v.publisher) for v in versions] == [
        (1, "2019-09-01T00:00:00.000000Z", "2019-08-26", True, "quality-office"),
        (2, "2021-09-01T00:00:00.000000Z", "2021-08-20", False, "qa-director"),
    ]
    assert [v.revision_id for v in versions] == [loaded.revisions["adopted"], loaded.revisions["revision_2021"]]
    approvers = json.loads(versions[1].approvers)
    assert sorted((a["approver"], a["meaning"]) for a in approvers) == [
        ("qa-director", "approved as quality assurance director"), ("rector", "approved as rector")]


def test_version_two_amends_provision_five_and_adds_one_after_it(app, loaded):
    old, new = sections(app, 1), sections(app, 2)
    before, after = ([item["text"] for s in doc if s["title"] == demo.KEY_PROVISIONS for item in s["children"]]
                     for doc in (old, new))
    assert len(before) == 11 and len(after) == 12
    assert after[4] == demo.PROVISION_5 and after[5] == demo.PROVISION_ADDED
    assert after[:4] == before[:4] and after[6:] == before[5:]
    assert before[4].startswith("билим берүү процессин илим менен интеграциялоо")


def test_every_revision_ends_in_its_status(app, loaded):
    statuses = dict(rows(app, select(revisions_table.c.revision_id, revisions_table.c.status)))
    assert statuses == {
        loaded.revisions["adopted"]: "published",
        loaded.revisions["revision_2021"]: "published",
        loaded.revisions["rejected_2024"]: "rejected",
        loaded.revisions["open_draft"]: "draft",
    }


def test_the_2021_revision_went_back_to_its_author_once_and_then_both_reviewers_approved(app, loaded):
    rid = loaded.revisions["revision_2021"]
    reviews = rows(app, select(revision_reviews.c.reviewer, revision_reviews.c.verdict, revision_reviews.c.comment)
                   .where(revision_reviews.c.revision_id == rid).order_by(revision_reviews.c.position))
    assert [(r.reviewer, r.verdict) for r in reviews] == [
        ("reviewer1", "request_changes"), ("reviewer1", "approve"), ("reviewer2", "approve")]
    assert "Иш берүүчүлөрдү" in reviews[0].comment
    path = [r.to_status for r in rows(app, select(revision_transitions.c.to_status)
                                      .where(revision_transitions.c.revision_id == rid)
                                      .order_by(revision_transitions.c.position))]
    assert path == ["draft", "in_review", "draft", "in_review", "approved", "published"]
    signatures = rows(app, select(revision_approvals.c.approver, revision_approvals.c.meaning, revision_approvals.c.at)
                      .where(revision_approvals.c.revision_id == rid).order_by(revision_approvals.c.position))
    assert [(s.approver, s.meaning, s.at[:10]) for s in signatures] == [
        ("qa-director", "approved as quality assurance director", "2021-06-02"),
        ("rector", "approved as rector", "2021-06-07")]


def test_the_2024_revision_was_rejected_with_a_reason(app, loaded):
    [rejection] = rows(app, select(revision_transitions).where(
        revision_transitions.c.revision_id == loaded.revisions["rejected_2024"],
        revision_transitions.c.to_status == "rejected"))
    assert (rejection.actor, rejection.at[:10]) == ("rector", "2024-03-01")
    assert "онлайн" in rejection.reason


def test_the_open_draft_is_the_deans_with_one_amendment(app, loaded):
    rid = loaded.revisions["open_draft"]
    [draft] = rows(app, select(revisions_table).where(revisions_table.c.revision_id == rid))
    assert (draft.author, draft.base_version) == ("dean", 2)
    changes = rows(app, select(revision_changes.c.type, revision_changes.c.data, revision_changes.c.actor)
                   .where(revision_changes.c.revision_id == rid))
    assert [(c.type, c.actor) for c in changes] == [("SectionAmended", "dean")]
    assert json.loads(changes[0].data)["text"] == demo.PROVISION_9_DRAFT


def test_the_2022_periodic_review_concluded_no_change(app, loaded):
    [review] = rows(app, select(periodic_reviews))
    assert (review.outcome, review.version, review.reviewer, review.at[:10]) == ("no_change", 2, "qa-director",
                                                                                "2022-06-15")
    assert review.next_review_due.startswith("2023-06-15")


def test_each_strategic_direction_has_its_responsible_unit(app, loaded):
    labels = {s["id"]: s["label"] for s in sections(app, 2)}
    assigned = rows(app, select(responsibilities))
    assert {labels[r.section_id]: r.party for r in assigned} == demo.UNITS
    assert list(demo.UNITS) == ["I.", "II.", "III.", "IV.", "V.", "VI.", "VII."]
    assert {(r.party_kind, r.duty, r.valid_from, r.valid_to, r.assigned_by) for r in assigned} == {
        ("unit", "responsible", "2019-09-01T00:00:00.000000Z", None, "quality-office")}


def test_a_teacher_acknowledged_version_two(app, loaded):
    [ack] = rows(app, select(acknowledgements))
    [v2] = rows(app, select(policy_versions.c.content_hash).where(policy_versions.c.version == 2))
    assert (ack.person, ack.version, ack.content_hash) == ("teacher", 2, v2.content_hash)


def test_events_carry_their_historical_times_and_record_time_never_runs_backwards(app, loaded):
    events = list(store(app).read_all())
    assert len(events) == loaded.events
    assert events[0].recorded_at.startswith("2019-08-26") and events[0].meta["occurred_at"].startswith("2019-08-26")
    assert events[-1].recorded_at.startswith("2025-10-06")
    recorded = [e.recorded_at for e in events]
    assert recorded == sorted(recorded)
    assert all(e.meta["occurred_at"] <= e.recorded_at for e in events)


def test_every_demo_user_gets_a_working_token_with_their_roles(app, loaded):
    assert set(loaded.tokens) == DEMO_USERS
    with app.extensions["policy_ledger"].engine.connect() as connection:
        for name, token in loaded.tokens.items():
            principal = auth.principal_for(connection, token)
            assert principal is not None and principal.name == name
            assert principal.roles == loaded.roles[name]
    assert loaded.roles["rector"] == ("approver",) and "admin" in loaded.roles["quality-office"]


def test_every_demo_user_signs_in_with_their_password_and_has_a_name_an_address_and_a_language(app, loaded):
    engine = app.extensions["policy_ledger"].engine
    assert set(loaded.passwords) == DEMO_USERS
    for name, password in loaded.passwords.items():
        user = auth.check_password(engine, name, password)
        assert user is not None and user.name == name and user.roles == loaded.roles[name]
        assert user.full_name != name and user.email == f"{name}@{demo.MAIL_DOMAIN}"
        assert user.language in ("ky", "ru", "en")
    assert auth.check_password(engine, "rector", loaded.passwords["dean"]) is None
    with engine.connect() as connection:
        assert auth.find(connection, "reviewer1").full_name == "Бактыгүл Осмонова"


def test_the_demo_refuses_a_log_that_already_holds_events(app, loaded):
    with pytest.raises(WrongState, match="already holds"):
        load_demo(app.config["DATABASE_URL"])


def test_the_quality_office_asked_the_staff_and_the_teacher_to_read_version_two_and_only_the_teacher_did(app,
                                                                                                    loaded):
    from projections import campaigns
    from service.queries.campaigns import roster
    with app.extensions["policy_ledger"].engine.connect() as connection:
        [started] = campaigns.of_policy(connection, demo.POLICY_ID)
        found = roster(connection, demo.POLICY_ID, started["campaign_id"])
    assert found is not None
    assert (found["version"], found["due"], found["started_by"]) == (2, "2021-10-01T00:00:00.000000Z", "quality-office")
    people = {p["user"]: p for p in found["people"]}
    assert set(people) == {"lecturer", "teacher"} and (found["acknowledged"], found["total"]) == (1, 2)
    assert people["teacher"]["acknowledged_at"].startswith("2021-09-10")
    assert people["lecturer"]["acknowledged_at"] is None and people["lecturer"]["full_name"] == "Айгүл Токтосунова"
