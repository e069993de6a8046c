"""Tell a text's language from its letters: the script first, then the letters and words each language has."""
from __future__ import annotations

import unicodedata
from collections import Counter

from .wordcheck import words

# Letters that only Kazakh, or Kazakh and Kyrgyz, write among the Cyrillic languages of the seeds.
KAZAKH_LETTERS = frozenset("әғқұһіӘҒҚҰҺІ")
KYRGYZ_LETTERS = frozenset("үөңҮӨҢ")
GERMAN_LETTERS = frozenset("äöüßÄÖÜ")
GERMAN_WORDS = frozenset({"der", "die", "das", "und", "ist", "nicht", "mit", "für", "von", "zu", "den", "ein",
                          "eine", "werden", "wird", "des", "sich", "auf", "im", "dem"})
ENGLISH_WORDS = frozenset({"the", "and", "of", "to", "is", "for", "in", "with", "that", "are", "be", "by", "on",
                           "this", "shall", "will", "or", "an"})
# The script named first in a letter's Unicode name, and the language a text in it most likely is.
SCRIPT_LANGUAGES = {
    "ARABIC": "ar", "GREEK": "el", "HEBREW": "he", "ARMENIAN": "hy", "GEORGIAN": "ka", "DEVANAGARI": "hi",
    "THAI": "th", "HANGUL": "ko", "HIRAGANA": "ja", "KATAKANA": "ja", "CJK": "zh",
}
DEFAULT_LANGUAGE = "en"


def detect_language(text: str) -> str:
    """Return the language tag a text is most likely written in (ky, ru, kk, en, de, ar, …)."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return DEFAULT_LANGUAGE
    scripts = Counter(_script(ch) for ch in letters)
    script = scripts.most_common(1)[0][0]
    if script == "CYRILLIC":
        kazakh = sum(ch in KAZAKH_LETTERS for ch in letters)
        kyrgyz = sum(ch in KYRGYZ_LETTERS for ch in letters)
        if kazakh and kazakh >= kyrgyz / 4:  # Kazakh writes ү, ө, ң as well, and ә, ғ, қ, ұ, і often
            return "kk"
        return "ky" if kyrgyz else "ru"
    if script == "LATIN":
        lowered = [word.lower() for word in words(text)]
        german = sum(word in GERMAN_WORDS for word in lowered) + sum(ch in GERMAN_LETTERS for ch in letters)
        english = sum(word in ENGLISH_WORDS for word in lowered)
        return "de" if german > english else "en"
    return SCRIPT_LANGUAGES.get(script, DEFAULT_LANGUAGE)


def _script(letter: str) -> str:
    name = unicodedata.name(letter, "")
    return name.split(" ", 1)[0] if name else ""
