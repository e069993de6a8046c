"""The reading room through Flask's test client: every page, for visitors and each role, in three languages."""
from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pypdf
import pytest

from projections import documents
from service.bootstrap import services
from service.content import demo
from tests.support import DATABASES
from tests.support.apps import running_app
from tests.support.pages import csrf_token, sign_in

PID = demo.POLICY_ID
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module", params=DATABASES)
def site(request, databases, tmp_path_factory) -> Iterator[tuple]:
    """The app with the demo loaded (read-only for this module), and the demo's users and passwords."""
    with databases.lend(request.param, tmp_path_factory.mktemp("web")) as url, running_app(url) as app:
        yield app, demo.load_demo(url)


@pytest.fixture
def app(site):
    return site[0]


@pytest.fixture
def loaded(site):
    return site[1]


@pytest.fixture
def client(app):
    return app.test_client()


def versions(app) -> list[dict]:
    with app.app_context(), services().engine.connect() as connection:
        return documents.page(connection, PID, None, 100)


def test_the_catalogue_lists_each_policy_with_its_version_in_force_and_review_date(client):
    page = client.get("/?lang=en", headers=HTML)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "Ош мамлекеттик университетинин билим берүүнүн сапаты" in html
    assert f'href="/policies/{PID}"' in html
    row = re.search(r"<tr>\s*<th scope=\"row\"><a href=\"/policies/oshsu-quality\".*?</tr>", html, re.S).group(0)
    assert "<td>2</td>" in row and "1 September 2021" in row  # version 2, in force since then


def test_the_policy_in_force_shows_its_text_approvers_and_an_anchor_for_every_section(client):
    html = client.get(f"/policies/{PID}?lang=en").get_data(as_text=True)
    assert "Version" in html and "1 September 2021" in html
    assert "Жыпаргүл Асанова" in html and "approved as quality assurance director" in html
    assert "Канатбек Исаков" in html and "approved as rector" in html
    ids = re.findall(r'<li id="([^"]+)" data-section-id="\1"', html)
    assert len(ids) == len(set(ids)) > 30
    assert all(f'/policies/{PID}/sections/{sid}"' in html for sid in ids)
    assert demo.PROVISION_5 in html and "илимий-педагогикалык" in html  # Kyrgyz as written
    assert '<time datetime="2021-09-01T06:00:00+06:00">1 September 2021</time>' in html  # Asia/Bishkek


def test_a_date_before_and_after_the_second_version_shows_the_version_then_with_a_banner(client, app):
    first = client.get(f"/policies/{PID}?at=2020-01-01&lang=en").get_data(as_text=True)
    assert "This is version 1, not the one in force now." in first
    assert demo.PROVISION_5 not in first and demo.PROVISION_ADDED not in first
    day_of = client.get(f"/policies/{PID}?at=2021-09-01&lang=en").get_data(as_text=True)
    assert demo.PROVISION_5 in day_of and "not the one in force now" not in day_of
    before = client.get(f"/policies/{PID}?at=2021-08-31&lang=en").get_data(as_text=True)
    assert "This is version 1" in before
    nothing = client.get(f"/policies/{PID}?at=2019-01-01&lang=en")
    assert nothing.status_code == 404 and "Nothing of this policy was in force then." in nothing.get_data(as_text=True)
    bad = client.get(f"/policies/{PID}?at=yesterday&lang=en", headers=HTML)
    assert bad.status_code == 400 and 'role="alert"' in bad.get_data(as_text=True)


def test_a_version_asked_for_by_number_says_it_is_not_in_force(client):
    html = client.get(f"/policies/{PID}?version=1&lang=en").get_data(as_text=True)
    assert "This is version 1, not the one in force now." in html
    assert client.get(f"/policies/{PID}?version=9&lang=en", headers=HTML).status_code == 404


def test_the_versions_page_lists_every_version_and_offers_two_to_compare(client, app):
    html = client.get(f"/policies/{PID}/versions?lang=en").get_data(as_text=True)
    for version in versions(app):
        assert f'href="/policies/{PID}?version={version["version"]}"' in html
    assert 'name="from" value="1"' in html and 'name="to" value="2"' in html
    assert "5-жобону тактоо" in html


def test_the_redline_marks_inserted_words_inside_amended_sections_and_added_ones_whole(client):
    html = client.get(f"/policies/{PID}/diff?from=1&to=2&lang=en").get_data(as_text=True)
    assert "<ins>, иш берүүчүлөр</ins>" in html
    assert f"<ins>{demo.PROVISION_ADDED}</ins>" in html
    assert re.search(r'class="item change-added"', html) and re.search(r'class="item change-amended"', html)
    assert "1 added" in html and "1 amended" in html
    backwards = client.get(f"/policies/{PID}/diff?from=2&to=1&lang=en").get_data(as_text=True)
    assert f"<del>{demo.PROVISION_ADDED}</del>" in backwards and "change-removed" in backwards
    assert client.get(f"/policies/{PID}/diff?from=1&lang=en", headers=HTML).status_code == 400


def test_a_sections_lineage_names_who_proposed_reviewed_and_approved_each_change(client, app):
    html = client.get(f"/policies/{PID}?lang=en").get_data(as_text=True)
    fifth = next(sid for sid in re.findall(r'data-section-id="([^"]+)"', html)
                 if demo.PROVISION_5 in html.split(f'data-section-id="{sid}"', 1)[1].split("</li>", 1)[0])
    lineage = client.get(f"/policies/{PID}/sections/{fifth}?lang=en").get_data(as_text=True)
    assert "Version 1, in force from" in lineage and "Version 2, in force from" in lineage
    assert "Гүлнара Жолдошева" in lineage  # the head of department proposed the 2021 change
    assert "Бактыгүл Осмонова" in lineage and "Елена Петрова" in lineage  # the reviewers
    assert "asked for changes" in lineage  # reviewer1 first asked for changes
    assert "approved as rector" in lineage and "Канатбек Исаков" in lineage
    assert "<ins>" in lineage and "иш берүүчүлөр" in lineage
    assert client.get(f"/policies/{PID}/sections/s-nowhere", headers=HTML).status_code == 404


def test_the_print_view_names_version_approvers_hash_and_the_time_of_printing(client):
    html = client.get(f"/policies/{PID}/print?version=2&lang=en").get_data(as_text=True)
    assert "A controlled copy as of" in html and "sha256:" in html
    assert "Канатбек Исаков" in html and "approved as rector" in html
    assert "print.css" in html


def test_pages_answer_304_to_a_matching_etag_and_200_once_something_changed(client, app, loaded):
    first = client.get(f"/policies/{PID}?lang=en")
    etag = first.headers["ETag"]
    assert first.headers["Cache-Control"] == "public, no-cache"
    again = client.get(f"/policies/{PID}?lang=en", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    other_language = client.get(f"/policies/{PID}?lang=ru", headers={"If-None-Match": etag})
    assert other_language.status_code == 200
    for path in ("/?lang=en", f"/policies/{PID}/versions?lang=en", f"/policies/{PID}/diff?from=1&to=2&lang=en"):
        answer = client.get(path)
        assert client.get(path, headers={"If-None-Match": answer.headers["ETag"]}).status_code == 304


def test_the_interface_speaks_kyrgyz_russian_or_english_and_remembers_the_choice(client):
    assert "<h1>Саясаттар</h1>" in client.get("/?lang=ky").get_data(as_text=True)
    assert "<h1>Саясаттар</h1>" in client.get("/").get_data(as_text=True)  # remembered in a cookie
    assert "<h1>Политики</h1>" in client.get("/?lang=ru").get_data(as_text=True)
    fresh = client.application.test_client()
    assert "<h1>Политики</h1>" in fresh.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).get_data(
        as_text=True)
    assert "<h1>Policies</h1>" in client.application.test_client().get("/").get_data(as_text=True)
    kyrgyz = client.get(f"/policies/{PID}?lang=ky").get_data(as_text=True)
    assert "Күчүнө кирген күнү" in kyrgyz and "2021-ж., 1-сентябрь" in kyrgyz


def test_every_page_is_sent_with_a_strict_content_security_policy_and_no_inline_script_or_cdn(client):
    for path in ("/", f"/policies/{PID}", f"/policies/{PID}/versions", f"/policies/{PID}/diff?from=1&to=2",
                 "/sign-in", "/api/v1/docs"):
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code == 200, path
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), f"inline script on {path}"
        assert not re.search(r"<style", html), f"inline style on {path}"
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html), f"an outside asset on {path}"
        if not path.startswith("/api"):
            assert "script-src 'self'" in response.headers["Content-Security-Policy"]
            assert response.headers["X-Frame-Options"] == "DENY"
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "swagger-ui-standalone-preset.js"):
        with client.get(f"/api/v1/docs/assets/{asset}") as served:
            assert served.status_code == 200 and len(served.get_data()) > 1000


def test_a_wrong_password_is_refused_on_the_page_and_signs_nobody_in(client, loaded):
    refused = sign_in(client, "auditor", "not-the-password")
    assert refused.status_code == 401
    assert 'role="alert"' in refused.get_data(as_text=True) and "wrong" in refused.get_data(as_text=True)
    assert client.get("/audit?lang=en").status_code == 302


def test_a_form_without_its_csrf_token_is_refused_and_signs_nobody_in(client, loaded):
    refused = client.post("/sign-in?lang=en", data={"username": "auditor", "password": loaded.passwords["auditor"]},
                          headers=HTML)
    assert refused.status_code == 400
    assert 'role="alert"' in refused.get_data(as_text=True)
    assert "not sent from this site" in refused.get_data(as_text=True)
    assert client.get("/audit").status_code == 302


def test_signing_in_goes_back_to_the_page_asked_for_and_signing_out_ends_the_session(client, loaded):
    asked = client.get("/audit?lang=en")
    assert asked.status_code == 302 and asked.headers["Location"].startswith("/sign-in?next=/audit")
    signed = sign_in(client, "auditor", loaded.passwords["auditor"], next_page="/audit?lang=en")
    assert signed.status_code == 303 and signed.headers["Location"] == "/audit?lang=en"
    session_cookie = signed.headers["Set-Cookie"]
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    page = client.get("/audit?lang=en")
    assert page.status_code == 200 and "Sarah Mitchell" in page.get_data(as_text=True)
    assert client.get("/").headers["Cache-Control"] == "private, no-cache"
    form = csrf_token(page.get_data(as_text=True))
    assert client.post("/sign-out", data={"csrf_token": form}).status_code == 303
    assert client.get("/audit").status_code == 302


def test_signing_in_never_sends_anyone_to_another_site(client, loaded):
    for target in ("https://evil.example/", "//evil.example/", "javascript:alert(1)"):
        signed = sign_in(client, "rector", loaded.passwords["rector"], next_page=target)
        assert signed.status_code == 303 and signed.headers["Location"] == "/"


def test_a_session_is_not_an_api_token_and_a_token_does_not_sign_in(client, loaded):
    sign_in(client, "auditor", loaded.passwords["auditor"])
    assert client.get(f"/api/v1/policies/{PID}/audit").status_code == 401  # the API wants a bearer token
    fresh = client.application.test_client()
    token = {"Authorization": f"Bearer {loaded.tokens['auditor']}"}
    assert fresh.get("/audit", headers=token).status_code == 302  # and the pages want a session


@pytest.mark.parametrize("who", ["dean", "reviewer1", "qa-director", "quality-office"])
def test_the_console_is_for_auditors_only(client, loaded, who):
    sign_in(client, who, loaded.passwords[who])
    refused = client.get("/audit?lang=en", headers=HTML)
    assert refused.status_code == 403 and 'role="alert"' in refused.get_data(as_text=True)
    assert client.get(f"/policies/{PID}").status_code == 200  # the reading room stays open to them


def test_the_console_verifies_the_chain_and_shows_the_result(client, loaded):
    sign_in(client, "auditor", loaded.passwords["auditor"])
    page = client.get("/audit?lang=en").get_data(as_text=True)
    assert "data-verified" not in page
    verified = client.post("/audit/verify", data={"csrf_token": csrf_token(page)})
    assert verified.status_code == 303
    html = client.get("/audit?lang=en").get_data(as_text=True)
    assert 'data-verified="true"' in html and f"Verified: {loaded.events} events" in html
    result = re.search(r'<p class="result ok".*?</p>', html, re.S).group(0)
    assert "No checkpoint has been signed yet." in result


@pytest.mark.parametrize("database", DATABASES)
def test_the_consoles_verification_names_the_newest_signed_checkpoint_it_held(database, databases, tmp_path):
    from service.evidence import checkpoints
    with databases.lend(database, tmp_path) as url, running_app(url) as app:
        people = demo.load_demo(url)
        with app.app_context():
            signed = checkpoints.sign_head(services().store, checkpoints.signing_key())
        client = app.test_client()
        sign_in(client, "auditor", people.passwords["auditor"])
        page = client.get("/audit?lang=ky").get_data(as_text=True)
        client.post("/audit/verify", data={"csrf_token": csrf_token(page)})
        result = re.search(r'<p class="result ok".*?</p>', client.get("/audit?lang=ky").get_data(as_text=True),
                           re.S).group(0)
        held = f"Бардык кол коюлган текшерүү чекиттери туура (1), эң жаңысы {signed['position']} позициясында."
        assert held in result


def test_the_console_pages_the_log_newest_first_without_skipping_an_event(client, loaded):
    sign_in(client, "auditor", loaded.passwords["auditor"])
    seen, url = [], "/audit?lang=en"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(p) for p in re.findall(r'<tr id="event-(\d+)">', html)]
        older = re.search(r'<a rel="next" href="([^"]+)"', html)
        url = older.group(1).replace("&amp;", "&") if older else None
    assert seen == list(range(loaded.events, 0, -1))
    mine = client.get("/audit?lang=en&actor=rector").get_data(as_text=True)
    assert re.findall(r'<tr id="event-(\d+)">', mine) and "dean (" not in mine
    published = client.get("/audit?lang=en&action=revision_published").get_data(as_text=True)
    assert len(re.findall(r'<tr id="event-', published)) == 2
    assert client.get("/audit?lang=en&action=made_up", headers=HTML).status_code == 400


def test_the_console_downloads_the_trail_and_the_bundle_and_replays_a_position(client, loaded):
    sign_in(client, "auditor", loaded.passwords["auditor"])
    csv = client.get(f"/audit/policies/{PID}/audit.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    text = csv.get_data(as_text=True)
    assert text.startswith("\ufeffposition,") and "Иш берүүчүлөрдү да атаңыз" in text
    bundle = client.get(f"/audit/policies/{PID}/bundle")
    assert bundle.status_code == 200 and b'"format":"policy-ledger-evidence-bundle/1"' in bundle.data
    adopted = client.get(f"/audit/replay?policy={PID}&position=40&lang=en").get_data(as_text=True)
    assert "replayed from the log up to position 40" in adopted and "Nothing was in force then." in adopted
    later = client.get(f"/audit/replay?policy={PID}&position={loaded.events}&lang=en").get_data(as_text=True)
    assert "Version 2, in force from" in later and "Version 1, in force from" not in later
    assert client.get("/audit/replay?policy=nowhere&position=3", headers=HTML).status_code == 404


def test_the_policy_page_links_to_controlled_copies_as_pdf_and_word(client):
    html = client.get(f"/policies/{PID}?version=2&lang=ky", headers=HTML).get_data(as_text=True)
    for kind, name in (("pdf", "Көзөмөлдөнүүчү нуска (PDF)"), ("docx", "Көзөмөлдөнүүчү нуска (Word)")):
        link = re.search(rf'<a href="([^"]+copy\.{kind}[^"]*)" download>{re.escape(name)}</a>', html)
        assert link is not None, kind
        copy = client.get(link[1].replace("&amp;", "&"))
        assert copy.status_code == 200, kind
        assert f'filename="{PID}-v2.{kind}"' in copy.headers["Content-Disposition"]
    pdf = client.get(f"/policies/{PID}/copy.pdf?version=2")
    assert pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Approved by Канатбек Исаков (rector), approver, as “approved as rector”" in " ".join(text.split())
    word = client.get(f"/policies/{PID}/copy.docx?version=2")
    assert word.data.startswith(b"PK")  # a .docx is a zip package
    assert client.get(f"/policies/{PID}/copy.odt?version=2").status_code == 404
