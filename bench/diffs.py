"""The word diff of two 100,000-character sections, next to difflib (the diff it replaced) on a tenth of that."""
from __future__ import annotations

import random
import statistics
import time
from difflib import SequenceMatcher

from service.content.diffing import diff_words, side, tokens

from .corpus import Corpus
from .figures import Figure

SIZE = 100_000
BASELINE_SIZE = 10_000  # difflib is quadratic here: at SIZE one pair takes minutes
BAR_MS = 100.0


def _section(corpus: Corpus, rng: random.Random, size: int) -> str:
    text = ""
    while len(text) < size:
        text += corpus.text(rng, size) + " "
    return text[:size]


def _amended(corpus: Corpus, rng: random.Random, text: str, words: int) -> str:
    """Amend a text at both ends and change `words` words anywhere between."""
    parts = tokens(text)
    for _ in range(words):
        parts[rng.randrange(len(parts))] = rng.choice(corpus.words)
    return corpus.sentence(rng) + " " + "".join(parts)[60:-60] + " " + corpus.sentence(rng)


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


def measure(corpus: Corpus, *, pairs: int, seed: int) -> list[Figure]:
    """Time `pairs` word diffs of 100,000-character sections and as many difflib diffs of 10,000-character ones."""
    rng = random.Random(seed)
    ours: list[float] = []
    baseline: list[float] = []
    for number in range(pairs):
        words = (0, 20, 200)[number % 3]
        old = _section(corpus, rng, SIZE)
        new = _amended(corpus, rng, old, words)
        started = time.perf_counter()
        result = diff_words(old, new)
        ours.append((time.perf_counter() - started) * 1000)
        assert side(result, "old") == old and side(result, "new") == new
        small_old = _section(corpus, rng, BASELINE_SIZE)
        small_new = _amended(corpus, rng, small_old, words // 10)
        started = time.perf_counter()
        SequenceMatcher(None, tokens(small_old), tokens(small_new), autojunk=False).get_opcodes()
        baseline.append((time.perf_counter() - started) * 1000)
    group = f"word diff: two {SIZE:,}-character sections amended at both ends and 0, 20 or 200 words between"
    p50, p99 = statistics.median(ours), _p99(ours)
    verdict = "pass" if p99 < BAR_MS else "MISS"
    note = (f"{pairs} pairs of Kyrgyz text; bar: p99 under {BAR_MS:.0f} ms ({verdict}); difflib at {SIZE:,} "
            f"characters would take minutes, so it is timed at {BASELINE_SIZE:,}")
    name = f"difflib SequenceMatcher, {BASELINE_SIZE:,}-character sections"
    return [
        Figure(group, "diff_words p50", "ms", p50, statistics.median(baseline), f"{name}, p50", threshold=1.0,
               higher_is_better=False, note=note, samples={"ours": ours, "difflib": baseline}),
        Figure(group, "diff_words p99", "ms", p99, _p99(baseline), f"{name}, p99", threshold=1.0,
               higher_is_better=False, note=f"p99 {p99:.1f} ms against the {BAR_MS:.0f} ms bar: {verdict}"),
    ]
