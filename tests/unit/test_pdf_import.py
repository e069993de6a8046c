"""PDF files in: text in reading order, running headers, footers and page numbers dropped, bad files refused."""
from __future__ import annotations

import pytest

from events.domain.errors import InvalidInput
from service.content.importing import parse_document
from service.content.pdfread import read_pdf
from service.content.textformat import parse_policy_text
from service.content.wordcheck import result_words
from tests.support import SEED_POLICY
from tests.support.pdfs import encrypted, image_only_pdf, seed_pdf, two_pages_pdf


@pytest.fixture(scope="module")
def seed():
    return parse_policy_text(SEED_POLICY.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def printed_seed():
    return read_pdf(seed_pdf(), "seed.pdf")


def test_the_printed_seed_reads_back_with_the_same_words_in_the_same_order(seed, printed_seed) -> None:
    assert [w for w, _ in result_words(printed_seed.parsed.title, printed_seed.parsed.sections)] == [
        w for w, _ in result_words(seed.title, seed.sections)]


def test_the_printed_seed_has_the_seeds_structure(seed, printed_seed) -> None:
    parsed = printed_seed.parsed
    assert parsed.title == seed.title  # printed over several lines in a larger type, read as one
    assert [(s["kind"], s["label"], s["title"]) for s in parsed.sections[:4]] == [
        (s["kind"], s["label"], s["title"]) for s in seed.sections[:4]]
    summary = parsed.summary
    assert (summary.format, summary.headings, summary.items, summary.max_depth) == ("pdf", 3, 29, 2)
    assert parsed.sections[0]["children"][0]["text"] == seed.sections[0]["children"][0]["text"]
    roman = [s for s in parsed.sections if s["kind"] == "item"]
    assert [s["text"] for s in roman] == [s["text"] for s in seed.sections if s["kind"] == "item"]


def test_the_running_header_and_page_numbers_are_not_text(printed_seed) -> None:
    assert "ОшМУ · Сапат саясаты" not in printed_seed.text
    assert "Бет " not in printed_seed.text


def test_two_pages_join_into_one_list_without_their_header_or_numbers() -> None:
    parsed = parse_document(two_pages_pdf(), "two-pages.pdf")
    assert parsed.title == "Текшерүү тартиби"
    assert [s["label"] for s in parsed.sections] == [f"{n}." for n in range(1, 31)]
    assert {s["text"] for s in parsed.sections} == {
        f"Пункт {n}: университет ар бир окуу жылында программаларды текшерет." for n in range(1, 31)}


@pytest.mark.parametrize(("content", "problem"), [
    (lambda: encrypted(two_pages_pdf()), "is encrypted"),
    (image_only_pdf, "has no text to read"),
    (lambda: two_pages_pdf()[:2000], "is not a PDF that can be read"),
    (lambda: "Саясат\n\nТекст.".encode(), "is not a PDF that can be read"),
])
def test_a_pdf_it_cannot_read_is_refused_naming_the_problem(content, problem) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_document(content(), "policy.pdf")
    assert refused.value.message.startswith(f"policy.pdf {problem}")
    assert refused.value.field == "file"
