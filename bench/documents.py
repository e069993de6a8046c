"""Reading the seed policy printed to PDF: pdfplumber (what the importer uses) next to pypdf and pdfminer.six."""
from __future__ import annotations

import difflib
import io
from collections.abc import Callable

import pdfplumber
import pypdf
from pdfminer.high_level import extract_text

from service.content.demo import SEED_FILE as SEED
from service.content.pdfread import read_pdf
from service.content.pdfwrite import controlled_copy_pdf
from service.content.textformat import parse_policy_text
from service.content.wordcheck import result_words, words

from .figures import Figure, interleaved, median, seconds

KYRGYZ = "үөңҮӨҢ"
STAMP = {"policy_id": "oshsu-quality", "title": "", "language": "ky", "version": 1,
         "effective_from": "2019-09-01T00:00:00.000000Z", "content_hash": "sha256:" + "0" * 64, "revision_id": "r",
         "adopted": True, "printed_at": "2026-01-01T00:00:00Z", "approvers": []}


def measure(*, rounds: int) -> list[Figure]:
    """Time each library's text extraction of the printed seed, and say how faithfully each gives its words."""
    seed = parse_policy_text(SEED.read_text(encoding="utf-8"))
    pdf = controlled_copy_pdf(seed.document(), {**STAMP, "title": seed.title})
    expected = [word for word, _ in result_words(seed.title, seed.sections)]
    texts: dict[str, str] = {}

    def with_pypdf() -> None:
        texts["pypdf"] = "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)

    def with_pdfminer() -> None:
        texts["pdfminer.six"] = extract_text(io.BytesIO(pdf))

    def with_pdfplumber() -> None:
        with pdfplumber.open(io.BytesIO(pdf)) as document:
            texts["pdfplumber"] = "\n".join(page.extract_text() or "" for page in document.pages)

    def importer() -> None:
        texts["importer"] = read_pdf(pdf, "seed.pdf").text

    runs: dict[str, Callable[[], float]] = {
        "pypdf": lambda: seconds(with_pypdf) * 1000,
        "pdfminer.six": lambda: seconds(with_pdfminer) * 1000,
        "pdfplumber": lambda: seconds(with_pdfplumber) * 1000,
        "importer": lambda: seconds(importer) * 1000,
    }
    for run in runs.values():
        run()
    samples = interleaved(runs, rounds)
    times = {name: median(values) for name, values in samples.items()}
    group = f"documents: the seed policy printed to PDF ({len(pdf):,} B), its text read back"

    def fidelity(name: str) -> str:
        got = [word for word in words(texts[name]) if word in set(expected)]
        matcher = difflib.SequenceMatcher(None, expected, got, autojunk=False)
        letters = sum(texts[name].count(letter) for letter in KYRGYZ)
        return (f"{matcher.ratio():.4f} of the seed's words in order, {letters} of "
                f"{sum(SEED.read_text(encoding='utf-8').count(letter) for letter in KYRGYZ)} ү ө ң")

    baseline = "pypdf PdfReader.extract_text"
    return [
        Figure(group, "pdfplumber extract_text vs pypdf", "ms", times["pdfplumber"], times["pypdf"], baseline,
               higher_is_better=False, note=f"pdfplumber: {fidelity('pdfplumber')}; pypdf: {fidelity('pypdf')}",
               samples=samples),
        Figure(group, "pdfminer.six extract_text vs pypdf", "ms", times["pdfminer.six"], times["pypdf"], baseline,
               higher_is_better=False, note=f"pdfminer.six: {fidelity('pdfminer.six')}"),
        Figure(group, "import's reading (pdfplumber lines, running lines dropped) vs pypdf", "ms", times["importer"],
               times["pypdf"], baseline, higher_is_better=False, note=f"importer: {fidelity('importer')}"),
    ]
