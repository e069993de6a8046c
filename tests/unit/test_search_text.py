"""How a search query is read and a snippet is cut: pure text rules, the same on every engine."""
from __future__ import annotations

import pytest

from projections.search import QueryError, Term, fold, parse, snippet, words


def test_folding_types_kyrgyz_and_kazakh_letters_as_a_russian_keyboard_does():
    assert fold("ӨНҮГҮҮ жаңы") == "онугуу жаны"
    assert fold("қоғамға ұлт әлем іс") == "когамга улт алем ис"
    assert fold("Prüfungsordnung Ёлка") == "prufungsordnung елка"


def test_words_are_runs_of_letters_digits_and_marks_in_any_script():
    assert words("Саясат—ачык; policy's 2024-жыл «تلتزم» Prüfung") == [
        "Саясат", "ачык", "policy", "s", "2024", "жыл", "تلتزم", "Prüfung"]


def test_a_query_is_words_and_phrases_in_quotes():
    query = parse('саясат "сапатын камсыздоо" «employers feedback»')
    assert query.terms == (Term(("саясат",), False), Term(("сапатын", "камсыздоо"), True),
                           Term(("employers", "feedback"), True))


def test_operators_and_punctuation_are_separators_and_repeated_words_count_once():
    assert parse("плагиат OR (плагиат*) NOT -x:y ^z").terms == tuple(
        Term((w,), False) for w in ("плагиат", "OR", "NOT", "x", "y", "z"))


def test_a_word_with_letters_folding_would_lose_matches_only_as_written():
    assert Term(("күн",), False).exact and not Term(("кун",), False).exact and not Term(("КУН",), False).exact


@pytest.mark.parametrize(("text", "problem"), [
    ("", "empty"), ("   ", "empty"), ('"саясат', "unbalanced"), ('a "b" "c', "unbalanced"),
    ("*** () --", "no words"), ("ж" * 201, "longer than 200"), (" ".join(f"w{n}" for n in range(17)), "more than 16"),
])
def test_a_query_that_cannot_be_searched_says_why(text, problem):
    with pytest.raises(QueryError, match=problem):
        parse(text)


def test_a_snippet_marks_prefixes_stems_and_folded_words_and_cuts_long_texts():
    assert snippet("Policies and the policy.", parse("policy")) == "<mark>Policies</mark> and the <mark>policy</mark>."
    assert snippet("Күн сайын", parse("кун")) == "<mark>Күн</mark> сайын"
    assert snippet("Кун сайын күн", parse("күн")) == "Кун сайын <mark>күн</mark>"
    long = " ".join(f"сөз{n}" for n in range(100)) + " саясаты " + " ".join(f"сөз{n}" for n in range(100))
    cut = snippet(long, parse("саясат"), size=8)
    assert cut.startswith("…") and cut.endswith("…") and "<mark>саясаты</mark>" in cut
    assert len(cut.split()) == 8
