"""The workspace through Flask's test client: the inbox, every form for every role, every refusal, a stale form
and a resubmitted one, on a copy of the demo for each test (SQLite and PostgreSQL)."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import pytest

from projections import audit, catalog, documents, revisions
from service import queries
from service.content import demo
from tests.support import DATABASES, FakeClock
from tests.support.apps import running_app
from tests.support.pages import alert, csrf_token, form, forms, sign_in

PID = demo.POLICY_ID
EN = "?lang=en"


@pytest.fixture(scope="module", params=DATABASES)
def demo_database(request, databases, tmp_path_factory):
    """The demo, loaded once per module and database; each test works on a copy of it."""
    with databases.lend(request.param, tmp_path_factory.mktemp("demo")) as url:
        yield url, demo.load_demo(url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime.now(UTC).isoformat())


@pytest.fixture
def site(demo_database, databases, tmp_path, clock):
    url, loaded = demo_database
    with databases.copy_of(url, tmp_path) as copy, running_app(copy, CLOCK=clock) as app:
        yield app, loaded


@pytest.fixture
def app(site):
    return site[0]


@pytest.fixture
def loaded(site):
    return site[1]


@pytest.fixture
def people(app, loaded):
    """A signed-in test client per demo user."""
    clients = {}

    def client_of(name: str):
        if name not in clients:
            client = app.test_client()
            assert sign_in(client, name, loaded.passwords[name]).status_code == 303
            clients[name] = client
        return clients[name]

    return client_of


def head(app) -> int:
    return app.extensions["policy_ledger"].store.head()[0]


def revision(app, rid: str) -> dict:
    with app.app_context(), queries.snapshot() as connection:
        return queries.revision(connection, PID, rid)


def page(client, path: str, status: int = 200) -> str:
    answer = client.get(path + (EN if "?" not in path else "&lang=en"))
    assert answer.status_code == status, answer.get_data(as_text=True)[:2000]
    return answer.get_data(as_text=True)


def post(client, html: str, action: str, op: str | None = None, **fields):
    """Fill in and send the page's form that posts to …action (doing `op`, for a change), as a browser would."""
    found = form(html, action, **({"op": op} if op else {}))
    return client.post(found.action, data=found.data(**fields))


def workspace_path(rid: str) -> str:
    return f"/policies/{PID}/revisions/{rid}"


def in_force_section(app, number: int = 2) -> list[dict]:
    with app.app_context(), queries.snapshot() as connection:
        found = documents.get(connection, PID, number)
    flat = []

    def walk(sections):
        for s in sections:
            flat.append(s)
            walk(s.get("children") or [])

    walk(found["sections"])
    return flat


def open_revision(people, who: str = "head-of-department", summary: str = "Жаңы редакция") -> str:
    client = people(who)
    html = page(client, f"/policies/{PID}/revisions")
    answer = post(client, html, "/revisions", summary=summary)
    assert answer.status_code == 303, answer.get_data(as_text=True)
    found = re.search(r"/revisions/(rev-[0-9a-f]+)$", answer.headers["Location"])
    assert found
    return found.group(1)


def amend(people, rid: str, section_id: str, text: str, who: str = "head-of-department"):
    client = people(who)
    html = page(client, f"{workspace_path(rid)}?edit={section_id}")
    return post(client, html, "/change", "amend", text=text)


def submitted(app, people, rid: str, reviewers=("reviewer1", "reviewer2"), who="head-of-department") -> None:
    client = people(who)
    html = page(client, workspace_path(rid))
    answer = post(client, html, "/submit", reviewers=list(reviewers))
    assert answer.status_code == 303, alert(answer.get_data(as_text=True))
    assert revision(app, rid)["status"] == "in_review"


def reviewed(people, rid: str, who: str, verdict: str = "approve", comment: str = "Макулмун"):
    client = people(who)
    return post(client, page(client, workspace_path(rid)), "/review", verdict=verdict, comment=comment)


def signed(people, loaded, rid: str, who: str, meaning: str = "approved", password: str | None = None):
    client = people(who)
    return post(client, page(client, workspace_path(rid)), "/sign", meaning=meaning, comment="",
                password=loaded.passwords[who] if password is None else password)


def approved_revision(app, people, loaded, text: str = "Жаңы текст: сапат ү ө ң.") -> tuple[str, str]:
    """Open, amend, submit, review and sign a revision up to approved; return it and the section it amends."""
    rid = open_revision(people)
    section = in_force_section(app)[3]["id"]
    assert amend(people, rid, section, text).status_code == 303
    submitted(app, people, rid)
    for reviewer in ("reviewer1", "reviewer2"):
        assert reviewed(people, rid, reviewer).status_code == 303
    for approver in ("qa-director", "rector"):
        assert signed(people, loaded, rid, approver).status_code == 303
    assert revision(app, rid)["status"] == "approved"
    return rid, section


# ---- who may come in ---------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/inbox", f"/policies/{PID}/revisions", f"/policies/{PID}/history",
                                  f"/policies/{PID}/responsibilities"])
def test_a_visitor_is_sent_to_sign_in_and_back(app, path):
    answer = app.test_client().get(path)
    assert answer.status_code == 302
    assert unquote(answer.headers["Location"]) == f"/sign-in?next={path}"


def test_staff_pages_are_kept_by_no_cache_and_carry_no_one_elses_form(people):
    answer = people("auditor").get(f"/policies/{PID}/history{EN}")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"


def test_an_unknown_policy_or_revision_is_a_404_page(people):
    client = people("dean")
    assert client.get(f"/policies/no-such-policy/revisions{EN}").status_code == 404
    assert client.get(f"/policies/{PID}/revisions/rev-000000000000{EN}").status_code == 404
    assert client.get(f"/policies/{PID}/revisions/rev%20x{EN}").status_code == 404


# ---- the inbox ---------------------------------------------------------------------------------------

def inbox_sections(client) -> dict[str, str]:
    html = page(client, "/inbox")
    return {m.group(1): m.group(2) for m in re.finditer(r'data-inbox="(\w+)">(.*?)</section>', html, re.S)}


def test_the_inbox_shows_each_person_what_waits_for_them_as_a_revision_moves(app, people, loaded):
    dean = inbox_sections(people("dean"))
    assert loaded.revisions["open_draft"] in dean["drafts"]
    assert "reviews" not in dean and "signatures" not in dean
    rid = open_revision(people)
    section = in_force_section(app)[3]["id"]
    amend(people, rid, section, "Өзгөртүлгөн текст")
    assert rid in inbox_sections(people("head-of-department"))["drafts"]
    assert "reviews" not in inbox_sections(people("reviewer1"))
    submitted(app, people, rid, reviewers=("reviewer1",))
    assert rid in inbox_sections(people("reviewer1"))["reviews"]
    assert "reviews" not in inbox_sections(people("reviewer2"))  # not named
    assert rid in inbox_sections(people("qa-director"))["signatures"]
    reviewed(people, rid, "reviewer1")
    assert "reviews" not in inbox_sections(people("reviewer1"))  # done: it waits no more
    signed(people, loaded, rid, "qa-director")
    assert "signatures" not in inbox_sections(people("qa-director"))
    assert rid in inbox_sections(people("rector"))["signatures"]
    signed(people, loaded, rid, "rector")
    assert rid in inbox_sections(people("rector"))["publications"]
    assert rid in inbox_sections(people("qa-director"))["publications"]
    assert "publications" not in inbox_sections(people("reviewer1"))


def test_the_inbox_asks_for_an_acknowledgement_of_the_version_in_force_and_forgets_it_once_given(app, people):
    client = people("reviewer2")
    assert "version 2" in inbox_sections(client)["acknowledgements"]
    before = head(app)
    answer = post(client, page(client, "/inbox"), "/acknowledgements")
    assert answer.status_code == 303 and answer.headers["Location"] == "/inbox"
    assert head(app) == before + 1
    assert "acknowledgements" not in inbox_sections(client)
    with app.app_context(), queries.snapshot() as connection:
        assert [a["version"] for a in audit.acknowledged(connection, PID, "reviewer2")] == [2]


def test_the_inbox_shows_a_periodic_review_due_to_whoever_answers_for_the_policy(app, people, clock):
    with app.app_context(), queries.snapshot() as connection:
        row = catalog.get(connection, PID)
    clock.set((datetime.fromisoformat(row["next_review_due"].replace("Z", "+00:00"))
               + timedelta(days=1)).isoformat())
    periodic = inbox_sections(people(row["owner"]))["periodic_reviews"]
    assert "overdue since" in periodic
    assert "periodic_reviews" not in inbox_sections(people("teacher"))


# ---- opening and editing a revision -------------------------------------------------------------------

def test_an_author_opens_a_revision_and_every_edit_of_the_preview_is_made_through_its_form(app, people):
    rid = open_revision(people, summary="Түзөтүүлөр: ү ө ң")
    sections = in_force_section(app)
    first, second, heading = sections[1]["id"], sections[2]["id"], sections[0]["id"]
    client = people("head-of-department")
    html = page(client, f"{workspace_path(rid)}?edit={first}")
    assert f'data-section-id="{first}"' in html
    assert post(client, html, "/change", "amend", text="Жаңы текст ү ө ң", label="1.", title="").status_code == 303
    html = page(client, f"{workspace_path(rid)}?edit={first}&do=add")
    added = post(client, html, "/change", "add", where="after", kind="paragraph", text="Кошулган бөлүм")
    assert added.status_code == 303, alert(added.get_data(as_text=True))
    html = page(client, f"{workspace_path(rid)}?edit={heading}&do=add")
    child = post(client, html, "/change", "add", where="child", kind="item", label="•", text="Акыркы пункт")
    assert child.status_code == 303
    html = page(client, f"{workspace_path(rid)}?edit={second}&do=move")
    # top level, after the heading
    assert post(client, html, "/change", "move", target=f"|{heading}").status_code == 303
    html = page(client, f"{workspace_path(rid)}?edit={sections[5]['id']}&do=remove")
    assert post(client, html, "/change", "remove").status_code == 303
    html = page(client, workspace_path(rid))
    assert post(client, html, "/change", "retitle", title="Жаңы аталыш").status_code == 303

    found = revision(app, rid)
    kinds = [c["type"] for c in found["changes"]]
    assert kinds == ["SectionAmended", "SectionAdded", "SectionAdded", "SectionMoved", "SectionRemoved",
                     "PolicyRetitled"]
    assert found["preview"]["title"] == "Жаңы аталыш"
    top = found["preview"]["sections"]
    assert [s["id"] for s in top][:2] == [heading, second]
    under_heading = top[0]["children"]
    assert under_heading[0]["text"] == "Жаңы текст ү ө ң" and under_heading[0]["label"] == "1."
    assert under_heading[1]["text"] == "Кошулган бөлүм"
    assert under_heading[-1]["text"] == "Акыркы пункт"
    html = page(client, workspace_path(rid))
    assert "<ins>" in html and "Жаңы текст ү ө ң" in html  # the redline against the version in force
    assert "6 added" not in html and "2 added" in html


def test_only_the_author_of_a_draft_is_offered_its_edits_and_others_are_refused_in_words(app, people):
    rid = open_revision(people)
    section = in_force_section(app)[3]["id"]
    other = people("dean")
    html = page(other, f"{workspace_path(rid)}?edit={section}")
    assert not any(f.action.endswith("/change") for f in forms(html))
    assert not any(f.action.endswith("/submit") for f in forms(html))
    before = head(app)
    forged = other.post(f"{workspace_path(rid)}/change", data={
        "csrf_token": csrf_token(html), "op": "amend", "section_id": section, "text": "чужой текст"})
    assert forged.status_code == 403
    refusal = alert(forged.get_data(as_text=True))
    assert refusal and "author" in refusal
    assert head(app) == before


def test_a_bad_edit_is_refused_on_the_page_naming_the_problem_and_changes_nothing(app, people):
    rid = open_revision(people)
    client = people("head-of-department")
    before = head(app)
    answer = client.post(f"{workspace_path(rid)}/change", data={
        "csrf_token": csrf_token(page(client, workspace_path(rid))), "op": "amend", "section_id": "s-nope",
        "text": "x"})
    assert answer.status_code == 404
    assert "s-nope" in alert(answer.get_data(as_text=True))
    answer = client.post(f"{workspace_path(rid)}/change", data={
        "csrf_token": csrf_token(page(client, workspace_path(rid))), "op": "explode"})
    assert answer.status_code == 422 and "Choose a change" in alert(answer.get_data(as_text=True))
    assert head(app) == before


def test_a_form_without_its_csrf_token_is_refused(app, people):
    rid = open_revision(people)
    before = head(app)
    answer = people("head-of-department").post(f"{workspace_path(rid)}/withdraw", data={"reason": "x"})
    assert answer.status_code == 400
    assert head(app) == before


# ---- review, signatures, publication -------------------------------------------------------------------

def test_submit_offers_the_reviewers_and_a_review_can_request_changes_with_a_comment(app, people):
    rid = open_revision(people)
    amend(people, rid, in_force_section(app)[3]["id"], "Биринчи вариант")
    html = page(people("head-of-department"), workspace_path(rid))
    offered = form(html, "/submit")
    choices = re.search(r'<select id="reviewers" name="reviewers" multiple.*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]+)"', choices) == ["reviewer1", "reviewer2"]
    assert "Бактыгүл Осмонова" in choices  # offered by their names
    assert ("", None, "Submit for review") in [(n or "", v, t) for n, v, t in offered.buttons]
    submitted(app, people, rid, reviewers=("reviewer1",))
    answer = reviewed(people, rid, "reviewer1", verdict="request_changes", comment="5-пунктту тактаңыз")
    assert answer.status_code == 303
    found = revision(app, rid)
    assert found["status"] == "draft"  # changes requested: back to its author
    assert found["reviews"][0]["verdict"] == "request_changes"
    assert found["reviews"][0]["comment"] == "5-пунктту тактаңыз"
    html = page(people("head-of-department"), workspace_path(rid))
    assert "5-пунктту тактаңыз" in html


def test_a_review_and_a_signature_show_the_content_they_saw_and_are_void_once_it_changed(app, people, loaded):
    rid = open_revision(people)
    section = in_force_section(app)[3]["id"]
    amend(people, rid, section, "Биринчи вариант")
    submitted(app, people, rid)
    reviewed(people, rid, "reviewer1", verdict="request_changes", comment="Кайра карагыла")
    seen = revision(app, rid)["reviews"][0]["content_hash"]
    amend(people, rid, section, "Экинчи вариант")
    html = page(people("head-of-department"), workspace_path(rid))
    row = re.search(r'<tr class="void" data-void="true">.*?</tr>', html, re.S).group(0)
    assert seen.split(":")[1][:12] in row and "void: the content changed since" in row
    assert revision(app, rid)["reviews"][0]["void"] is True


def test_the_whole_approval_through_the_forms_and_publication_on_a_future_date(app, people, loaded, clock):
    rid, _section = approved_revision(app, people, loaded)
    found = revision(app, rid)
    assert [(a["approver"], a["meaning"], a["void"]) for a in found["approvals"]] == [
        ("qa-director", "approved", False), ("rector", "approved", False)]
    rector = people("rector")
    html = page(rector, workspace_path(rid))
    assert form(html, "/publish")
    future = (clock.now + timedelta(days=10)).date().isoformat()
    assert post(rector, html, "/publish", effective_from=future).status_code == 303
    assert revision(app, rid)["status"] == "published"
    visitor = app.test_client()
    public = visitor.get(f"/policies/{PID}{EN}").get_data(as_text=True)
    assert "Version 3 takes effect on" in public and "Жаңы текст: сапат ү ө ң." not in public
    clock.advance(days=11)
    public = visitor.get(f"/policies/{PID}{EN}").get_data(as_text=True)
    assert "Жаңы текст: сапат ү ө ң." in public


def test_a_backdated_publication_needs_a_reason_and_is_refused_on_the_page_without_one(app, people, loaded, clock):
    rid, _ = approved_revision(app, people, loaded)
    rector = people("rector")
    html = page(rector, workspace_path(rid))
    past = (clock.now - timedelta(days=1)).date().isoformat()
    before = head(app)
    refused = post(rector, html, "/publish", effective_from=past, reason="")
    assert refused.status_code == 422 and "reason" in alert(refused.get_data(as_text=True))
    assert head(app) == before
    html = refused.get_data(as_text=True)
    published = post(rector, html, "/publish", effective_from=past, reason="Окумуштуулар кеңешинин чечими")
    assert published.status_code == 303
    assert revision(app, rid)["status"] == "published"


def test_signing_asks_for_the_signers_password_again_and_a_wrong_one_signs_nothing(app, people, loaded):
    rid = open_revision(people)
    amend(people, rid, in_force_section(app)[3]["id"], "Текст")
    submitted(app, people, rid)
    html = page(people("qa-director"), workspace_path(rid))
    sign_form = re.search(r'<form[^>]*action="[^"]*/sign".*?</form>', html, re.S).group(0)
    assert '<label for="password">Password</label>' in sign_form and 'type="password"' in sign_form
    before = head(app)
    refused = signed(people, loaded, rid, "qa-director", password="not-the-password")
    assert refused.status_code == 403
    assert "password" in alert(refused.get_data(as_text=True))
    assert head(app) == before and revision(app, rid)["approvals"] == []
    answer = signed(people, loaded, rid, "qa-director", meaning="approved as quality assurance director")
    assert answer.status_code == 303
    assert revision(app, rid)["approvals"][0]["meaning"] == "approved as quality assurance director"


def test_the_author_is_not_offered_a_signature_and_a_forged_one_is_refused_on_the_page(app, people, loaded):
    rid = open_revision(people, who="quality-office")  # an administrator, who may sign others' revisions
    amend(people, rid, in_force_section(app)[3]["id"], "Текст", who="quality-office")
    submitted(app, people, rid, who="quality-office")
    author = people("quality-office")
    html = page(author, workspace_path(rid))
    assert not any(f.action.endswith("/sign") for f in forms(html))
    before = head(app)
    forged = author.post(f"{workspace_path(rid)}/sign", data={
        "csrf_token": csrf_token(html), "meaning": "approved", "password": loaded.passwords["quality-office"]})
    assert forged.status_code == 403
    assert "author of a revision cannot" in alert(forged.get_data(as_text=True))
    assert head(app) == before


def test_reject_and_withdraw_need_a_reason_and_record_it(app, people):
    rid = open_revision(people)
    client = people("rector")
    answer = post(client, page(client, workspace_path(rid)), "/reject", reason="Кереги жок")
    assert answer.status_code == 303 and revision(app, rid)["status"] == "rejected"
    html = page(client, workspace_path(rid))
    assert not forms(html)[1:] or not any(f.action.endswith(("/reject", "/withdraw")) for f in forms(html))
    other = open_revision(people)
    author = people("head-of-department")
    answer = post(author, page(author, workspace_path(other)), "/withdraw", reason="Башка вариант")
    assert answer.status_code == 303 and revision(app, other)["status"] == "withdrawn"
    with app.app_context(), queries.snapshot() as connection:
        reasons = {t["to_status"]: t["reason"] for item in revisions.history(connection, PID, None, 100)
                   for t in item["transitions"]}
    assert reasons["rejected"] == "Кереги жок" and reasons["withdrawn"] == "Башка вариант"


def test_a_conflict_with_a_newer_version_names_the_sections_on_the_page(app, people, loaded):
    section = in_force_section(app)[3]["id"]
    stale = open_revision(people, who="dean", summary="Эски")
    assert amend(people, stale, section, "Эски редакция", who="dean").status_code == 303
    submitted(app, people, stale, who="dean")
    for reviewer in ("reviewer1", "reviewer2"):
        reviewed(people, stale, reviewer)
    for approver in ("qa-director", "rector"):
        signed(people, loaded, stale, approver)
    newer, _ = approved_revision(app, people, loaded)
    rector = people("rector")
    published = post(rector, page(rector, workspace_path(newer)), "/publish",
                     effective_from=datetime.now().date().isoformat(), reason="Бүгүндөн тартып")
    assert published.status_code == 303, alert(published.get_data(as_text=True))
    html = page(rector, workspace_path(stale))
    banner = re.search(r'<p class="banner" role="status">(.*?)</p>', html, re.S).group(1)
    assert section in banner and "withdraw it and open a new revision" in banner
    assert "«" in banner  # named as a reader knows it, not by its id alone
    before = head(app)
    refused = post(rector, html, "/publish", effective_from=datetime.now().date().isoformat(), reason="Бүгүн")
    assert refused.status_code == 409 and section in alert(refused.get_data(as_text=True))
    assert head(app) == before


# ---- stale and resubmitted forms ---------------------------------------------------------------------

def test_a_form_from_a_page_older_than_someone_elses_change_is_refused_and_shows_what_changed(app, people):
    rid = open_revision(people)
    section = in_force_section(app)[3]["id"]
    amend(people, rid, section, "Биринчи")
    submitted(app, people, rid)
    old_page = page(people("reviewer2"), workspace_path(rid))
    assert reviewed(people, rid, "reviewer1", verdict="request_changes", comment="Өзгөртүңүз").status_code == 303
    before = head(app)
    stale = post(people("reviewer2"), old_page, "/review", verdict="approve", comment="Макулмун")
    assert stale.status_code == 409
    html = stale.get_data(as_text=True)
    refusal = alert(html)
    assert "changed this policy since you loaded the page" in refusal and "requested changes" in refusal
    assert head(app) == before
    assert revision(app, rid)["status"] == "draft"


def test_a_form_stays_good_when_only_another_revision_of_the_policy_moved(app, people):
    rid = open_revision(people)
    client = people("head-of-department")
    html = page(client, f"{workspace_path(rid)}?edit={in_force_section(app)[3]['id']}")
    open_revision(people, who="dean", summary="Башка")  # the policy's stream moves, this revision does not
    assert post(client, html, "/change", "amend", text="Кийинки").status_code == 303
    assert revision(app, rid)["changes"][0]["type"] == "SectionAmended"


def test_a_resubmitted_form_appends_once(app, people):
    rid = open_revision(people)
    client = people("head-of-department")
    html = page(client, f"{workspace_path(rid)}?edit={in_force_section(app)[3]['id']}")
    first = post(client, html, "/change", "amend", text="Бир жолу")
    after_first = head(app)
    again = post(client, html, "/change", "amend", text="Бир жолу")  # the same form, sent again (a double click)
    assert first.status_code == again.status_code == 303
    assert head(app) == after_first
    assert len(revision(app, rid)["changes"]) == 1


def test_opening_a_revision_twice_from_one_form_opens_one(app, people):
    client = people("dean")
    html = page(client, f"/policies/{PID}/revisions")
    first = post(client, html, "/revisions", summary="Бир")
    again = post(client, html, "/revisions", summary="Бир")
    assert first.headers["Location"] == again.headers["Location"]


# ---- history, responsibilities, periodic reviews -----------------------------------------------------------

def test_the_history_lists_every_revision_and_its_changes_of_state(app, people, loaded):
    html = page(people("auditor"), f"/policies/{PID}/history")
    for rid in loaded.revisions.values():
        assert rid in html
    assert "Бактыгүл Осмонова" in html  # people by their names
    assert "in review" in html and "rejected" in html


def test_an_approver_records_a_periodic_review_and_anyone_else_is_refused(app, people):
    client = people("rector")
    html = page(client, f"/policies/{PID}/history")
    assert post(client, html, "/periodic-reviews", outcome="no_change", notes="Өзгөртүү керек эмес").status_code == 303
    with app.app_context(), queries.snapshot() as connection:
        reviews = audit.periodic_reviews_of(connection, PID)
    assert reviews[0]["notes"] == "Өзгөртүү керек эмес" and reviews[0]["reviewer"] == "rector"
    teacher = people("teacher")
    html = page(teacher, f"/policies/{PID}/history")
    assert not any(f.action.endswith("/periodic-reviews") for f in forms(html))
    before = head(app)
    forged = teacher.post(f"/policies/{PID}/periodic-reviews", data={"csrf_token": csrf_token(html),
                                                                    "outcome": "no_change"})
    assert forged.status_code == 403 and "approver" in alert(forged.get_data(as_text=True))
    assert head(app) == before


def test_an_administrator_assigns_and_revokes_a_responsibility_and_others_only_read(app, people):
    admin = people("quality-office")
    html = page(admin, f"/policies/{PID}/responsibilities")
    section = in_force_section(app)[3]["id"]
    assign = form(html, "/responsibilities", action="assign")
    answer = admin.post(assign.action, data=assign.data(party="Сапатты камсыздоо борбору", party_kind="unit",
                                                        section_id=section, duty="responsible",
                                                        reason="Ректордун буйругу"))
    assert answer.status_code == 303
    html = page(admin, f"/policies/{PID}/responsibilities")
    assert "Сапатты камсыздоо борбору" in html
    assignment = re.search(r'data-assignment="([^"]+)">(?:(?!</tr>).)*Сапатты камсыздоо борбору', html, re.S).group(1)
    revoke = next(f for f in forms(html) if f.values.get("assignment_id") == [assignment])
    assert admin.post(revoke.action, data=revoke.data(reason="Өзгөрдү")).status_code == 303
    assert "Сапатты камсыздоо борбору" not in page(admin, f"/policies/{PID}/responsibilities")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert "Сапатты камсыздоо борбору" not in page(admin, f"/policies/{PID}/responsibilities?at={yesterday}")

    teacher = people("teacher")
    html = page(teacher, f"/policies/{PID}/responsibilities")
    assert not any(f.method == "post" for f in forms(html) if "sign-out" not in f.action)
    before = head(app)
    forged = teacher.post(f"/policies/{PID}/responsibilities", data={
        "csrf_token": csrf_token(html), "party": "x", "duty": "responsible"})
    assert forged.status_code == 403 and alert(forged.get_data(as_text=True))
    assert head(app) == before


def test_a_bad_date_on_a_form_is_named_not_a_500(app, people, loaded):
    rid, _ = approved_revision(app, people, loaded)
    rector = people("rector")
    before = head(app)
    refused = post(rector, page(rector, workspace_path(rid)), "/publish", effective_from="31.12.2026")
    assert refused.status_code == 422 and "31.12.2026" in alert(refused.get_data(as_text=True))
    assert head(app) == before


@pytest.mark.parametrize("lang, words", [("ky", "Менин ишим"), ("ru", "Моя работа")])
def test_the_workspace_speaks_kyrgyz_and_russian(people, loaded, lang, words):
    client = people("dean")
    rid = loaded.revisions["open_draft"]
    assert words in client.get(f"/inbox?lang={lang}").get_data(as_text=True)
    html = client.get(f"{workspace_path(rid)}?lang={lang}").get_data(as_text=True)
    assert f'<html lang="{lang}">' in html


def test_a_signed_in_persons_page_request_is_logged_with_their_name(people, capsys):
    client = people("reviewer1")
    capsys.readouterr()
    client.get(f"/inbox{EN}")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()
             if '"logger": "policy_ledger.requests"' in line]
    assert [(line["path"], line["user"], line["status"]) for line in lines] == [("/inbox", "reviewer1", 200)]


def test_a_staff_member_reads_the_workspace_acknowledges_and_is_offered_and_allowed_nothing_else(app, people, loaded):
    client = people("lecturer")
    rid = loaded.revisions["open_draft"]
    for path in ("/inbox", f"/policies/{PID}/revisions", workspace_path(rid), f"/policies/{PID}/history",
                 f"/policies/{PID}/responsibilities"):
        html = page(client, path)
        assert not [f.action for f in forms(html) if f.method == "post" and "/sign-out" not in f.action
                    and not f.action.endswith("/acknowledgements")], path
    html = page(client, workspace_path(rid))
    before = head(app)
    for action, data in (("/reject", {"reason": "Керек эмес"}), ("/sign", {"meaning": "approved"}),
                         ("/review", {"verdict": "approve", "comment": "ок"})):
        forged = client.post(f"{workspace_path(rid)}{action}", data={"csrf_token": csrf_token(html), **data})
        assert forged.status_code == 403, action
        assert alert(forged.get_data(as_text=True)), action
    opened = client.post(f"/policies/{PID}/revisions", data={"csrf_token": csrf_token(html), "summary": "Жок"})
    assert opened.status_code == 403 and alert(opened.get_data(as_text=True))
    assert head(app) == before
    assert "version 2" in inbox_sections(client)["acknowledgements"]
    answer = post(client, page(client, "/inbox"), "/acknowledgements")
    assert answer.status_code == 303 and head(app) == before + 1


# ---- acknowledgement campaigns and retirement ------------------------------------------------------------

def test_an_administrator_starts_a_campaign_whose_roster_and_csv_follow_the_acknowledgements(app, people, clock):
    admin = people("quality-office")
    html = page(admin, f"/policies/{PID}/revisions")
    campaigns_path = f"/policies/{PID}/campaigns"
    assert campaigns_path in html
    due = (clock.now + timedelta(days=14)).date().isoformat()
    before = head(app)
    refused = post(admin, page(admin, campaigns_path), "/campaigns", version="2", roles=["staff"],
                   users="nobody-x", due=due)
    assert refused.status_code == 422 and "nobody-x" in alert(refused.get_data(as_text=True))
    assert head(app) == before
    answer = post(admin, page(admin, campaigns_path), "/campaigns", version="2", roles=["staff"],
                  users="reviewer2", due=due)
    assert answer.status_code == 303, alert(answer.get_data(as_text=True))
    roster_path = unquote(answer.headers["Location"])
    roster = page(admin, roster_path)
    assert 'data-person="lecturer" data-acknowledged="false"' in roster
    assert 'data-person="reviewer2" data-acknowledged="false"' in roster and "0 / 2" in roster
    lecturer = people("lecturer")
    assert page(lecturer, campaigns_path, status=403)
    waiting = inbox_sections(lecturer)["acknowledgements"]
    assert "to acknowledge by" in waiting and "data-due" in waiting
    assert post(lecturer, page(lecturer, "/inbox"), "/acknowledgements").status_code == 303
    roster = page(admin, roster_path)
    assert 'data-person="lecturer" data-acknowledged="true"' in roster and "1 / 2" in roster
    download = admin.get(f"{roster_path}/roster.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    text = download.get_data().decode("utf-8")
    assert text.startswith("\ufeff") and "lecturer,Айгүл Токтосунова," in text
    assert page(people("auditor"), roster_path)  # auditors read rosters too
    assert 'data-campaign="' in page(admin, campaigns_path)


def test_a_policy_is_retired_through_the_forms_and_then_shown_retired_everywhere(app, people, loaded, clock):
    author = people("head-of-department")
    opened = post(author, page(author, f"/policies/{PID}/revisions"), "/revisions",
                  summary="Жаңы саясат менен алмаштырылат", retire="1")
    assert opened.status_code == 303
    rid = re.search(r"/revisions/(rev-[0-9a-f]+)$", opened.headers["Location"]).group(1)
    html = page(author, workspace_path(rid))
    assert 'data-retire="true"' in html and not any(f.action.endswith("/change") for f in forms(html))
    submitted(app, people, rid)
    for reviewer in ("reviewer1", "reviewer2"):
        assert reviewed(people, rid, reviewer).status_code == 303
    for approver in ("qa-director", "rector"):
        assert signed(people, loaded, rid, approver).status_code == 303
    rector = people("rector")
    retire_on = (clock.now + timedelta(days=5)).date().isoformat()
    assert post(rector, page(rector, workspace_path(rid)), "/publish", effective_from=retire_on).status_code == 303
    assert revision(app, rid)["status"] == "published"
    visitor = app.test_client()
    before = visitor.get(f"/policies/{PID}{EN}")
    assert before.status_code == 200 and "This policy is retired from" in before.get_data(as_text=True)
    clock.advance(days=6)
    after = visitor.get(f"/policies/{PID}{EN}")
    text = after.get_data(as_text=True)
    assert after.status_code == 404 and "This policy was retired on" in text and "Жаңы саясат менен" in text
    assert visitor.get(f"/policies/{PID}?version=2&lang=en").status_code == 200
    assert "data-retired=" in visitor.get(f"/{EN}").get_data(as_text=True)
    assert "Retired from" in visitor.get(f"/policies/{PID}/versions{EN}").get_data(as_text=True)
    assert "acknowledgements" not in inbox_sections(people("lecturer"))
    assert 'data-retire="true"' in page(author, f"/policies/{PID}/revisions")
