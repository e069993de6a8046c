"""The diff algorithm on its own: word-level segments that rebuild both sides, and section-level changes."""
from __future__ import annotations

from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from service.content import diffing
from service.content.diffing import WHOLE_ABOVE, compared_whole, diff_documents, diff_words, side, tokens
from service.web.redline import redline

KYRGYZ = st.text(alphabet="абвгдеёжзийклмнңоөпрстуүфхцчшщъыьэюя ҮӨҢ.,;:-–«»\n\t 0123456789", max_size=80)


def section(sid: str, text: str = "", *, kind: str = "item", label: str | None = "•", title: str | None = None,
            children: list | None = None) -> dict:
    return {"id": sid, "kind": kind, "label": label, "title": title, "text": text, "children": children or []}


def test_tokens_keep_every_character_including_kyrgyz_letters_and_white_space():
    text = "илимий-педагогикалык  кадрларды\nдаярдоо; өнүгүү, ң"
    assert "".join(tokens(text)) == text
    assert "илимий" in tokens(text) and "өнүгүү" in tokens(text) and "ң" in tokens(text)


def test_an_inserted_kyrgyz_word_is_one_insert_between_equal_runs():
    segments = diff_words("билим берүүнүн сапатын камсыздоо;", "билим берүүнүн сапатын кепилдөөнү камсыздоо;")
    assert segments == [
        {"op": "equal", "text": "билим берүүнүн сапатын "},
        {"op": "insert", "text": "кепилдөөнү "},
        {"op": "equal", "text": "камсыздоо;"},
    ]


def test_a_replaced_word_is_a_delete_then_an_insert():
    segments = diff_words("сапатын камсыздоо;", "сапатын кепилдөө;")
    assert segments == [{"op": "equal", "text": "сапатын "}, {"op": "delete", "text": "камсыздоо"},
                        {"op": "insert", "text": "кепилдөө"}, {"op": "equal", "text": ";"}]


def test_spaces_between_changed_words_do_not_split_the_change():
    assert diff_words("бир эки үч", "төрт беш алты") == [
        {"op": "delete", "text": "бир эки үч"}, {"op": "insert", "text": "төрт беш алты"}]


def test_identical_texts_are_one_equal_segment_and_empty_texts_no_segment():
    assert diff_words("өзгөрүүсүз", "өзгөрүүсүз") == [{"op": "equal", "text": "өзгөрүүсүз"}]
    assert diff_words("", "") == []
    assert diff_words("", "жаңы") == [{"op": "insert", "text": "жаңы"}]


@given(KYRGYZ, KYRGYZ)
def test_joining_one_side_of_any_diff_gives_that_text_exactly(old, new):
    segments = diff_words(old, new)
    assert side(segments, "old") == old
    assert side(segments, "new") == new
    assert all(s["text"] for s in segments)
    assert all(a["op"] != b["op"] for a, b in pairwise(segments))  # runs are merged


OLD = [
    section("m", kind="heading", label=None, title="Миссия:", children=[
        section("a", "билим берүү;"), section("b", "илим;"), section("c", "маданият.")]),
    section("p", "Саясат бардык деңгээлдерде жүзөгө ашырылат.", kind="paragraph", label=None),
    section("gone", "Эски жобо.", kind="paragraph", label=None, children=[section("gone-child", "бала")]),
]


def test_identical_documents_have_no_changes():
    assert diff_documents("Саясат", OLD, "Саясат", OLD) == {
        "title": None, "added": [], "removed": [], "moved": [], "amended": []}


def test_added_and_removed_sections_are_listed_with_their_place_and_subtree():
    new = [OLD[0], OLD[1], section("n", "Жаңы жобо.", kind="paragraph", label=None)]
    diff = diff_documents("Саясат", OLD, "Саясат", new)
    assert diff["added"] == [{"section_id": "n", "parent_id": None, "after_id": "p", "kind": "paragraph",
                              "label": None, "title": None, "text": "Жаңы жобо."}]
    assert [r["section_id"] for r in diff["removed"]] == ["gone", "gone-child"]
    assert diff["removed"][1]["parent_id"] == "gone"
    assert diff["moved"] == [] and diff["amended"] == []


def test_a_section_jumping_over_its_siblings_is_the_only_one_moved():
    mission = section("m", kind="heading", label=None, title="Миссия:", children=[
        section("b", "илим;"), section("c", "маданият."), section("a", "билим берүү;")])
    diff = diff_documents("Саясат", OLD, "Саясат", [mission, OLD[1], OLD[2]])
    assert diff["moved"] == [{"section_id": "a", "from": {"parent_id": "m", "after_id": None},
                              "to": {"parent_id": "m", "after_id": "c"}}]


def test_a_section_under_a_new_parent_is_moved_and_an_insert_before_it_is_not_a_move():
    mission = section("m", kind="heading", label=None, title="Миссия:", children=[
        section("x", "жаңы;"), section("a", "билим берүү;"), section("b", "илим;")])
    paragraph = section("p", "Саясат бардык деңгээлдерде жүзөгө ашырылат.", kind="paragraph", label=None,
                        children=[section("c", "маданият.")])
    diff = diff_documents("Саясат", OLD, "Саясат", [mission, paragraph, OLD[2]])
    assert [m["section_id"] for m in diff["moved"]] == ["c"]
    assert diff["moved"][0]["to"] == {"parent_id": "p", "after_id": None}
    assert [a["section_id"] for a in diff["added"]] == ["x"]


def test_an_amended_section_carries_a_word_diff_and_names_what_changed():
    mission = section("m", kind="heading", label=None, title="ОшМУнун миссиясы:", children=[
        section("a", "сапаттуу билим берүү;", label="1."), OLD[0]["children"][1], OLD[0]["children"][2]])
    diff = diff_documents("Саясат", OLD, "Саясат", [mission, OLD[1], OLD[2]])
    by_id = {a["section_id"]: a for a in diff["amended"]}
    assert set(by_id) == {"m", "a"}
    assert by_id["a"]["changed"] == ["text", "label"]
    assert by_id["a"]["label"] == {"from": "•", "to": "1."}
    assert side(by_id["a"]["text"], "new") == "сапаттуу билим берүү;"
    assert {"op": "insert", "text": "сапаттуу "} in by_id["a"]["text"]
    assert by_id["m"]["changed"] == ["title"]
    title = by_id["m"]["title"]
    assert (title["from"], title["to"]) == ("Миссия:", "ОшМУнун миссиясы:")
    assert side(title["segments"], "old") == "Миссия:" and side(title["segments"], "new") == "ОшМУнун миссиясы:"
    assert by_id["m"]["text"] == []  # a heading without text: nothing to compare


def test_a_changed_document_title_is_reported_with_its_own_word_diff():
    diff = diff_documents("Билим берүүнүн сапаты саясаты", OLD, "ОшМУнун билим берүүнүн сапаты саясаты", OLD)
    assert diff["title"]["from"] == "Билим берүүнүн сапаты саясаты"
    assert diff["title"]["to"] == "ОшМУнун билим берүүнүн сапаты саясаты"
    assert diff["title"]["segments"][0]["op"] == "delete"
    assert side(diff["title"]["segments"], "old") == "Билим берүүнүн сапаты саясаты"


def test_a_diff_backwards_swaps_added_and_removed():
    new = [OLD[0], OLD[1]]
    forward = diff_documents("Саясат", OLD, "Саясат", new)
    backward = diff_documents("Саясат", new, "Саясат", OLD)
    assert [r["section_id"] for r in forward["removed"]] == [a["section_id"] for a in backward["added"]]


# ---- the word diff's work is bounded -------------------------------------------------------------

REPEATING = st.text(alphabet="аө ң.", max_size=400)


@given(REPEATING, REPEATING)
def test_texts_that_repeat_a_few_tokens_still_diff_into_both_sides_exactly(old, new):
    segments = diff_words(old, new)
    assert side(segments, "old") == old and side(segments, "new") == new
    assert all(a["op"] != b["op"] for a, b in pairwise(segments))


def _long_text(size: int) -> str:
    """Kyrgyz prose of about `size` characters that repeats itself, as long policies do."""
    words = ["билим", "берүүнүн", "сапатын", "камсыздоо", "илимий-педагогикалык", "кадрларды", "даярдоо", "ң"]
    numbered = (f"{index}. {words[index % len(words)]} {words[(index * 7) % len(words)]};" for index in range(size))
    return " ".join(numbered)[:size]


def test_a_100000_character_text_amended_at_both_ends_keeps_its_middle_equal():
    old = _long_text(100_000)
    new = "Жаңы башы. " + old[40:-40] + " Жаңы аягы."
    segments = diff_words(old, new)
    assert side(segments, "old") == old and side(segments, "new") == new
    equal = [s for s in segments if s["op"] == "equal"]
    assert max(len(s["text"]) for s in equal) > 99_800  # the untouched middle is one equal run
    assert not compared_whole(old, new)


def test_a_text_repeating_one_word_against_another_is_one_change():
    old, new = "өнүгүү " * 30_000, "ң " * 30_000
    assert diff_words(old, new) == [{"op": "delete", "text": old[:-1]}, {"op": "insert", "text": new[:-1]},
                                    {"op": "equal", "text": " "}]


def test_a_text_longer_than_the_bound_is_compared_whole_and_says_so():
    old = "а " * (WHOLE_ABOVE // 2) + "б"
    new = old[:-1] + "в"
    assert compared_whole(old, new)
    assert diff_words(old, new) == [{"op": "delete", "text": old}, {"op": "insert", "text": new}]
    diff = diff_documents("Саясат", [section("a", old)], "Саясат", [section("a", new)])
    assert diff["amended"][0]["compared"] == "whole"
    assert diff["amended"][0]["text"] == [{"op": "delete", "text": old}, {"op": "insert", "text": new}]


def test_a_document_diff_compares_word_by_word_up_to_its_budget_then_whole(monkeypatch):
    monkeypatch.setattr(diffing, "WORDS_PER_DIFF", 60)  # two sections of 29 characters a side pair
    old = [section(f"s{n}", f"биринчи {n} текст") for n in range(5)]
    new = [section(f"s{n}", f"экинчи {n} текст") for n in range(5)]
    amended = diff_documents("Саясат", old, "Саясат", new)["amended"]
    assert [a["compared"] for a in amended] == ["words", "words", "whole", "whole", "whole"]
    assert amended[0]["text"][0] == {"op": "delete", "text": "биринчи"}
    assert amended[4]["text"] == [{"op": "delete", "text": "биринчи 4 текст"},
                                  {"op": "insert", "text": "экинчи 4 текст"}]
    unchanged_text = diff_documents("Саясат", old, "Саясат", [section("s0", "биринчи 0 текст", label="1.")])
    assert unchanged_text["amended"][0]["compared"] == "words"


def test_the_redline_marks_a_section_compared_whole():
    old = "а " * (WHOLE_ABOVE // 2) + "б"
    doc = {"title": "Саясат", "sections": [section("a", old), section("b", "өзгөргөн")]}
    changed = {"title": "Саясат", "sections": [section("a", old + "в"), section("b", "өзгөрдү")]}
    nodes = {n.section["id"]: n for n in redline(doc, changed).nodes}
    assert nodes["a"].whole and nodes["a"].change == "amended"
    assert not nodes["b"].whole and nodes["b"].segments


def test_in_a_long_text_of_sentences_a_changed_word_is_the_only_change():
    old = _long_text(60_000)
    cut = old.index("сапатын", 30_000)
    new = old[:cut] + "сапаттуу" + old[cut + len("сапатын"):]
    segments = diff_words(old, new)
    assert [s for s in segments if s["op"] != "equal"] == [{"op": "delete", "text": "сапатын"},
                                                           {"op": "insert", "text": "сапаттуу"}]
    assert [s["op"] for s in segments] == ["equal", "delete", "insert", "equal"]  # equal runs joined across sentences


def test_a_sentence_split_in_two_by_a_new_full_stop_is_one_small_change():
    old = "Биринчи сүйлөм. Университет сапатты камсыздайт жана өнүктүрөт. Акыркы сүйлөм."
    new = "Биринчи сүйлөм. Университет сапатты камсыздайт. Жана өнүктүрөт. Акыркы сүйлөм."
    segments = diff_words(old, new)
    assert side(segments, "old") == old and side(segments, "new") == new
    changed = "".join(s["text"] for s in segments if s["op"] != "equal")
    assert len(changed) <= len(" жана. Жана")


@given(st.lists(st.integers(0, 2), max_size=12), st.lists(st.integers(0, 2), max_size=12), st.data())
def test_the_equal_run_at_either_end_of_two_ranges_is_found_whole(a, b, data):
    alo, blo = data.draw(st.integers(0, len(a))), data.draw(st.integers(0, len(b)))
    ahi, bhi = data.draw(st.integers(alo, len(a))), data.draw(st.integers(blo, len(b)))
    head = 0
    while alo + head < ahi and blo + head < bhi and a[alo + head] == b[blo + head]:
        head += 1
    tail = 0
    while ahi - tail > alo and bhi - tail > blo and a[ahi - tail - 1] == b[bhi - tail - 1]:
        tail += 1
    assert diffing._common(a, alo, ahi, b, blo, bhi) == head
    assert diffing._common(a, alo, ahi, b, blo, bhi, at_end=True) == tail
