"""Comparing two runs: per-metric mean deltas, and per-sample changes paired by ``sample_id``.

Pure functions over the result dicts ``get_run_results`` returns. Every metric is taken as
higher-is-better. A metric whose values are all booleans is compared by its pass rate (its mean
with ``True`` = 1); otherwise booleans count as 0/1 and non-finite numbers are left out of means,
as in run history. A sample id seen twice in one run pairs by occurrence: the second ``q1`` of A
with the second ``q1`` of B, shown as ``q1#1``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ._history import as_float, finite_mean
from .schema import metric_leaves

__all__ = ["Comparison", "MetricDelta", "SampleChange", "compare_runs"]

Leaves = dict[str, float | bool]
Key = tuple[str, int]
"""A sample id and its occurrence in the run (0 for the first)."""


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One metric in both runs: its mean (pass rate for booleans) and how paired samples moved."""

    metric: str
    kind: str
    """``"boolean"`` when every value is a boolean, else ``"number"``."""
    mean_a: float | None
    mean_b: float | None
    improved: int
    regressed: int
    unchanged: int

    @property
    def delta(self) -> float | None:
        """``mean_b - mean_a``; None when the metric has no finite value in one of the runs."""
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_b - self.mean_a

    def is_regression(self, threshold: float) -> bool:
        """True when the mean dropped by more than ``threshold``."""
        delta = self.delta
        return delta is not None and delta < -threshold


@dataclass(frozen=True, slots=True)
class SampleChange:
    """One metric of one paired sample that moved between the runs."""

    sample_id: str
    metric: str
    a: float | bool
    b: float | bool
    delta: float


@dataclass(frozen=True, slots=True)
class Comparison:
    """Everything ``evaltrace compare`` reports about RUN_B against RUN_A."""

    run_a: str
    run_b: str
    metrics: list[MetricDelta]
    changes: list[SampleChange]
    """Every moved (sample, metric), largest move first."""
    samples: dict[str, int]
    """Paired samples: ``paired``, and how many ``improved`` (some metric up, none down),
    ``regressed`` (some down, none up), ``mixed`` (both) or stayed ``unchanged``."""
    only_in_a: list[str]
    only_in_b: list[str]

    def regressions(self, threshold: float = 0.0) -> list[MetricDelta]:
        """Metrics whose mean dropped by more than ``threshold``."""
        return [m for m in self.metrics if m.is_regression(threshold)]

    def to_dict(self, threshold: float = 0.0) -> dict[str, Any]:
        """A JSON-ready form, regressions included."""
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "threshold": threshold,
            "regressions": [m.metric for m in self.regressions(threshold)],
            "metrics": [{**asdict(m), "delta": m.delta} for m in self.metrics],
            "samples": {
                **self.samples,
                "only_in_a": self.only_in_a,
                "only_in_b": self.only_in_b,
                "changes": [asdict(c) for c in self.changes],
            },
        }


def keyed_leaves(results: Sequence[Mapping[str, Any]]) -> dict[Key, Leaves]:
    """Metric leaves of each result by (sample id, occurrence), in logging order."""
    seen: Counter[str] = Counter()
    out: dict[Key, Leaves] = {}
    for result in results:
        sample_id = str(result["sample_id"])
        out[sample_id, seen[sample_id]] = metric_leaves(result["evaluation_result"])
        seen[sample_id] += 1
    return out


def label(key: Key) -> str:
    """How a paired sample is shown: its id, with ``#n`` for the n-th repeat."""
    sample_id, repeat = key
    return f"{sample_id}#{repeat}" if repeat else sample_id


def _mean(values: list[float | bool]) -> float | None:
    doubles = (as_float(v) for v in values)
    finite = [f for f in doubles if f is not None and math.isfinite(f)]
    return finite_mean(finite) if finite else None


def _direction(a: float | bool, b: float | bool) -> float | None:
    """``b - a``; 0.0 when equal; None when NaN makes the pair incomparable."""
    try:
        fa, fb = float(a), float(b)
    except OverflowError:  # an int past the double range; int-float comparison is exact
        if a == b:
            return 0.0
        if (isinstance(a, float) and math.isnan(a)) or (isinstance(b, float) and math.isnan(b)):
            return None
        return math.inf if b > a else -math.inf
    if fa == fb:
        return 0.0
    if math.isnan(fa) or math.isnan(fb):
        return None
    return fb - fa


def compare_runs(
    results_a: Sequence[Mapping[str, Any]], results_b: Sequence[Mapping[str, Any]]
) -> Comparison:
    """Compare run B against run A (each a ``get_run_results`` list)."""
    leaves_a, leaves_b = keyed_leaves(results_a), keyed_leaves(results_b)
    paired = [key for key in leaves_a if key in leaves_b]
    paths = sorted({p for leaves in (*leaves_a.values(), *leaves_b.values()) for p in leaves})
    counts: dict[str, Counter[str]] = {path: Counter() for path in paths}
    per_sample: Counter[str] = Counter()
    changes: list[SampleChange] = []
    for key in paired:
        up = down = False
        for path in sorted(leaves_a[key].keys() & leaves_b[key].keys()):
            a, b = leaves_a[key][path], leaves_b[key][path]
            delta = _direction(a, b)
            if delta is None:
                continue
            counts[path][
                "improved" if delta > 0 else "regressed" if delta < 0 else "unchanged"
            ] += 1
            if delta:
                changes.append(SampleChange(label(key), path, a, b, delta))
                up, down = up or delta > 0, down or delta < 0
        per_sample[
            "mixed" if up and down else "improved" if up else "regressed" if down else "unchanged"
        ] += 1
    metrics = []
    for path in paths:
        values_a = [leaves[path] for leaves in leaves_a.values() if path in leaves]
        values_b = [leaves[path] for leaves in leaves_b.values() if path in leaves]
        boolean = all(isinstance(v, bool) for v in values_a + values_b)
        metrics.append(
            MetricDelta(
                metric=path,
                kind="boolean" if boolean else "number",
                mean_a=_mean(values_a),
                mean_b=_mean(values_b),
                improved=counts[path]["improved"],
                regressed=counts[path]["regressed"],
                unchanged=counts[path]["unchanged"],
            )
        )
    changes.sort(key=lambda c: -abs(c.delta))
    return Comparison(
        run_a=str(results_a[0]["run_id"]) if results_a else "",
        run_b=str(results_b[0]["run_id"]) if results_b else "",
        metrics=metrics,
        changes=changes,
        samples={
            "paired": len(paired),
            **{k: per_sample[k] for k in ("improved", "regressed", "mixed", "unchanged")},
        },
        only_in_a=[label(key) for key in leaves_a if key not in leaves_b],
        only_in_b=[label(key) for key in leaves_b if key not in leaves_a],
    )
