"""The Kyrgyz seed policy split into sentences and words, to make section texts of a chosen size."""
from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEED_GLOB = "*.txt"
# PDF artefacts: Symbol-font and typographic bullets, and runs of blank space.
_BULLETS = re.compile("[\uf0b7•]")
_SPACE = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.;:!?])\s+")


def seed_paths(repo: Path = REPO) -> list[Path]:
    """Return the seed policies the service ships, in name order."""
    folder = repo / "service" / "content" / "seed"
    paths = sorted(folder.glob(SEED_GLOB))
    if not paths:
        raise FileNotFoundError(f"no seed policy under {folder}")
    return paths


@dataclass(frozen=True)
class Corpus:
    """Sentences and words of real policy text."""

    title: str
    sentences: tuple[str, ...]
    words: tuple[str, ...]

    @classmethod
    def load(cls, paths: list[Path] | None = None) -> Corpus:
        """Read the seed policies and split them into sentences and words."""
        texts = [path.read_text(encoding="utf-8") for path in (paths or seed_paths())]
        title = next(line.strip() for line in texts[0].splitlines() if line.strip())
        flat = _SPACE.sub(" ", _BULLETS.sub(" ", " ".join(texts))).strip()
        sentences = tuple(s.strip() for s in _SENTENCE_END.split(flat) if len(s.strip()) > 20)
        return cls(title=title, sentences=sentences, words=tuple(flat.split(" ")))

    def text(self, rng: random.Random, size: int) -> str:
        """Return consecutive words of the corpus, about `size` UTF-8 bytes long, starting anywhere."""
        start = rng.randrange(len(self.words))
        words: list[str] = []
        used = 0
        while used < size:
            word = self.words[(start + len(words)) % len(self.words)]
            words.append(word)
            used += len(word.encode("utf-8")) + 1
        return " ".join(words)

    def sentence(self, rng: random.Random) -> str:
        """Return one sentence of the corpus."""
        return rng.choice(self.sentences)
