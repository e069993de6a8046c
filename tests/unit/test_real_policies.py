"""Real policies no one here wrote: no title line, headings after lists, numbered and lettered levels, languages."""
from __future__ import annotations

from typing import Any

import pytest

from events.domain.errors import InvalidInput
from service.content.language import detect_language
from service.content.textformat import parse_policy_text
from service.content.wordcheck import check_no_word_lost, compare, result_words, words
from tests.support import SEED_POLICY

NO_TITLE = (
    "The University is committed to providing a learning environment in which every student and member of staff "
    "is treated with dignity and respect, and in which academic integrity is upheld by all members.\n\n"
    "This policy applies to all students, staff and visitors.\n\n"
    "Breaches of this policy are handled under the disciplinary procedures.\n\n"
    "Source: University Handbook, 2023\n"
)
HEADING_AFTER_LIST = """Records management policy

1. Records are kept for seven years

2. Records are stored securely

3. Records are destroyed under supervision

Responsibilities

a. The registrar keeps the register.

b. Deans check their faculties' records.

c. Staff report losses at once.

d. The archive keeps copies.

e. Auditors review the register yearly.
"""
RUSSIAN = """Политика в области качества

1. Общие положения

1.1. Настоящая политика определяет цели университета.

1.2. Политика распространяется на:

а) студентов;

б) преподавателей;

в) сотрудников.

2. Цели

2.1. Университет обеспечивает:

а) качество обучения;

б) развитие науки.

2.2. Цели пересматриваются ежегодно.
"""
ENGLISH = """Quality policy

1. General provisions

1.1 This policy sets out the aims of the university.

1.2 The policy covers:

a) students;

b) teaching staff.

2. Aims

1. The university keeps teaching to its standards.

2. The university reviews its programmes.

3. Review

3.1 The policy is reviewed every year.
"""


def tree(sections: list[dict[str, Any]]) -> list[tuple[str, str | None, str, list[Any]]]:
    return [(s["kind"], s["label"], s["title"] or s["text"], tree(s["children"])) for s in sections]


def test_a_first_paragraph_is_not_taken_for_a_title() -> None:
    parsed = parse_policy_text(NO_TITLE)
    assert parsed.title == ""
    assert [s["text"][:20] for s in parsed.sections] == [
        "The University is co", "This policy applies ", "Breaches of this pol", "Source: University H"]
    assert (parsed.summary.paragraphs, parsed.summary.headings) == (4, 0)


def test_a_short_first_line_is_still_the_title() -> None:
    assert parse_policy_text(RUSSIAN).title == "Политика в области качества"


def test_a_heading_alone_after_a_numbered_list_closes_it_and_owns_the_lettered_items() -> None:
    parsed = parse_policy_text(HEADING_AFTER_LIST)
    assert [(s["kind"], s["label"], s["title"] or s["text"]) for s in parsed.sections] == [
        ("item", "1.", "Records are kept for seven years"),
        ("item", "2.", "Records are stored securely"),
        ("item", "3.", "Records are destroyed under supervision"),
        ("heading", None, "Responsibilities"),
    ]
    assert [(c["label"], c["text"]) for c in parsed.sections[3]["children"]][::4] == [
        ("a.", "The registrar keeps the register."), ("e.", "Auditors review the register yearly.")]


def test_russian_numbered_headings_and_cyrillic_letters_nest_by_their_depth() -> None:
    parsed = parse_policy_text(RUSSIAN)
    assert tree(parsed.sections) == [
        ("heading", "1.", "Общие положения", [
            ("item", "1.1.", "Настоящая политика определяет цели университета.", []),
            ("item", "1.2.", "Политика распространяется на:", [
                ("item", "а)", "студентов;", []), ("item", "б)", "преподавателей;", []),
                ("item", "в)", "сотрудников.", [])]),
        ]),
        ("heading", "2.", "Цели", [
            ("item", "2.1.", "Университет обеспечивает:", [
                ("item", "а)", "качество обучения;", []), ("item", "б)", "развитие науки.", [])]),
            ("item", "2.2.", "Цели пересматриваются ежегодно.", []),
        ]),
    ]
    summary = parsed.summary
    assert (summary.headings, summary.items, summary.paragraphs, summary.max_depth) == (2, 9, 0, 3)


def test_a_list_restarting_at_one_nests_under_its_numbered_group() -> None:
    parsed = parse_policy_text(ENGLISH)
    assert [(s["kind"], s["label"], s["title"], len(s["children"])) for s in parsed.sections] == [
        ("heading", "1.", "General provisions", 2), ("heading", "2.", "Aims", 2), ("heading", "3.", "Review", 1)]
    assert [c["label"] for c in parsed.sections[1]["children"]] == ["1.", "2."]
    assert [c["label"] for c in parsed.sections[0]["children"][1]["children"]] == ["a)", "b)"]


@pytest.mark.parametrize("text", [NO_TITLE, HEADING_AFTER_LIST, RUSSIAN, ENGLISH])
def test_no_word_of_these_policies_is_lost(text: str) -> None:
    parsed = parse_policy_text(text)
    check_no_word_lost(text, parsed.title, parsed.sections, "policy.txt")


# The self-check.

def test_the_self_check_names_the_first_words_a_parse_lost() -> None:
    parsed = parse_policy_text(RUSSIAN)
    del parsed.sections[0]["children"][1]  # a parse that dropped 1.2 and its list
    with pytest.raises(InvalidInput) as refused:
        check_no_word_lost(RUSSIAN, parsed.title, parsed.sections, "policy.txt")
    assert "policy.txt: the import would lose text, from the words: 1 2 Политика распространяется на а студентов" \
        in refused.value.message
    assert refused.value.field == "file"


def test_the_self_check_refuses_a_word_that_is_not_in_the_source() -> None:
    parsed = parse_policy_text(ENGLISH)
    parsed.sections[2]["children"][0]["text"] = "The policy is reviewed every other year."
    mismatch = compare(words(ENGLISH), result_words(parsed.title, parsed.sections))
    assert mismatch is not None and mismatch.added == "other"


def test_the_self_check_lets_labels_that_the_source_does_not_hold_through() -> None:
    sections = [{"kind": "item", "label": "1.", "title": None, "text": "Бир сөз.", "children": []}]
    assert compare(words("Саясат Бир сөз."), result_words("Саясат", sections)) is None
    assert compare(words("Саясат 1. Бир сөз."), result_words("Саясат", sections)) is None


def test_the_seed_loses_no_word() -> None:
    text = SEED_POLICY.read_text(encoding="utf-8")
    parsed = parse_policy_text(text)
    assert compare(words(text), result_words(parsed.title, parsed.sections)) is None


# Languages.

@pytest.mark.parametrize(("text", "language"), [
    (SEED_POLICY.read_text(encoding="utf-8"), "ky"),
    (RUSSIAN, "ru"),
    (ENGLISH, "en"),
    (NO_TITLE, "en"),
    ("Die Richtlinie gilt für alle Mitarbeiter und Studierenden der Universität.", "de"),
    ("Бұл саясат университеттің барлық қызметкерлеріне қолданылады.", "kk"),
    ("تنطبق هذه السياسة على جميع الموظفين والطلاب", "ar"),
])
def test_the_language_is_told_from_the_text(text: str, language: str) -> None:
    assert detect_language(text) == language
