"""Word files in: structure from the document's own styles and numbering, tables kept, damaged files refused."""
from __future__ import annotations

import io
import zipfile

import docx
import pytest

from events.domain.errors import InvalidInput
from service.content.importing import parse_document
from service.content.textformat import parse_policy_text
from service.content.wordread import read_word
from tests.support import SEED_POLICY
from tests.support.word import add_list, levels_docx, numbered, saved, seed_docx


def tree(sections):
    return [(s["kind"], s["label"], s["title"] or s["text"], tree(s["children"])) for s in sections]


def test_the_seed_in_word_reads_as_the_seed_in_text() -> None:
    word = read_word(seed_docx(), "seed.docx")
    text = parse_policy_text(SEED_POLICY.read_text(encoding="utf-8"))
    assert word.parsed.document() == text.document()
    summary = word.parsed.summary
    assert (summary.format, summary.headings, summary.paragraphs, summary.items, summary.max_depth) == (
        "docx", 3, 5, 29, 2)


def test_roman_numbering_comes_back_as_labels() -> None:
    parsed = read_word(seed_docx(), "seed.docx").parsed
    assert [s["label"] for s in parsed.sections if s["kind"] == "item"] == ["I.", "II.", "III.", "IV.", "V.", "VI.",
                                                                           "VII."]


@pytest.mark.parametrize(("language", "letters"), [("ru", ["а)", "б)", "в)"]), ("en", ["a)", "b)", "c)"])])
def test_multilevel_numbering_gives_numbered_headings_items_and_letters(language: str, letters: list[str]) -> None:
    parsed = parse_document(levels_docx(language), "policy.docx")
    shape = [(kind, label, [(k, lab, [c[1] for c in kids]) for k, lab, _, kids in children])
             for kind, label, _, children in tree(parsed.sections)]
    assert shape == [
        ("heading", "1.", [("item", "1.1.", []), ("item", "1.2.", letters)]),
        ("heading", "2.", [("item", "2.1.", []), ("paragraph", None, []), ("paragraph", None, [])]),
    ]
    assert parsed.title == {"ru": "Политика в области качества", "en": "Quality policy"}[language]
    assert parsed.summary.max_depth == 3


def test_exact_text_of_headings_items_and_table_rows() -> None:
    parsed = parse_document(levels_docx("ru"), "policy.docx")
    general, aims = parsed.sections
    assert (general["title"], general["text"]) == ("Общие положения", "")
    assert general["children"][1]["text"] == "Политика распространяется на:"
    assert general["children"][1]["children"][1]["text"] == "преподавателей;"
    assert [c["text"] for c in aims["children"][1:]] == ["Роль | Ответственность", "QA | ISO 9001"]


def test_a_list_restarting_in_a_new_numbering_instance_counts_from_one() -> None:
    document = docx.Document()
    document.add_paragraph("Саясат", style="Title")
    first = add_list(document, [("decimal", "%1)")])
    second = add_list(document, [("lowerLetter", "%1.")])
    for text in ("Биринчи.", "Экинчи."):
        numbered(document, text, first, 0)
    document.add_paragraph("Андан кийин:")
    for text in ("бир;", "эки."):
        numbered(document, text, second, 0)
    parsed = read_word(saved(document), "x.docx").parsed
    assert tree(parsed.sections) == [
        ("item", "1)", "Биринчи.", []), ("item", "2)", "Экинчи.", []),
        ("heading", None, "Андан кийин:", [("item", "a.", "бир;", []), ("item", "b.", "эки.", [])]),
    ]


def test_kyrgyz_letters_survive_a_word_file() -> None:
    parsed = read_word(seed_docx(), "seed.docx").parsed
    text = " ".join(s["text"] for s in parsed.sections if s["kind"] == "paragraph")
    assert all(letter in text for letter in "үөң")


def damaged() -> bytes:
    whole = seed_docx()
    return whole[: len(whole) // 2]


def without_document_part() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(seed_docx())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            if item.filename != "word/document.xml":
                target.writestr(item, source.read(item.filename))
    return out.getvalue()


@pytest.mark.parametrize("content", [damaged, without_document_part, lambda: "Саясат\n\nТекст.".encode()])
def test_a_damaged_word_file_is_refused_naming_the_file(content) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_document(content(), "policy.docx")
    assert refused.value.message.startswith("policy.docx is not a Word document that can be read")


def test_footnotes_are_kept_after_the_text_with_their_number_as_label() -> None:
    from tests.support.word import with_footnote
    parsed = parse_document(with_footnote("Саясат ар жыл сайын каралат.", "Окумуштуулар кеңешинин чечими менен."),
                            "policy.docx")
    assert [(s["kind"], s["label"], s["text"]) for s in parsed.sections] == [
        ("paragraph", None, "Саясат ар жыл сайын каралат."),
        ("paragraph", "[1]", "Окумуштуулар кеңешинин чечими менен."),
    ]
