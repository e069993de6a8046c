"""Parsing real policy text (PDF-extracted or Markdown) into sections, and rendering it back."""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.content.textformat import ParsedPolicy, parse_policy_text, render_md, render_txt
from tests.support import SEED_POLICY

KYRGYZ_LETTERS = "үөңҮӨҢ"
FUZZ = settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def seed_text() -> str:
    return SEED_POLICY.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def seed(seed_text: str) -> ParsedPolicy:
    return parse_policy_text(seed_text)


def section(kind: str, text: str = "", *, label: str | None = None, title: str | None = None,
            children: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"kind": kind, "label": label, "title": title, "text": text, "children": children or []}


def walk(sections: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [s for top in sections for s in [top, *walk(top["children"])]]


def visible(*texts: str | None) -> str:
    return "".join(ch for text in texts if text for ch in text if not ch.isspace())


def visible_content(parsed: ParsedPolicy) -> str:
    return visible(parsed.title, *(part for s in walk(parsed.sections) for part in (s["label"], s["title"], s["text"])))


def shape(sections: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None, int]]:
    return [(s["kind"], s["label"], s["title"], len(s["children"])) for s in sections]


# The seed policy, as extracted from its PDF.

def test_seed_policy_title_is_its_first_line(seed: ParsedPolicy) -> None:
    assert seed.title == "Ош мамлекеттик университетинин билим берүүнүн сапаты областындагы саясаты"


def test_seed_policy_has_the_fifteen_top_level_sections_in_order(seed: ParsedPolicy) -> None:
    roman = ["I.", "II.", "III.", "IV.", "V.", "VI.", "VII."]
    assert shape(seed.sections) == [
        ("heading", None, "ОшМУнун миссиясы:", 4),
        ("paragraph", None, None, 0),
        ("paragraph", None, None, 0),
        ("heading", None, "Баалуулуктары:", 7),
        ("paragraph", None, None, 0),
        *[("item", label, None, 0) for label in roman],
        ("heading", None, "Негизги жоболор:", 11),
        ("paragraph", None, None, 0),
        ("paragraph", None, None, 0),
    ]
    paragraphs = [s["text"] for s in seed.sections if s["kind"] == "paragraph"]
    starts = [
        "Университеттин келечекке карай максаты", "Стратегиялык максат", "2019-2024-жылдары",
        "ОшМУнун билим сапаты областында саясаты ар дайым талдоого алынат",
        "Саясат бардык деңгээлдерде жүзөгө ашырылат",
    ]
    assert [text.startswith(start) for text, start in zip(paragraphs, starts, strict=True)] == [True] * 5


def test_lead_in_headings_have_no_text_and_only_bullet_items_below(seed: ParsedPolicy) -> None:
    headings = [s for s in seed.sections if s["kind"] == "heading"]
    assert [h["text"] for h in headings] == ["", "", ""]
    assert {(c["kind"], c["label"], len(c["children"])) for h in headings for c in h["children"]} == {("item", "•", 0)}


def test_first_mission_item_is_joined_exactly(seed: ParsedPolicy) -> None:
    assert seed.sections[0]["children"][0]["text"] == (
        "Компетенттүүлүк мамиле менен заманбап билим берүү процессинде сапаттын кепилдигин камсыздоо;"
    )


def test_symbol_font_bullet_becomes_a_bullet_label_and_never_text(seed_text: str, seed: ParsedPolicy) -> None:
    assert "\uf0b7" in seed_text
    mission = seed.sections[0]["children"]
    assert [item["label"] for item in mission] == ["•"] * 4
    assert not any("\uf0b7" in s["text"] or s["text"].startswith("•") for s in walk(seed.sections))


def test_spaced_dash_keeps_its_space(seed: ParsedPolicy) -> None:
    assert "классикалык университеттен - дүйнөлүк деңгээлдеги" in seed.sections[1]["text"]


def test_strategic_goal_joins_its_three_lines(seed: ParsedPolicy) -> None:
    assert seed.sections[2]["text"] == (
        "Стратегиялык максат – Дүйнөнүн алдыңкы ТОП-700 изилдөөчү университеттеринин катарына кирүү. "
        "ОшМУну Борбор Азиядагы эң алдыңкы 3 университеттердин бирине айландыруу."
    )


def test_last_value_is_the_wrapped_classical_item(seed: ParsedPolicy) -> None:
    assert seed.sections[3]["children"][-1]["text"] == (
        "КЛАССИКАЛЫК БИЛИМ + ИЛИМ жана ИННОВАЦИЯ + РУХАНИЙ МАДАНИЯТТЫ айкалыштырган университетти өркүндөтүү."
    )


def test_paragraph_after_the_values_list_goes_back_to_top_level(seed: ParsedPolicy) -> None:
    assert seed.sections[4] == section(
        "paragraph",
        "2019-2024-жылдары ОшМУнун өнүгүү концепциясына ылайык, сапат жаатындагы стратегиялык багыттар жана "
        "негизги жоболор аныкталды.",
    )


def test_fourth_strategic_direction_keeps_the_original_typo(seed: ParsedPolicy) -> None:
    assert seed.sections[8] == section(
        "item", "СТРАТЕГИЯЛЫК БАГЫТ – ОшМУну эл аралык билим берүүнүн жана илимдин болборуна айландыруу.", label="IV."
    )


def test_first_key_provision_rejoins_hyphenated_compounds(seed: ParsedPolicy) -> None:
    assert seed.sections[12]["children"][0]["text"] == (
        "билим берүү ишмердүүлүгүнүн мамлекеттик билим берүү стандарттарына шайкештигин, коомдун квалификациялуу "
        "адистерге жана жогорку квалификациялуу илимий-педагогикалык кадрларга өсүп жаткан муктаждыктарын жана "
        "студенттердин интеллектуалдык, маданий, руханий жана адеп-ахлактык өнүгүүгө болгон муктаждыктарын "
        "камсыз кылуу;"
    )


def test_bullet_with_a_space_after_it_is_an_item_too(seed: ParsedPolicy) -> None:
    assert seed.sections[12]["children"][4]["text"] == (
        "билим берүү процессин илим менен интеграциялоо, илимий мекемелер, ишканалар жана уюмдар менен "
        "байланышты чыңдоо;"
    )


def test_last_paragraph_is_joined_exactly(seed: ParsedPolicy) -> None:
    assert seed.sections[-1]["text"] == (
        "Саясат бардык деңгээлдерде жүзөгө ашырылат, зарылдык келип чыккан учурда талдоого алынышы, кайра "
        "каралышы мүмкүн. Университеттин ар бир кызматкери өзүнүн компетенциясынын чегинде иштин сапаты үчүн "
        "жеке жоопкерчилик тартат."
    )


def test_seed_summary_counts_what_was_found(seed: ParsedPolicy) -> None:
    summary = seed.summary
    assert (summary.format, summary.headings, summary.paragraphs, summary.items) == ("text", 3, 5, 29)
    assert (summary.max_depth, summary.unclassified) == (2, ())


def test_no_letter_or_punctuation_mark_of_the_seed_is_changed(seed_text: str, seed: ParsedPolicy) -> None:
    assert visible_content(seed) == visible(seed_text.replace("\uf0b7", "•"))


def test_no_kyrgyz_letter_is_altered_anywhere(seed_text: str, seed: ParsedPolicy) -> None:
    outputs = [visible_content(seed), render_txt(seed.document()), render_md(seed.document())]
    for letter in KYRGYZ_LETTERS:
        assert [output.count(letter) for output in outputs] == [seed_text.count(letter)] * 3, letter


def test_windows_line_endings_parse_like_unix_ones(seed_text: str, seed: ParsedPolicy) -> None:
    assert parse_policy_text(seed_text.replace("\n", "\r\n")) == seed
    assert parse_policy_text(seed_text.replace("\n", "\r")) == seed


# Round trips.

def test_seed_round_trips_through_plain_text(seed: ParsedPolicy) -> None:
    assert parse_policy_text(render_txt(seed.document())).document() == seed.document()


def test_seed_round_trips_through_markdown(seed: ParsedPolicy) -> None:
    again = parse_policy_text(render_md(seed.document()))
    assert (again.summary.format, again.document()) == ("markdown", seed.document())


def test_renderers_ignore_section_ids(seed: ParsedPolicy) -> None:
    with_ids = {"title": seed.title, "sections": [{**s, "id": f"s{n}"} for n, s in enumerate(seed.sections)]}
    assert render_txt(with_ids) == render_txt(seed.document())
    assert render_md(with_ids) == render_md(seed.document())


def test_plain_text_rendering_puts_one_block_on_a_line() -> None:
    document = {"title": "Саясат", "sections": [
        section("heading", title="Баалуулуктары:", children=[section("item", "бир;", label="•")]),
        section("item", "эки.", label="I."),
        section("paragraph", "Үч."),
    ]}
    assert render_txt(document) == "Саясат\n\nБаалуулуктары:\n\n• бир;\n\nI. эки.\n\nҮч.\n"


def test_markdown_rendering_uses_headings_lists_and_indentation() -> None:
    document = {"title": "Саясат", "sections": [
        section("heading", title="Жалпы", label="1.", children=[
            section("item", "бир;", label="•", children=[section("item", "бөлүк.", label="a)")]),
        ]),
        section("heading", title="Баалуулуктары:", children=[section("item", "эки.", label="•")]),
    ]}
    assert render_md(document) == (
        "# Саясат\n\n## 1. Жалпы\n\n- бир;\n\n  a) бөлүк.\n\nБаалуулуктары:\n\n- эки.\n"
    )


# The plain-text heuristic on small inputs.

def test_wrapped_line_continues_until_the_sentence_ends() -> None:
    parsed = parse_policy_text("Саясат\n\nБиринчи сүйлөм\n\nулантылат.\n\nЭкинчи сүйлөм.\n")
    assert [s["text"] for s in parsed.sections] == ["Биринчи сүйлөм улантылат.", "Экинчи сүйлөм."]


def test_lead_in_line_interrupts_an_unfinished_paragraph() -> None:
    parsed = parse_policy_text("Саясат\nАяктабаган сүйлөм\nБаалуулуктары:\n• бир;\n")
    assert shape(parsed.sections) == [("paragraph", None, None, 0), ("heading", None, "Баалуулуктары:", 1)]


def test_lowercase_line_ending_in_a_colon_continues_a_wrapped_lead_in() -> None:
    parsed = parse_policy_text("Саясат\nУниверситет төмөнкүлөрдү\nкамсыз кылат:\n• бир;\n• эки.\n")
    assert shape(parsed.sections) == [("heading", None, "Университет төмөнкүлөрдү камсыз кылат:", 2)]


def test_dash_at_line_start_continues_an_unfinished_sentence() -> None:
    parsed = parse_policy_text("Саясат\nклассикалык университеттен\n- дүйнөлүк университетке.\n")
    assert parsed.sections == [section("paragraph", "классикалык университеттен - дүйнөлүк университетке.")]


def test_dash_lines_are_items_after_a_finished_sentence() -> None:
    parsed = parse_policy_text("Саясат\nМаксаттар:\n- бир\n- эки\n– үч;\n* төрт.\n")
    assert [(c["label"], c["text"]) for c in parsed.sections[0]["children"]] == [
        ("•", "бир"), ("•", "эки"), ("•", "үч;"), ("•", "төрт."),
    ]


def test_numbered_and_lettered_items_keep_their_labels() -> None:
    parsed = parse_policy_text("Саясат\n1. бир;\n2) эки;\nа) үч;\nb) four.\nXII. он эки.\n")
    assert [(s["kind"], s["label"], s["text"]) for s in parsed.sections] == [
        ("item", "1.", "бир;"), ("item", "2)", "эки;"), ("item", "а)", "үч;"),
        ("item", "b)", "four."), ("item", "XII.", "он эки."),
    ]


def test_decimal_numbering_nests_sub_items_under_their_item() -> None:
    parsed = parse_policy_text("Саясат\n1. Жалпы;\n1.1. бир;\n1.2 эки;\n1.2.1. үч;\n2. Башка.\n")
    assert parsed.sections == [
        section("item", "Жалпы;", label="1.", children=[
            section("item", "бир;", label="1.1."),
            section("item", "эки;", label="1.2", children=[section("item", "үч;", label="1.2.1.")]),
        ]),
        section("item", "Башка.", label="2."),
    ]
    assert parsed.summary.max_depth == 3


def test_bare_number_at_line_start_is_not_a_label() -> None:
    parsed = parse_policy_text("Саясат\nэң алдыңкы\n3 университеттердин бирине.\n2019-2024-жылдары аныкталды.\n")
    assert [s["text"] for s in parsed.sections] == [
        "эң алдыңкы 3 университеттердин бирине.", "2019-2024-жылдары аныкталды.",
    ]


def test_unclassifiable_line_becomes_a_paragraph_and_is_reported() -> None:
    parsed = parse_policy_text("Саясат\n\nБиринчи.\n\n§ 5 ¤¤ ###\n\nулантуу.\n\nкичине тамга менен\n")
    assert parsed.sections == [
        section("paragraph", "Биринчи."), section("paragraph", "§ 5 ¤¤ ### улантуу."),
        section("paragraph", "кичине тамга менен"),
    ]
    assert parsed.summary.unclassified == (5, 9)


def test_lone_marker_is_kept_as_a_paragraph_rather_than_an_empty_item() -> None:
    parsed = parse_policy_text("Саясат\nБиринчи.\n\uf0b7\n")
    assert parsed.sections[-1] == section("paragraph", "\uf0b7")
    assert parsed.summary.unclassified == (3,)


def test_empty_input_gives_an_empty_document() -> None:
    for text in ("", "  \n\n \t\r\n", "\ufeff"):
        parsed = parse_policy_text(text)
        assert (parsed.title, parsed.sections, parsed.summary.max_depth) == ("", [], 0)


def test_byte_order_mark_is_not_part_of_the_title() -> None:
    assert parse_policy_text("\ufeffСаясат\nТекст.\n").title == "Саясат"


# Markdown.

MARKDOWN = """\
# Сапат саясаты

Киришүү абзацы
эки сапта.

## 1. Жалпы жоболор

- биринчи пункт;
* экинчи пункт
  улантылат;
  - ички пункт.

### Максаттар

1. бир;
2. эки.

## Баалуулуктар ##

Негизги жоболор:

a) биринчи;
b) экинчи.

Жыйынтык абзац.
"""


def test_markdown_is_detected_by_its_heading_lines() -> None:
    parsed = parse_policy_text(MARKDOWN)
    assert (parsed.title, parsed.summary.format) == ("Сапат саясаты", "markdown")


def test_markdown_headings_nest_by_level_and_own_what_follows() -> None:
    parsed = parse_policy_text(MARKDOWN)
    assert shape(parsed.sections) == [
        ("paragraph", None, None, 0), ("heading", "1.", "Жалпы жоболор", 3), ("heading", None, "Баалуулуктар", 2),
    ]
    general, values = parsed.sections[1], parsed.sections[2]
    assert shape(general["children"]) == [
        ("item", "•", None, 0), ("item", "•", None, 1), ("heading", None, "Максаттар", 2),
    ]
    assert shape(values["children"]) == [("heading", None, "Негизги жоболор:", 2), ("paragraph", None, None, 0)]


def test_markdown_paragraph_lines_join_and_list_items_take_lazy_lines() -> None:
    parsed = parse_policy_text(MARKDOWN)
    assert parsed.sections[0]["text"] == "Киришүү абзацы эки сапта."
    second = parsed.sections[1]["children"][1]
    assert second["text"] == "экинчи пункт улантылат;"
    assert second["children"] == [section("item", "ички пункт.", label="•")]


def test_markdown_numbered_and_lettered_lists_keep_their_labels() -> None:
    parsed = parse_policy_text(MARKDOWN)
    numbered = parsed.sections[1]["children"][2]["children"]
    lettered = parsed.sections[2]["children"][0]["children"]
    assert [(s["label"], s["text"]) for s in numbered + lettered] == [
        ("1.", "бир;"), ("2.", "эки."), ("a)", "биринчи;"), ("b)", "экинчи."),
    ]
    assert parse_policy_text(MARKDOWN).summary.unclassified == ()


# Properties: generated documents of realistic shape survive both renderers.

KYRGYZ = "абвгдеёжзийклмнңоөпрстуүфхцчшщъыьэюя"
words = st.text(alphabet=KYRGYZ + KYRGYZ.upper() + string.ascii_letters, min_size=1, max_size=10)
tokens = st.one_of(
    words, words.map(lambda word: word + ","), st.builds("{}-{}".format, words, words),
    st.integers(0, 2030).map(str), st.sampled_from(["–", "+"]),
)


def sentences(stops: str) -> st.SearchStrategy[str]:
    # A word first and at least two tokens, so that no text starts like a label ("IV." or "12.").
    return st.builds(lambda first, rest, stop: " ".join([first, *rest]) + stop,
                     words, st.lists(tokens, min_size=1, max_size=8), st.sampled_from(stops))


texts = sentences(".;!?")
titles = st.lists(words, min_size=1, max_size=5).map(" ".join)
top_labels = st.sampled_from(["•", "I.", "II.", "IV.", "XII.", "1.", "2.", "12.", "3)", "a)", "б)", "ң)"])


@st.composite
def items(draw: st.DrawFn, label: str, depth: int, markdown: bool) -> dict[str, Any]:
    children: list[dict[str, Any]] = []
    if depth < 2 and (markdown or (label.endswith(".") and label[0].isdigit())):
        # Plain text carries nesting only by decimal labels; Markdown carries it by indentation.
        labels = top_labels if markdown else st.sampled_from([f"{label}{n}." for n in range(1, 10)])
        for child_label in draw(st.lists(labels, max_size=3)):
            children.append(draw(items(child_label, depth + 1, markdown)))
    return section("item", draw(texts), label=label, children=children)


@st.composite
def flat_sections(draw: st.DrawFn, markdown: bool) -> list[dict[str, Any]]:
    sections: list[dict[str, Any]] = []
    for kind in draw(st.lists(st.sampled_from(["paragraph", "item", "lead-in"]), max_size=8)):
        if kind == "item" and sections and sections[-1]["kind"] == "heading":
            kind = "paragraph"  # an item right after a lead-in belongs to its list
        if kind == "paragraph":
            sections.append(section("paragraph", draw(texts)))
        elif kind == "item":
            sections.append(draw(items(draw(top_labels), 0, markdown)))
        else:
            children = [draw(items(label, 0, markdown)) for label in draw(st.lists(top_labels, max_size=4))]
            sections.append(section("heading", title=draw(sentences(":")), children=children))
    return sections


@st.composite
def markdown_sections(draw: st.DrawFn, depth: int = 0) -> list[dict[str, Any]]:
    sections = draw(flat_sections(markdown=True))
    for _ in range(draw(st.integers(0, 2 if depth < 3 else 0))):
        label = draw(st.sampled_from([None, "1.", "2.1.", "IV."]))
        children = draw(markdown_sections(depth + 1))
        sections.append(section("heading", title=draw(titles), label=label, children=children))
    return sections


def documents(body: st.SearchStrategy[list[dict[str, Any]]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(lambda title, sections: {"title": title, "sections": sections}, titles, body)


@FUZZ
@given(documents(flat_sections(markdown=False)))
def test_generated_documents_round_trip_through_plain_text(document: dict[str, Any]) -> None:
    assert parse_policy_text(render_txt(document)).document() == document


@FUZZ
@given(documents(flat_sections(markdown=False)) | documents(markdown_sections()))
def test_generated_documents_round_trip_through_markdown(document: dict[str, Any]) -> None:
    assert parse_policy_text(render_md(document)).document() == document


# Properties: any input parses, and plain text loses no visible character.

def assert_well_formed(parsed: ParsedPolicy) -> None:
    sections = walk(parsed.sections)
    for s in sections:
        assert set(s) == {"kind", "label", "title", "text", "children"}
        assert s["kind"] in {"heading", "paragraph", "item"}
        assert (s["text"] or s["title"] or "").strip()
        assert not any("\n" in (part or "") for part in (s["label"], s["title"], s["text"]))
    kinds = [s["kind"] for s in sections]
    summary = parsed.summary
    counts = (summary.headings, summary.paragraphs, summary.items)
    assert counts == (kinds.count("heading"), kinds.count("paragraph"), kinds.count("item"))


@FUZZ
@given(st.text() | st.text(alphabet="#-*+•\uf0b7–:.;)aIVX1 \t\r\nүөң"))
def test_arbitrary_text_never_fails(text: str) -> None:
    assert_well_formed(parse_policy_text(text))


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_characters="#-*+–\uf0b7\ufeff")))
def test_plain_text_keeps_every_visible_character_in_order(text: str) -> None:
    assert visible_content(parse_policy_text(text)) == visible(text)
