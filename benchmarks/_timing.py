"""Alternating repetitions and medians: how every timing in this suite is taken.

The machine has two noisy cores, so no single sample means anything. ``alternate`` runs the
variants of one comparison in turn, A B / B A / A B ..., so that drift (another process, CPU
frequency, a warming page cache) falls on every variant alike, and reports per variant the
median of its samples. A ratio is the median of the per-repetition ratios: each pair was
measured side by side, so noise common to both cancels.

A variant is a callable that prepares its own state, times only the work, and returns the
seconds (``Stopwatch`` helps); setup and teardown are never inside the timed section.
"""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["Comparison", "Stopwatch", "alternate"]

Variant = Callable[[], float]


class Stopwatch:
    """``with Stopwatch() as sw: ...`` then ``sw.seconds``: wall time, perf_counter."""

    seconds: float = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


@dataclass
class Comparison:
    """Samples of each variant, in the order they were taken."""

    samples: dict[str, list[float]] = field(default_factory=dict)

    def median(self, name: str) -> float:
        """Median seconds of one variant."""
        return statistics.median(self.samples[name])

    def ratio(self, name: str, baseline: str) -> float:
        """Median of the per-repetition ratios ``name / baseline``."""
        pairs = zip(self.samples[name], self.samples[baseline], strict=True)
        return statistics.median(a / b for a, b in pairs)

    def spread(self, name: str) -> float:
        """(max - min) / median of one variant: how noisy its samples were."""
        values = self.samples[name]
        return (max(values) - min(values)) / statistics.median(values)


def alternate(variants: Mapping[str, Variant], reps: int, warmup: int = 1) -> Comparison:
    """Run every variant ``reps`` times, alternating (order reversed every other round).

    ``warmup`` untimed rounds come first: imports, caches and code paths get hot before any
    sample counts.
    """
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    result = Comparison({name: [] for name in names})
    for rep in range(reps):
        for name in names if rep % 2 == 0 else reversed(names):
            gc.collect()
            result.samples[name].append(variants[name]())
    return result
