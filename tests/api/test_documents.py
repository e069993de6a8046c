"""Real documents over HTTP: a multipart import of Word, PDF, Markdown and text; controlled copies as PDF and Word."""
from __future__ import annotations

import io

import docx
import pypdf
import pytest

from service.content.textformat import parse_policy_text
from tests.support import SEED_POLICY, bearer
from tests.support.api import API, PID, get, ok
from tests.support.pdfs import encrypted, image_only_pdf, seed_pdf, two_pages_pdf
from tests.support.word import levels_docx, seed_docx

SEED_TITLE = parse_policy_text(SEED_POLICY.read_text(encoding="utf-8")).title


def upload(client, token: str | None, name: str, content: bytes, **form: str):
    """POST a file and form fields to /api/v1/policies/import as multipart/form-data."""
    data = {**form, "file": (io.BytesIO(content), name)}
    return client.post(f"{API}/import", data=data, content_type="multipart/form-data",
                       headers=bearer(token) if token else {})


def log_head(app) -> int:
    return app.extensions["policy_ledger"].store.head()[0]


@pytest.mark.parametrize(("name", "content", "summary", "language"), [
    ("seed.docx", seed_docx, {"format": "docx", "headings": 3, "paragraphs": 5, "items": 29, "max_depth": 2}, "ky"),
    ("seed.pdf", seed_pdf, {"format": "pdf", "headings": 3, "paragraphs": 5, "items": 29, "max_depth": 2}, "ky"),
    ("seed.txt", lambda: SEED_POLICY.read_bytes(),
     {"format": "text", "headings": 3, "paragraphs": 5, "items": 29, "max_depth": 2}, "ky"),
    ("levels.docx", lambda: levels_docx("en"),
     {"format": "docx", "headings": 2, "paragraphs": 2, "items": 6, "max_depth": 3}, "en"),
])
def test_a_file_is_imported_as_a_draft_with_a_summary_of_what_was_found(client, tokens, name, content, summary,
                                                                        language):
    created = ok(upload(client, tokens["author"], name, content(), id="imported"), 201)
    assert {key: created["summary"][key] for key in summary} == summary
    assert created["summary"]["unclassified"] == []
    assert (created["id"], created["language"]) == ("imported", language)
    assert created["draft_revision_id"]
    revision = ok(get(client, tokens["author"], f"/imported/revisions/{created['draft_revision_id']}"))
    assert revision["status"] == "draft"


def test_the_seed_from_word_keeps_its_title_and_exact_text(client, tokens):
    created = ok(upload(client, tokens["author"], "seed.docx", seed_docx(), id="seed", language="ky-KG",
                        review_interval_days="180"), 201)
    assert (created["title"], created["language"], created["review_interval_days"]) == (SEED_TITLE, "ky-KG", 180)
    preview = ok(get(client, tokens["author"], f"/seed/revisions/{created['draft_revision_id']}"))["preview"]
    assert preview["sections"][0]["children"][0]["text"] == (
        "Компетенттүүлүк мамиле менен заманбап билим берүү процессинде сапаттын кепилдигин камсыздоо;")
    assert [s["label"] for s in preview["sections"] if s["kind"] == "item"][:3] == ["I.", "II.", "III."]


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("policy.pdf", lambda: encrypted(two_pages_pdf()), "policy.pdf is encrypted"),
    ("policy.pdf", image_only_pdf, "policy.pdf has no text to read"),
    ("policy.docx", lambda: seed_docx()[:5000], "policy.docx is not a Word document that can be read"),
    ("policy.txt", lambda: b"\x00\x01binary", "policy.txt holds NUL bytes"),
])
def test_a_file_it_cannot_read_is_a_422_naming_the_problem_and_appends_nothing(app, client, tokens, name, content,
                                                                              problem):
    before = log_head(app)
    answer = upload(client, tokens["author"], name, content(), id="broken")
    assert answer.status_code == 422, answer.get_data(as_text=True)
    assert answer.mimetype == "application/problem+json"
    assert problem in answer.json["detail"]
    assert log_head(app) == before


def test_a_file_over_the_size_limit_is_refused_and_appends_nothing(app, client, tokens, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 2048)
    before = log_head(app)
    answer = upload(client, tokens["author"], "seed.txt", SEED_POLICY.read_bytes(), id="big")
    assert answer.status_code == 422 and "larger than the 2,048 bytes an import takes" in answer.json["detail"]
    huge = upload(client, tokens["author"], "seed.txt", b"x" * 200_000, id="big")
    assert huge.status_code == 413
    assert log_head(app) == before


def test_an_import_needs_an_author_and_a_multipart_body(client, tokens):
    assert upload(client, None, "seed.txt", SEED_POLICY.read_bytes(), id="x").status_code == 401
    assert upload(client, tokens["auditor"], "seed.txt", SEED_POLICY.read_bytes(), id="x").status_code == 403
    as_json = client.post(f"{API}/import", json={"id": "x"}, headers=bearer(tokens["author"]))
    assert as_json.status_code == 415


def test_a_missing_file_or_bad_id_is_a_problem_naming_the_field(client, tokens):
    no_file = client.post(f"{API}/import", data={"id": "no-file"}, content_type="multipart/form-data",
                          headers=bearer(tokens["author"]))
    assert no_file.status_code == 422 and "file" in str(no_file.json)
    bad_id = upload(client, tokens["author"], "seed.txt", SEED_POLICY.read_bytes(), id="Bad Id")
    assert bad_id.status_code == 422 and "id" in str(bad_id.json)


# ---- controlled copies --------------------------------------------------------------------------------

def test_a_version_as_a_pdf_controlled_copy(client, tokens, published):
    answer = client.get(f"{API}/{PID}/versions/1/document.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert f'filename="{PID}-v1.pdf"' in answer.headers["Content-Disposition"]
    text = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.data)).pages)
    version = ok(get(client, None, f"/{PID}/versions/1"))
    assert "Controlled copy as of " in text and f"Policy {PID}:" in text and "Version 1, effective from" in text
    assert version["content_hash"] in text.replace("\n", "")
    assert "илимий-педагогикалык кадрларды даярдоо." in text


def test_a_pdf_is_also_what_accept_application_pdf_asks_for(client, tokens, published):
    answer = client.get(f"{API}/{PID}/versions/1", headers={"Accept": "application/pdf"})
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"


def test_a_version_as_a_word_controlled_copy(client, tokens, published):
    answer = client.get(f"{API}/{PID}/versions/1/document.docx")
    assert answer.status_code == 200
    assert answer.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    document = docx.Document(io.BytesIO(answer.data))
    header = "\n".join(p.text for p in document.sections[0].header.paragraphs)
    assert f"Policy {PID}:" in header and "Version 1, effective from" in header
    assert [p.style.name for p in document.paragraphs][:2] == ["Title", "Normal"]
    assert document.paragraphs[1].text == "ОшМУнун миссиясы:"


def test_a_copy_of_a_version_that_does_not_exist_is_a_404(client, published):
    assert client.get(f"{API}/{PID}/versions/9/document.pdf").status_code == 404
    assert client.get(f"{API}/nobody/versions/1/document.docx").status_code == 404
