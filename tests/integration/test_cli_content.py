"""The import and export commands, through click's runner on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from events.application import Context
from events.domain import commands as cmd
from events.domain import rules
from events.domain.canonical import parse_time
from events.domain.policy import Actor
from projections import documents as versions
from projections.audit import audit_trail
from projections.documents import policy_versions
from projections.revisions import revisions
from service.accounts import add_user
from service.bootstrap import bootstrap
from service.content import importing
from service.content.importing import ImportRequest, import_policy, parse_policy_file
from service.content.textformat import parse_policy_text
from tests.support import SEED_POLICY, FakeClock

SEED_TITLE = "Ош мамлекеттик университетинин билим берүүнүн сапаты областындагы саясаты"
MARKDOWN = """# Студенттердин академиялык ак ниеттүүлүгү жөнүндө жобо

## 1. Жалпы жоболор

Бул жобо ОшМУнун бардык студенттерине жана окутуучуларына тиешелүү.

## 2. Негизги түшүнүктөр

- плагиат – башка адамдын эмгегин өзүнүкү катары көрсөтүү;
- көчүрүү – сынакта уруксатсыз булактарды колдонуу.

### 2.1. Жоопкерчилик

Бузууларды академиялык ак ниеттүүлүк комиссиясы карайт.
"""


def invoke(runner, *args: str):
    return runner.invoke(args=[str(a) for a in args])


def head(app) -> int:
    return app.extensions["policy_ledger"].store.head()[0]


def rows(app, query) -> list[Any]:
    with app.extensions["policy_ledger"].engine.connect() as connection:
        return connection.execute(query).all()


def shape(sections: list[dict[str, Any]]) -> list[tuple]:
    """The section tree without ids: what a round trip must keep."""
    return [(s["kind"], s["label"], s["title"], s["text"], shape(s["children"])) for s in sections]


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def one_line_error(result) -> str:
    assert result.exit_code != 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    return lines[0]


@pytest.fixture(autouse=True)
def importers(app) -> None:
    """The users the imports below name as their actors."""
    for name in ("quality-office", "dean"):
        add_user(app.extensions["policy_ledger"].engine, name, ["author", "admin"])


@pytest.fixture
def published(runner, app) -> str:
    """The seed policy imported and adopted as version 1, effective 2019-09-01."""
    result = invoke(runner, "import", SEED_POLICY, "--id", "oshsu-quality", "--actor", "quality-office",
                    "--publish", "--effective-from", "2019-09-01")
    assert result.exit_code == 0, result.output
    return "oshsu-quality"


# ---- import ----------------------------------------------------------------------------------------


def test_importing_the_seed_makes_a_draft_and_reports_what_the_parser_found(runner, app):
    result = invoke(runner, "import", SEED_POLICY, "--id", "oshsu-quality", "--actor", "dean")
    assert result.exit_code == 0, result.output
    assert "text, 3 headings, 5 paragraphs, 29 items, depth 2" in result.stdout
    assert "could not classify: none" in result.stdout
    assert f"created policy oshsu-quality: {SEED_TITLE}" in result.stdout
    [draft] = rows(app, select(revisions.c.revision_id, revisions.c.status, revisions.c.author))
    assert (draft.status, draft.author) == ("draft", "dean")
    assert f"draft revision {draft.revision_id}" in result.stdout
    assert rows(app, select(policy_versions.c.version)) == []


def test_publishing_adopts_the_draft_as_version_one_from_the_given_date(runner, app, published):
    [version] = rows(app, select(policy_versions))
    assert (version.version, version.effective_from, version.adopted) == (1, "2019-09-01T00:00:00.000000Z", True)
    assert version.title == SEED_TITLE
    with app.extensions["policy_ledger"].engine.connect() as connection:
        assert versions.get(connection, version.policy_id, 1)["sections"][0]["title"] == "ОшМУнун миссиясы:"
    [adoption] = rows(app, select(audit_trail.c.actor, audit_trail.c.role, audit_trail.c.reason)
                      .where(audit_trail.c.version == 1))
    assert adoption == ("quality-office", "admin",
                        "imported from oshsu-education-quality-policy.ky.txt; adopted as approved outside the ledger")


def test_the_output_names_the_version_and_its_effective_date(runner, app):
    result = invoke(runner, "import", SEED_POLICY, "--id", "oshsu-quality", "--actor", "quality-office",
                    "--publish", "--effective-from", "2019-09-01T06:00:00+06:00")
    assert result.exit_code == 0, result.output
    assert "adopted as version 1, effective from 2019-09-01T00:00:00.000000Z" in result.stdout


def test_a_given_title_and_reason_replace_the_defaults(runner, app):
    result = invoke(runner, "import", SEED_POLICY, "--id", "quality", "--actor", "quality-office",
                    "--title", "Сапат саясаты", "--publish", "--reason", "Окумуштуулар кеңеши 2019-08-23 бекиткен")
    assert result.exit_code == 0, result.output
    [version] = rows(app, select(policy_versions.c.title))
    assert version.title == "Сапат саясаты"
    reasons = {r.reason for r in rows(app, select(audit_trail.c.reason).where(audit_trail.c.version == 1))}
    assert reasons == {"Окумуштуулар кеңеши 2019-08-23 бекиткен"}


def test_markdown_is_imported_with_its_headings_and_items(runner, app, tmp_path):
    source = write(tmp_path, "ак-ниеттүүлүк.md", MARKDOWN)
    result = invoke(runner, "import", source, "--id", "integrity", "--actor", "dean", "--publish")
    assert result.exit_code == 0, result.output
    assert "markdown, 3 headings, 2 paragraphs, 2 items, depth 3" in result.stdout
    assert "Студенттердин академиялык ак ниеттүүлүгү жөнүндө жобо" in result.stdout


def test_a_large_file_shows_progress_on_stderr_only(runner, app, tmp_path):
    lines = ["Чоң жобо"] + [f"{n}. Жобонун {n}-пункту үчүн текст." for n in range(1, 302)]
    source = write(tmp_path, "big.txt", "\n\n".join(lines))
    result = invoke(runner, "import", source, "--id", "big", "--actor", "dean")
    assert result.exit_code == 0, result.output
    assert "checking sections" in result.stderr
    assert "checking sections" not in result.stdout
    assert "301 items" in result.stdout


def test_a_small_file_shows_no_progress(runner, app, tmp_path):
    source = write(tmp_path, "small.txt", "Кичине жобо\n\n1. Бир.\n")
    result = invoke(runner, "import", source, "--id", "small", "--actor", "dean")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


BAD_FILES = {
    "missing": (None, "no such file"),
    "non-utf8": ("Саясат".encode("cp1251"), "is not UTF-8 text"),
    "empty": (b"", "is empty"),
    "blank": (b" \n\n\t\n", "is empty"),
    "binary": (b"\x00\x01\x02PK", "binary"),
    "title only": ("Саясат\n".encode(), "no sections"),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_a_bad_file_is_refused_in_one_line_and_appends_nothing(runner, app, tmp_path, case):
    content, message = BAD_FILES[case]
    path = tmp_path / "policy.txt" if content is None else write(tmp_path, "policy.txt", content)
    result = invoke(runner, "import", path, "--id", "quality", "--actor", "dean")
    assert message in one_line_error(result)
    assert head(app) == 0


def test_a_directory_is_refused(runner, app, tmp_path):
    assert "is a directory" in one_line_error(invoke(runner, "import", tmp_path, "--id", "ab", "--actor", "dean"))
    assert head(app) == 0


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_a_device_is_refused_at_once_not_read_without_end(runner, app, device):
    error = one_line_error(invoke(runner, "import", Path(device), "--id", "ab", "--actor", "dean"))
    assert "is not a regular file" in error
    assert head(app) == 0


def test_a_fifo_is_refused_without_waiting_for_a_writer(runner, app, tmp_path):
    fifo = tmp_path / "policy.fifo"
    os.mkfifo(fifo)
    error = one_line_error(invoke(runner, "import", fifo, "--id", "ab", "--actor", "dean"))
    assert "is not a regular file" in error
    assert head(app) == 0


def test_a_file_over_the_size_limit_is_refused_naming_the_limit(runner, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1000)
    source = write(tmp_path, "big.txt", "Саясат\n\n" + "1. Жобо ү ө ң.\n" * 200)
    error = one_line_error(invoke(runner, "import", source, "--id", "ab", "--actor", "dean"))
    assert "larger than the 1,000 bytes an import takes" in error
    assert head(app) == 0


def test_a_file_with_more_sections_than_one_call_brings_is_refused_before_any_append(runner, app, tmp_path):
    lines = ["Чоң жобо"] + [f"{n}. Пункт {n}." for n in range(1, rules.MAX_SECTIONS_PER_CALL + 2)]
    source = write(tmp_path, "huge.txt", "\n\n".join(lines))
    error = one_line_error(invoke(runner, "import", source, "--id", "huge", "--actor", "dean"))
    assert f"{rules.MAX_SECTIONS_PER_CALL + 1:,} sections" in error and "at most 5,000" in error
    assert head(app) == 0


def test_a_section_text_over_its_limit_is_refused_naming_the_section(runner, app, tmp_path):
    long = "ү" * (rules.MAX_SECTION_TEXT + 1)
    source = write(tmp_path, "long.txt", f"Саясат\n\n1. Кыска.\n\n2. {long}\n")
    error = one_line_error(invoke(runner, "import", source, "--id", "long", "--actor", "dean"))
    assert "section 2: text must be at most 100,000 characters" in error
    assert head(app) == 0


@pytest.mark.parametrize("policy_id", ["Quality", "q", "quality_policy", "саясат", "a" * 101, "has space",
                                       "-quality", "quality-"])
def test_a_bad_id_is_refused_before_the_file_is_read(runner, app, tmp_path, policy_id):
    result = invoke(runner, "import", tmp_path / "missing.txt", "--id", policy_id, "--actor", "dean")
    assert "lowercase letters, digits and hyphens" in one_line_error(result)
    assert head(app) == 0


@pytest.mark.parametrize("policy_id", ["ab", "oshsu-quality-2019", "a" * 100])
def test_ids_of_lowercase_letters_digits_and_hyphens_are_taken(runner, app, policy_id):
    assert invoke(runner, "import", SEED_POLICY, "--id", policy_id, "--actor", "dean").exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["--publish", "--effective-from", "2019-13-01"], "neither a date"),
    (["--publish", "--effective-from", "2019-09-01T00:00:00"], "neither a date"),
    (["--effective-from", "2019-09-01"], "only when publishing"),
    (["--publish", "--reason", " "], "reason cannot be empty"),
    (["--language", "кыргызча"], "language tag"),
    (["--title", "  "], "no title"),
    (["--actor", " "], "actor"),
    (["--review-interval-days", "0"], "review-interval-days"),
    (["--format", "md"], "No such option"),
])
def test_bad_options_are_refused_in_one_line_and_append_nothing(runner, app, args, message):
    result = invoke(runner, "import", SEED_POLICY, "--id", "quality", "--actor", "dean", *args)
    assert message in one_line_error(result)
    assert head(app) == 0


def test_a_missing_required_option_is_one_line_too(runner, app):
    assert "--actor" in one_line_error(invoke(runner, "import", SEED_POLICY, "--id", "quality"))


def test_an_id_already_taken_is_refused_and_appends_nothing(runner, app, published):
    before = head(app)
    result = invoke(runner, "import", SEED_POLICY, "--id", published, "--actor", "dean", "--publish")
    assert "already exists" in one_line_error(result)
    assert head(app) == before


# ---- export ----------------------------------------------------------------------------------------


def test_json_export_has_the_api_document_shape(runner, app, published):
    result = invoke(runner, "export", published, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert list(document) == ["id", "title", "language", "version", "effective_from", "published_at",
                              "revision_id", "log_position", "content_hash", "sections"]
    [row] = rows(app, select(policy_versions))
    assert document["content_hash"] == row.content_hash and document["log_position"] == row.position
    assert (document["id"], document["language"], document["version"]) == (published, "ky", 1)
    assert list(document["sections"][0]) == ["id", "kind", "label", "title", "text", "children"]
    assert "илимий-педагогикалык" in result.stdout  # unescaped, and the PDF's hyphen break joined


def test_markdown_is_the_default_format(runner, app, published):
    result = invoke(runner, "export", published)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"# {SEED_TITLE}\n")


def test_seed_round_trips_through_a_plain_text_export(runner, app, published, tmp_path):
    exported = write(tmp_path, "export.txt", invoke(runner, "export", published, "--format", "txt").stdout)
    assert invoke(runner, "import", exported, "--id", "again", "--actor", "dean", "--publish").exit_code == 0
    first, again = (json.loads(invoke(runner, "export", pid, "--format", "json").stdout)
                    for pid in (published, "again"))
    assert shape(again["sections"]) == shape(first["sections"])
    assert again["title"] == first["title"]
    assert shape(first["sections"]) == shape(parse_policy_text(SEED_POLICY.read_text(encoding="utf-8")).sections)


def test_seed_round_trips_through_a_markdown_export(runner, app, published, tmp_path):
    exported = write(tmp_path, "export.md", invoke(runner, "export", published, "--format", "md").stdout)
    assert invoke(runner, "import", exported, "--id", "again", "--actor", "dean", "--publish").exit_code == 0
    first, again = (json.loads(invoke(runner, "export", pid, "--format", "json").stdout)
                    for pid in (published, "again"))
    assert shape(again["sections"]) == shape(first["sections"])


def test_markdown_round_trips_through_a_markdown_export(runner, app, tmp_path):
    source = write(tmp_path, "source.md", MARKDOWN)
    assert invoke(runner, "import", source, "--id", "integrity", "--actor", "dean", "--publish").exit_code == 0
    exported = write(tmp_path, "export.md", invoke(runner, "export", "integrity", "--format", "md").stdout)
    assert invoke(runner, "import", exported, "--id", "again", "--actor", "dean", "--publish").exit_code == 0
    first, again = (json.loads(invoke(runner, "export", pid, "--format", "json").stdout)
                    for pid in ("integrity", "again"))
    assert shape(again["sections"]) == shape(first["sections"])
    assert [s["label"] for s in first["sections"]] == ["1.", "2."]


@pytest.fixture
def two_versions(app) -> str:
    """The seed adopted in 2019 as version 1, and version 2 (provision 5 amended) in force from 2021-09-01."""
    clock = FakeClock("2019-08-26T09:00:00+00:00")
    services = bootstrap(app.config["DATABASE_URL"], clock=clock)
    ledger = services.ledger
    parsed = parse_policy_file(SEED_POLICY)
    import_policy(ledger, parsed, ImportRequest(policy_id="oshsu-quality", actor="quality-office", source="seed",
                                                publish=True, effective_from=parse_time("2019-09-01T00:00:00Z")))
    provision = ledger.load("oshsu-quality").document_at(1).tree()[-3]["children"][4]["id"]
    author, qa = (Context(actor=Actor(name=n, role=r)) for n, r in [("dean", "author"), ("qa-director", "approver")])
    clock.set("2021-05-10T09:00:00+00:00")
    rid = ledger.handle(cmd.OpenRevision(policy_id="oshsu-quality", summary="5-жобо"), author).result["revision_id"]
    ledger.handle(cmd.ChangeRevision(policy_id="oshsu-quality", revision_id=rid, changes=(
        cmd.AmendSection(section_id=provision, text="илим жана практика менен интеграциялоо;"),)), author)
    ledger.handle(cmd.SubmitRevision(policy_id="oshsu-quality", revision_id=rid, reviewers=()), author)
    ledger.handle(cmd.ApproveRevision(policy_id="oshsu-quality", revision_id=rid, meaning="approved"), qa)
    clock.set("2021-08-20T10:00:00+00:00")
    ledger.handle(cmd.PublishRevision(policy_id="oshsu-quality", revision_id=rid,
                                      effective_from=parse_time("2021-09-01T00:00:00Z")), qa)
    services.engine.dispose()
    return "oshsu-quality"


def exported_version(runner, *args: str) -> int:
    result = invoke(runner, "export", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["version"]


def test_export_gives_the_version_in_force_now_by_default(runner, app, two_versions):
    assert exported_version(runner, two_versions) == 2


def test_export_at_a_time_gives_the_version_in_force_then(runner, app, two_versions):
    assert exported_version(runner, two_versions, "--at", "2021-05-01") == 1
    assert exported_version(runner, two_versions, "--at", "2021-08-31T23:59:59Z") == 1
    assert exported_version(runner, two_versions, "--at", "2021-09-01") == 2


def test_export_as_of_a_record_time_ignores_what_was_recorded_later(runner, app, two_versions):
    assert exported_version(runner, two_versions, "--at", "2022-01-01", "--as-of", "2021-08-01") == 1
    assert exported_version(runner, two_versions, "--at", "2022-01-01", "--as-of", "2021-08-21") == 2


def test_export_of_a_given_version_prints_that_version(runner, app, two_versions):
    result = invoke(runner, "export", two_versions, "--version", "2", "--format", "txt")
    assert "• илим жана практика менен интеграциялоо;\n" in result.stdout
    older = invoke(runner, "export", two_versions, "--version", "1", "--format", "txt")
    assert "илим жана практика" not in older.stdout and "илим менен интеграциялоо" in older.stdout


@pytest.mark.parametrize("args, message", [
    (["nope"], "no policy 'nope'"),
    (["oshsu-quality", "--version", "3"], "has no version 3"),
    (["oshsu-quality", "--at", "2019-08-31"], "nothing of policy 'oshsu-quality' is in force"),
    (["oshsu-quality", "--as-of", "2019-01-01"], "has no published version as recorded by"),
    (["oshsu-quality", "--version", "1", "--at", "2020-01-01"], "not both"),
    (["oshsu-quality", "--at", "yesterday"], "neither a date"),
    (["oshsu-quality", "--version", "0"], "--version"),
    (["oshsu-quality", "--format", "pdf"], "--format"),
])
def test_export_refuses_what_is_not_there_in_one_line(runner, app, published, args, message):
    result = invoke(runner, "export", *args)
    assert message in one_line_error(result)


def test_a_policy_with_only_a_draft_has_nothing_to_export(runner, app):
    assert invoke(runner, "import", SEED_POLICY, "--id", "draft-only", "--actor", "dean").exit_code == 0
    assert "no published version" in one_line_error(invoke(runner, "export", "draft-only"))


@pytest.mark.parametrize("command", ["import", "export", "demo"])
def test_every_command_explains_itself(runner, app, command):
    result = invoke(runner, command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ") and "--help" in result.stdout


# ---- who imports, in which language, and the importer's check of its own work ----------------------


def test_an_actor_who_is_not_a_user_is_refused_and_nothing_is_appended(runner, app):
    result = invoke(runner, "import", SEED_POLICY, "--id", "quality", "--actor", "nobody-here")
    assert "--actor: no user 'nobody-here'" in one_line_error(result)
    assert head(app) == 0


def test_the_language_is_detected_when_not_given(runner, app, tmp_path):
    english = write(tmp_path, "quality.txt", "Quality policy\n\n1. General provisions\n\n1.1 This policy sets out "
                    "the aims of the university.\n\n1.2 The policy is reviewed every year.\n")
    result = invoke(runner, "import", english, "--id", "quality", "--actor", "dean")
    assert result.exit_code == 0, result.output
    assert "created policy quality: Quality policy (language en)" in result.stdout
    assert "text, 1 headings, 0 paragraphs, 2 items, depth 2" in result.stdout
    seed = invoke(runner, "import", SEED_POLICY, "--id", "seed", "--actor", "dean", "--language", "ky-KG")
    assert "(language ky-KG)" in seed.stdout


def test_a_parse_that_would_lose_words_is_refused_naming_them(runner, app, tmp_path, monkeypatch):

    def losing_parse(text: str):
        parsed = parse_policy_text(text)
        del parsed.sections[-1]
        return parsed

    monkeypatch.setattr(importing, "parse_policy_text", losing_parse)
    source = write(tmp_path, "policy.txt", "Саясат\n\nБиринчи абзац.\n\nАкыркы абзац жоголот.\n")
    message = one_line_error(invoke(runner, "import", source, "--id", "quality", "--actor", "dean"))
    assert "policy.txt: the import would lose text, from the words: Акыркы абзац жоголот" in message
    assert head(app) == 0


# ---- Word and PDF files --------------------------------------------------------------------------------


def test_a_word_file_is_imported_with_its_numbering(runner, app, tmp_path):
    from tests.support.word import levels_docx
    source = write(tmp_path, "политика.docx", levels_docx("ru"))
    result = invoke(runner, "import", source, "--id", "quality", "--actor", "dean", "--publish")
    assert result.exit_code == 0, result.output
    assert "read политика.docx: docx, 2 headings, 2 paragraphs, 6 items, depth 3" in result.stdout
    assert "(language ru)" in result.stdout
    exported = json.loads(invoke(runner, "export", "quality", "--format", "json").stdout)
    general = exported["sections"][0]
    assert (general["kind"], general["label"], general["title"]) == ("heading", "1.", "Общие положения")
    assert [c["label"] for c in general["children"][1]["children"]] == ["а)", "б)", "в)"]


def test_the_seed_printed_to_pdf_is_imported_as_the_seed(runner, app, tmp_path):
    from tests.support.pdfs import seed_pdf
    source = write(tmp_path, "seed.pdf", seed_pdf())
    result = invoke(runner, "import", source, "--id", "quality", "--actor", "dean")
    assert result.exit_code == 0, result.output
    assert "read seed.pdf: pdf, 3 headings, 5 paragraphs, 29 items, depth 2" in result.stdout
    assert f"created policy quality: {SEED_TITLE} (language ky)" in result.stdout


@pytest.mark.parametrize(("name", "content", "message"), [
    ("policy.docx", b"PK\x03\x04 not really", "policy.docx is not a Word document that can be read"),
    ("policy.pdf", "%PDF-1.7 Саясат".encode(), "policy.pdf is not a PDF that can be read"),
])
def test_a_damaged_document_is_one_line_and_appends_nothing(runner, app, tmp_path, name, content, message):
    source = write(tmp_path, name, content)
    assert message in one_line_error(invoke(runner, "import", source, "--id", "quality", "--actor", "dean"))
    assert head(app) == 0


# ---- controlled copies out, and back in -----------------------------------------------------------------


def test_a_pdf_copy_names_the_version_its_approver_and_hash_and_embeds_its_fonts(runner, app, tmp_path, two_versions):
    import pypdf
    pid = two_versions
    target = tmp_path / "copy.pdf"
    result = invoke(runner, "export", pid, "--format", "pdf", "-o", target)
    assert result.exit_code == 0, result.output
    assert f"wrote {target}: policy oshsu-quality version 2 as pdf" in result.stdout
    reader = pypdf.PdfReader(target)
    text = "\n".join(page.extract_text() for page in reader.pages)
    exported = json.loads(invoke(runner, "export", pid, "--format", "json").stdout)
    assert "Controlled copy as of " in text and "Policy oshsu-quality: " + SEED_TITLE in " ".join(text.split())
    assert "Version 2, effective from" in text
    assert "Approved by qa-director, approver, as “approved” at 2021-" in text
    assert exported["content_hash"] in text.replace("\n", "")
    assert all(letter in text for letter in "үөң")
    fonts = {font.get_object()["/BaseFont"] for page in reader.pages
             for font in page["/Resources"]["/Font"].values()}
    assert fonts and all("Ledger-Sans" in name for name in fonts)
    assert all("/FontFile2" in font.get_object()["/DescendantFonts"][0].get_object()["/FontDescriptor"]
               for page in reader.pages for font in page["/Resources"]["/Font"].values())


def test_a_pdf_copy_imports_back_with_the_same_words_in_the_same_order(runner, app, tmp_path, two_versions):
    from service.content.wordcheck import result_words
    pid = two_versions
    target = tmp_path / "copy.pdf"
    assert invoke(runner, "export", pid, "--format", "pdf", "-o", target).exit_code == 0
    result = invoke(runner, "import", target, "--id", "again", "--actor", "dean", "--publish")
    assert result.exit_code == 0, result.output
    original = json.loads(invoke(runner, "export", pid, "--format", "json").stdout)
    again = json.loads(invoke(runner, "export", "again", "--format", "json").stdout)
    assert [w for w, _ in result_words(again["title"], again["sections"])] == [
        w for w, _ in result_words(original["title"], original["sections"])]


def test_a_word_copy_imports_back_to_the_same_section_tree(runner, app, tmp_path, two_versions):
    import docx
    pid = two_versions
    target = tmp_path / "copy.docx"
    assert invoke(runner, "export", pid, "--format", "docx", "-o", target).exit_code == 0
    header = "\n".join(p.text for p in docx.Document(str(target)).sections[0].header.paragraphs)
    assert "Version 2, effective from" in header and "Approved by qa-director, approver," in header
    result = invoke(runner, "import", target, "--id", "again", "--actor", "dean", "--publish")
    assert result.exit_code == 0, result.output
    assert "docx, 3 headings, 5 paragraphs, 29 items, depth 2" in result.stdout
    original = json.loads(invoke(runner, "export", pid, "--format", "json").stdout)
    again = json.loads(invoke(runner, "export", "again", "--format", "json").stdout)
    assert (again["title"], shape(again["sections"])) == (original["title"], shape(original["sections"]))


def test_a_word_copy_uses_words_own_styles_and_list_numbering(runner, app, tmp_path, two_versions):
    import docx
    from docx.oxml.ns import qn
    pid = two_versions
    target = tmp_path / "copy.docx"
    assert invoke(runner, "export", pid, "--format", "docx", "-o", target).exit_code == 0
    document = docx.Document(str(target))
    styles = [p.style.name for p in document.paragraphs]
    assert styles[0] == "Title" and styles.count("List Paragraph") == 29
    numbered = [p for p in document.paragraphs if p.style.name == "List Paragraph"]
    assert all(p.paragraph_format.element.pPr.find(qn("w:numPr")) is not None for p in numbered)
    formats = {lvl.find(qn("w:numFmt")).get(qn("w:val"))
               for lvl in document.part.numbering_part.element.iter(qn("w:lvl")) if lvl.get(qn("w:ilvl")) == "0"}
    assert {"bullet", "upperRoman"} <= formats


@pytest.mark.parametrize(("args", "message"), [
    (["--format", "pdf"], "--format pdf writes a file: give it with -o FILE"),
    (["--format", "docx"], "--format docx writes a file: give it with -o FILE"),
])
def test_a_controlled_copy_needs_a_file_to_write(runner, app, published, args, message):
    assert message in one_line_error(invoke(runner, "export", published, *args))
