"""The search read model on SQLite (FTS5) and PostgreSQL (tsvector, GIN): scripts, folding, stems, versions, rebuild."""
from __future__ import annotations

import pytest

from events.application import Ledger
from events.domain import commands as cmd
from events.domain.canonical import parse_time
from events.domain.rules import ApprovalRule
from projections import search
from projections.rebuild import rebuild, snapshot
from tests.support import FakeClock
from tests.support.lifecycle import ADMIN, AUTHOR, QA, RECTOR, run_lifecycle

NOW = "2030-01-01T00:00:00.000000Z"


def adopt(ledger: Ledger, clock: FakeClock, policy_id: str, title: str, language: str, texts: list[str],
          effective: str = "2020-01-01T00:00:00Z") -> list[str]:
    """Create a policy with one paragraph per text, adopted as version 1; return its section ids in order."""
    clock.set("2019-12-01T10:00:00+00:00")
    draft = ledger.handle(cmd.CreatePolicy(
        policy_id=policy_id, title=title, language=language, review_interval_days=365,
        approval_rule=ApprovalRule(approvals=2, roles=("approver",)),
        sections=cmd.section_drafts([{"kind": "paragraph", "label": f"{n}.", "text": text}
                                     for n, text in enumerate(texts, 1)])), AUTHOR).result["draft_revision_id"]
    ledger.handle(cmd.AdoptRevision(policy_id=policy_id, revision_id=draft, effective_from=parse_time(effective)),
                  ADMIN)
    return list(ledger.load(policy_id).document_at(1).children[None])


def publish(ledger: Ledger, clock: FakeClock, policy_id: str, changes: tuple, effective: str) -> None:
    """Open a revision with these changes, have it approved twice and publish it effective from a time."""
    clock.set("2021-01-01T10:00:00+00:00")
    rid = ledger.handle(cmd.OpenRevision(policy_id=policy_id, summary="Өзгөртүү"), AUTHOR).result["revision_id"]
    ledger.handle(cmd.ChangeRevision(policy_id=policy_id, revision_id=rid, changes=changes), AUTHOR)
    ledger.handle(cmd.SubmitRevision(policy_id=policy_id, revision_id=rid, reviewers=()), AUTHOR)
    ledger.handle(cmd.ApproveRevision(policy_id=policy_id, revision_id=rid, meaning="approved"), QA)
    ledger.handle(cmd.ApproveRevision(policy_id=policy_id, revision_id=rid, meaning="approved"), RECTOR)
    ledger.handle(cmd.PublishRevision(policy_id=policy_id, revision_id=rid, effective_from=parse_time(effective)),
                  RECTOR)


def find(store, text: str, every_version: bool = False, **filters) -> list[dict]:
    with store.engine.connect() as connection:
        return search.find(connection, search.parse(text), at=NOW, every_version=every_version, **filters)[0]


def hits(store, text: str, every_version: bool = False, **filters) -> list[tuple[str, str]]:
    return [(found["policy_id"], found["body"]) for found in find(store, text, every_version, **filters)]


@pytest.fixture
def library(ledger, clock):
    """Policies in Kyrgyz, Russian, Kazakh, Arabic, German and English."""
    adopt(ledger, clock, "ky", "Сапат саясаты", "ky", [
        "Университеттин саясаты ачык жарыяланат.",
        "Саясатын ар бир кызматкер билүүгө милдеттүү.",
        "Билим берүүнүн сапатын камсыздоо жана өнүктүрүү.",
        "Күн сайын сабактар жүрөт.",
        "Баланын кун төлөмү жок.",
    ])
    adopt(ledger, clock, "ru", "Политика качества", "ru", [
        "Политика университета в области качества образования.",
        "Плагиат в работах студентов недопустим.",
    ])
    adopt(ledger, clock, "kk", "Сапат саясаты", "kk", ["Университеттің саясаты қоғамға ашық."])
    adopt(ledger, clock, "ar", "سياسة الجودة", "ar", ["تلتزم الجامعة بسياسة الجودة في التعليم."])
    adopt(ledger, clock, "de", "Prüfungsordnung", "de", ["Die Prüfungsordnung gilt für alle Studierenden."])
    adopt(ledger, clock, "en", "Academic integrity", "en", [
        "Plagiarism is a breach of academic integrity.",
        "The policy takes account of employers' feedback.",
    ])


def test_a_stem_finds_its_inflected_forms_in_kyrgyz(store, library):
    found = hits(store, "саясат", policy_id="ky")
    assert {body for _, body in found} == {"Университеттин саясаты ачык жарыяланат.",
                                           "Саясатын ар бир кызматкер билүүгө милдеттүү."}


def test_case_does_not_matter_in_any_script(store, library):
    assert hits(store, "САЯСАТЫ", policy_id="ky") == hits(store, "саясаты", policy_id="ky") != []
    assert hits(store, "PLAGIARISM") == [("en", "Plagiarism is a breach of academic integrity.")]
    assert hits(store, "ПЛАГИАТ") == [("ru", "Плагиат в работах студентов недопустим.")]


def test_kyrgyz_letters_match_themselves_and_plain_letters_find_them_ranked_lower(store, library):
    assert hits(store, "күн") == [("ky", "Күн сайын сабактар жүрөт.")]
    # Typed without Kyrgyz letters: the word written so comes first, the one with ү after it.
    assert hits(store, "кун") == [("ky", "Баланын кун төлөмү жок."), ("ky", "Күн сайын сабактар жүрөт.")]
    assert [f["exact"] for f in find(store, "кун")] == [True, False]
    assert hits(store, "онуктуруу") == [("ky", "Билим берүүнүн сапатын камсыздоо жана өнүктүрүү.")]
    assert hits(store, "өнүктүрүү") == hits(store, "онуктуруу")


def test_kazakh_arabic_german_and_english_are_found_as_written(store, library):
    assert hits(store, "қоғамға") == [("kk", "Университеттің саясаты қоғамға ашық.")]
    assert hits(store, "бсиясة") == []
    assert hits(store, "الجودة") == [("ar", "تلتزم الجامعة بسياسة الجودة في التعليم.")]
    assert hits(store, "Prüfungsordnung") == [("de", "Die Prüfungsordnung gilt für alle Studierenden.")]
    assert hits(store, "prufungsordnung") == hits(store, "Prüfungsordnung")
    assert hits(store, "employers feedback") == [("en", "The policy takes account of employers' feedback.")]


def test_english_is_stemmed(store, library):
    assert hits(store, "plagiarisms", language="en") == [("en", "Plagiarism is a breach of academic integrity.")]
    assert hits(store, "policies", language="en") == [("en", "The policy takes account of employers' feedback.")]


def test_russian_is_stemmed_where_the_engine_has_a_russian_stemmer(store, library):
    policy = [("ru", "Политика университета в области качества образования.")]
    assert hits(store, "политик") == policy
    # PostgreSQL stems Russian; SQLite's FTS5 has no Russian stemmer, so there a word finds its forms by prefix only.
    assert hits(store, "политики") == (policy if store.engine.dialect.name == "postgresql" else [])


def test_a_phrase_in_quotes_matches_its_words_in_order(store, library):
    assert hits(store, '"сапатын камсыздоо"') == [("ky", "Билим берүүнүн сапатын камсыздоо жана өнүктүрүү.")]
    assert hits(store, '"камсыздоо сапатын"') == []
    assert hits(store, "камсыздоо сапатын") == hits(store, '"сапатын камсыздоо"')


def test_operators_a_person_typed_are_plain_words(store, library):
    assert hits(store, "плагиат OR политика") == []  # "or" is a word no text has
    assert hits(store, "плагиат*") == hits(store, "плагиат") == hits(store, "(плагиат)") == hits(store, "плагиат:")
    assert hits(store, "body:плагиат") == []  # "body" is a word too, not the index's column
    assert hits(store, "NEAR(плагиат") == []
    assert hits(store, "-плагиат ^студентов") == [("ru", "Плагиат в работах студентов недопустим.")]


def test_filters_by_language_and_policy_and_pages(store, library):
    assert {pid for pid, _ in hits(store, "саясат")} == {"ky", "kk"}
    assert {pid for pid, _ in hits(store, "саясат", language="kk")} == {"kk"}
    assert {pid for pid, _ in hits(store, "саясат", policy_id="ky")} == {"ky"}
    everything = find(store, "саясат")
    pages, position = [], 0
    with store.engine.connect() as connection:
        while position is not None:
            page, position = search.find(connection, search.parse("саясат"), at=NOW, every_version=False,
                                         position=position, limit=1)
            pages += page
    assert [page["body"] for page in pages] == [found["body"] for found in everything]


def test_in_force_only_by_default_and_every_version_says_which_held_the_text(store, ledger, clock):
    sections = adopt(ledger, clock, "pp", "Саясат", "ky", ["Эски жобо: окуу планы.", "Туруктуу бөлүм."])
    publish(ledger, clock, "pp", (cmd.AmendSection(section_id=sections[0], text="Жаңы жобо: окуу планы."),),
            "2021-02-01T00:00:00Z")
    publish(ledger, clock, "pp", (cmd.AmendSection(section_id=sections[0], text="Келечек жобо: окуу планы."),),
            "2099-01-01T00:00:00Z")  # scheduled, not in force yet
    assert hits(store, "эски") == []
    assert hits(store, "келечек") == []
    assert hits(store, "жаңы") == [("pp", "Жаңы жобо: окуу планы.")]
    everywhere = find(store, "жобо", every_version=True)
    assert sorted((f["body"], f["in_force"], f["version"], f["first_version"], f["last_version"])
                  for f in everywhere) == [("Жаңы жобо: окуу планы.", True, 2, 2, 2),
                                           ("Келечек жобо: окуу планы.", False, 3, 3, 3),
                                           ("Эски жобо: окуу планы.", False, 1, 1, 1)]
    assert everywhere[0]["in_force"] and not any(f["in_force"] for f in everywhere[1:])
    assert {(f["first_version"], f["last_version"]) for f in everywhere} == {(1, 1), (2, 2), (3, 3)}
    steady = find(store, "туруктуу", every_version=True)
    assert [(f["version"], f["first_version"], f["last_version"], f["in_force"]) for f in steady] == [(2, 1, 3, True)]
    assert [f["title"] for f in steady] == ["Саясат"]


def test_a_removed_section_is_found_only_in_the_versions_that_had_it(store, ledger, clock):
    sections = adopt(ledger, clock, "pp", "Саясат", "ky", ["Алынып салынган бөлүм.", "Калган бөлүм."])
    publish(ledger, clock, "pp", (cmd.RemoveSection(section_id=sections[0]),), "2021-02-01T00:00:00Z")
    assert hits(store, "алынып") == []
    assert [(f["version"], f["in_force"]) for f in find(store, "алынып", every_version=True)] == [(1, False)]


def test_snippets_mark_the_matched_words_and_escape_the_rest(store, ledger, clock):
    adopt(ledger, clock, "pp", "Саясат", "ky", ["<b>Саясаттын</b> максаты & милдеттери"])
    found = find(store, "саясат")
    assert search.snippet(found[0]["body"], search.parse("саясат")) == (
        "&lt;b&gt;<mark>Саясаттын</mark>&lt;/b&gt; максаты &amp; милдеттери")


def test_live_search_equals_search_after_a_rebuild(store, ledger, clock, library):
    run_lifecycle(ledger, clock)
    questions = ["саясат", "кун", "сапатын", '"сапатын камсыздоо"', "plagiarism", "кепилдөө", "санариптик"]
    live = {q: (find(store, q), find(store, q, every_version=True)) for q in questions}
    tables = snapshot(store)
    rebuild(store)
    assert snapshot(store) == tables
    assert {q: (find(store, q), find(store, q, every_version=True)) for q in questions} == live
    assert all(live[q][1] for q in questions)


def test_pages_are_the_same_however_few_of_the_newest_matches_are_looked_at_first(store, ledger, clock, library,
                                                                                   monkeypatch):
    # A page is looked for among a tier's newest matches (on PostgreSQL the newest rows walked first, the rest
    # asked of the index), then among every match: with only a handful looked at first, every page is the same.
    from projections.search import reads
    run_lifecycle(ledger, clock)
    questions = ["саясат", "кун", "сапатын", '"сапатын камсыздоо"', "plagiarism", "университет"]

    def pages(text: str, every_version: bool) -> list[dict]:
        found, position = [], 0
        with store.engine.connect() as connection:
            while position is not None:
                page, position = search.find(connection, search.parse(text), at=NOW, every_version=every_version,
                                             position=position, limit=2)
                found += page
        return found

    expected = {(q, every): find(store, q, every) for q in questions for every in (False, True)}
    assert all(expected.values())
    monkeypatch.setattr(reads, "RECENT", 3)
    monkeypatch.setattr(reads, "CANDIDATES", 1)
    assert {(q, every): find(store, q, every) for q in questions for every in (False, True)} == expected
    assert {(q, every): pages(q, every) for q in questions for every in (False, True)} == expected
