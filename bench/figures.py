"""A figure: our number, the baseline measured in the same run, their ratio and the bar it must clear."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    """One row of the results table."""

    group: str
    name: str
    unit: str
    ours: float | None
    baseline: float | None = None
    baseline_name: str = ""
    threshold: float | None = None  # the bar, as a ratio of ours to the baseline
    higher_is_better: bool = True
    note: str = ""
    unavailable: str = ""  # why the figure could not be measured
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        """Return ours over the baseline."""
        if self.ours is None or not self.baseline:
            return None
        return self.ours / self.baseline

    @property
    def bar(self) -> str:
        """Describe the bar in words."""
        if self.threshold is None:
            return "reported"
        sign = "≥" if self.higher_is_better else "≤"
        return f"{sign} {self.threshold:.2f}×"

    @property
    def result(self) -> str:
        """Return pass or miss, and by how much the bar is cleared or missed."""
        if self.unavailable:
            return f"not available: {self.unavailable}"
        ratio = self.ratio
        if self.threshold is None or ratio is None:
            return "—"
        margin = ratio / self.threshold if self.higher_is_better else self.threshold / ratio
        return f"{'pass' if margin >= 1 else 'MISS'} ({margin:.2f}× the bar)"

    @property
    def passed(self) -> bool | None:
        """Tell whether the bar is met (None when there is no bar or no figure)."""
        ratio = self.ratio
        if self.threshold is None or ratio is None or self.unavailable:
            return None
        return ratio >= self.threshold if self.higher_is_better else ratio <= self.threshold

    def to_json(self) -> dict[str, Any]:
        """Return the figure with its derived ratio, bar and result."""
        return {**asdict(self), "ratio": self.ratio, "bar": self.bar, "result": self.result, "passed": self.passed}


def interleaved(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Run every variant once per round, in turn, so that a noisy neighbour hurts them all alike."""
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            samples[name].append(run())
    return samples


def median(values: list[float]) -> float:
    """Return the median of some samples."""
    return statistics.median(values)


def rate(count: int, work: Callable[[], None]) -> float:
    """Time `work` and return `count` over the seconds it took."""
    start = time.perf_counter()
    work()
    return count / (time.perf_counter() - start)


def seconds(work: Callable[[], Any]) -> float:
    """Time one call of `work` in seconds."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start
