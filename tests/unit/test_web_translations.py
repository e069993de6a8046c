"""Every interface string of the pages is translated into Kyrgyz and Russian,
and the compiled catalogues are current.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "service" / "web" / "translations"
METHODS = [("**.py", "python"), ("templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def source_messages() -> set[str]:
    """Extract every message the pages' code and templates ask to translate, as pybabel does."""
    found = extract_from_dir(str(ROOT / "service" / "web"), METHODS, keywords={"_": None, "gettext": None})
    return {message for _, _, message, _, _ in found if isinstance(message, str)}


@pytest.mark.parametrize("language", ["ky", "ru"])
def test_every_interface_string_has_a_translation_keeping_its_placeholders(language):
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    asked = source_messages()
    assert len(asked) > 100
    missing = sorted(m for m in asked if not (catalogue.get(m) and catalogue.get(m).string))
    assert missing == []
    for message in asked:
        translated = catalogue.get(message).string
        assert sorted(PLACEHOLDER.findall(translated)) == sorted(PLACEHOLDER.findall(message)), message
        if message not in ("API", "Audit", "Version", "author", "auditor", "administrator", "Hash") and \
                re.search(r"[A-Za-z]{3}", message):
            assert translated != message, f"{message!r} left in English"


@pytest.mark.parametrize("language", ["ky", "ru"])
def test_the_compiled_catalogue_is_the_translated_one(language):
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as po, (folder / "messages.mo").open("rb") as mo:
        written, compiled = read_po(po), read_mo(mo)
    assert {m.id: m.string for m in written if m.id} == {m.id: m.string for m in compiled if m.id}
