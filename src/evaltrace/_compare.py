"""Comparing two runs: per-metric mean deltas, per-sample changes paired by ``sample_id``, and
the verdict of a CI gate.

Pure functions over the result dicts ``get_run_results`` returns. Only *scores* are compared
(``_scores``: config leaves such as ``threshold`` or ``higher_is_better`` are not metrics), each
in its own direction: a node's ``higher_is_better`` flag, else lower-is-better for paths
matching a ``lower_is_better`` glob, else higher. A metric whose values are all booleans is
compared by its pass rate (its mean with ``True`` = 1); otherwise booleans count as 0/1 and
non-finite numbers are left out of means, as in run history. A sample id seen twice in one run
pairs by occurrence: the second ``q1`` of A with the second ``q1`` of B, shown as ``q1#1``.

The gate (``Comparison.gate``) fails on what a mean alone hides: a metric that vanished from
B, samples of A missing from B, and runs that pair nothing (different datasets).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ._history import as_float, finite_mean
from ._scores import Direction, Numeric, matches_any, numeric_scores

__all__ = ["Comparison", "Gate", "MetricDelta", "SampleChange", "compare_runs"]

Leaves = dict[str, Numeric]
Key = tuple[str, int]
"""A sample id and its occurrence in the run (0 for the first)."""

SHOWN_IDS = 5
"""How many sample ids a gate reason names before ``…``."""


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
    direction: Direction = "higher"
    """Which way is better: ``"higher"`` or ``"lower"``."""
    count_a: int = 0
    """Results of A carrying this metric."""
    count_b: int = 0

    @property
    def delta(self) -> float | None:
        """``mean_b - mean_a``; None when the metric has no finite value in one of the runs."""
        if self.mean_a is None or self.mean_b is None:
            return None
        return self.mean_b - self.mean_a

    @property
    def gain(self) -> float | None:
        """``delta`` signed so that positive is better, whatever the direction."""
        delta = self.delta
        if delta is None:
            return None
        return delta if self.direction == "higher" else -delta

    def is_regression(self, threshold: float) -> bool:
        """True when the mean moved the wrong way by more than ``threshold``."""
        gain = self.gain
        return gain is not None and gain < -threshold


@dataclass(frozen=True, slots=True)
class SampleChange:
    """One metric of one paired sample that moved between the runs."""

    sample_id: str
    metric: str
    a: Numeric
    b: Numeric
    delta: float
    """``b - a``, whatever the direction."""
    direction: Direction = "higher"


@dataclass(frozen=True, slots=True)
class Gate:
    """The verdict of ``compare --fail-on-regression``: passed, or why not (one line each)."""

    passed: bool
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class Comparison:
    """Everything ``evaltrace compare`` reports about RUN_B against RUN_A."""

    run_a: str
    run_b: str
    metrics: list[MetricDelta]
    changes: list[SampleChange]
    """Every moved (sample, metric), largest move first."""
    samples: dict[str, int]
    """Paired samples: ``paired``, and how many ``improved`` (some metric better, none worse),
    ``regressed`` (some worse, none better), ``mixed`` (both) or stayed ``unchanged``."""
    only_in_a: list[str]
    """Samples of A missing from B."""
    only_in_b: list[str]
    vanished: list[str] = field(default_factory=list)
    """Metrics in A that no result of B carries (an evaluator dropped, or erroring on every
    row: an errored score is None, which is no score)."""
    new: list[str] = field(default_factory=list)
    """Metrics only B carries."""

    def regressions(self, threshold: float = 0.0) -> list[MetricDelta]:
        """Metrics whose mean moved the wrong way by more than ``threshold``."""
        return [m for m in self.metrics if m.is_regression(threshold)]

    def gate(self, threshold: float = 0.0, allow_missing: int = 0) -> Gate:
        """Fail on a regression, a vanished metric, more than ``allow_missing`` samples of A
        missing from B, no paired sample, or no score at all to compare."""
        reasons: list[str] = []
        size_a = self.samples["paired"] + len(self.only_in_a)
        if not any(m.count_a for m in self.metrics):
            reasons.append(f"no scores to compare in {self.run_a} (check --metrics)")
        if self.samples["paired"] == 0:
            reasons.append(
                f"no sample pairs: none of the {size_a} samples of {self.run_a} is in "
                f"{self.run_b} (another dataset, or rows whose ids differ)"
            )
        elif len(self.only_in_a) > allow_missing:
            reasons.append(
                f"{len(self.only_in_a)} of {size_a} samples of {self.run_a} are missing from "
                f"{self.run_b} (--allow-missing {allow_missing}): {_ids(self.only_in_a)}"
            )
        by_name = {m.metric: m for m in self.metrics}
        for name in self.vanished:
            reasons.append(
                f"{name} vanished: in {by_name[name].count_a} results of {self.run_a}, "
                f"in none of {self.run_b}"
            )
        for m in self.regressions(threshold):
            reasons.append(
                f"{m.metric} regressed: {_num(m.mean_a)} -> {_num(m.mean_b)} "
                f"({m.delta:+.3f}, {m.direction} is better, threshold {threshold:g})"
            )
        return Gate(passed=not reasons, reasons=reasons)

    def to_dict(self, threshold: float = 0.0, allow_missing: int = 0) -> dict[str, Any]:
        """A JSON-ready form: regressions, vanished metrics, missing samples and the gate."""
        gate = self.gate(threshold, allow_missing)
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "threshold": threshold,
            "allow_missing": allow_missing,
            "gate": {"passed": gate.passed, "reasons": gate.reasons},
            "regressions": [m.metric for m in self.regressions(threshold)],
            "vanished": self.vanished,
            "new": self.new,
            "metrics": [{**asdict(m), "delta": m.delta} for m in self.metrics],
            "samples": {
                **self.samples,
                "missing": len(self.only_in_a),
                "only_in_a": self.only_in_a,
                "only_in_b": self.only_in_b,
                "changes": [asdict(c) for c in self.changes],
            },
        }


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f", … (+{len(ids) - SHOWN_IDS})" if len(ids) > SHOWN_IDS else "")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def keyed_scores(
    results: Sequence[Mapping[str, Any]],
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
) -> tuple[dict[Key, Leaves], dict[str, Direction]]:
    """Numeric scores of each result by (sample id, occurrence), in logging order, and each
    path's direction (as its first result has it)."""
    seen: Counter[str] = Counter()
    out: dict[Key, Leaves] = {}
    directions: dict[str, Direction] = {}
    for result in results:
        sample_id = str(result["sample_id"])
        leaves: Leaves = {}
        for path, (value, direction) in numeric_scores(
            result["evaluation_result"], lower_is_better
        ).items():
            if metrics is None or matches_any(path, metrics):
                leaves[path] = value
                directions.setdefault(path, direction)
        out[sample_id, seen[sample_id]] = leaves
        seen[sample_id] += 1
    return out, directions


def label(key: Key) -> str:
    """How a paired sample is shown: its id, with ``#n`` for the n-th repeat."""
    sample_id, repeat = key
    return f"{sample_id}#{repeat}" if repeat else sample_id


def _mean(values: list[Numeric]) -> float | None:
    doubles = (as_float(v) for v in values)
    finite = [f for f in doubles if f is not None and math.isfinite(f)]
    return finite_mean(finite) if finite else None


def _difference(a: Numeric, b: Numeric) -> float | None:
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
    results_a: Sequence[Mapping[str, Any]],
    results_b: Sequence[Mapping[str, Any]],
    *,
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
) -> Comparison:
    """Compare run B against run A (each a ``get_run_results`` list).

    ``lower_is_better``: ``fnmatch`` globs over dotted score paths whose scores are better
    low (a node's own ``higher_is_better`` flag wins). ``metrics``: globs; when given, only
    matching scores are compared.
    """
    leaves_a, directions = keyed_scores(results_a, lower_is_better, metrics)
    leaves_b, directions_b = keyed_scores(results_b, lower_is_better, metrics)
    for path, direction in directions_b.items():
        directions.setdefault(path, direction)
    paired = [key for key in leaves_a if key in leaves_b]
    paths = sorted(directions)
    counts: dict[str, Counter[str]] = {path: Counter() for path in paths}
    per_sample: Counter[str] = Counter()
    changes: list[SampleChange] = []
    for key in paired:
        up = down = False
        for path in sorted(leaves_a[key].keys() & leaves_b[key].keys()):
            a, b = leaves_a[key][path], leaves_b[key][path]
            delta = _difference(a, b)
            if delta is None:
                continue
            gain = delta if directions[path] == "higher" else -delta
            counts[path]["improved" if gain > 0 else "regressed" if gain < 0 else "unchanged"] += 1
            if delta:
                changes.append(SampleChange(label(key), path, a, b, delta, directions[path]))
                up, down = up or gain > 0, down or gain < 0
        per_sample[
            "mixed" if up and down else "improved" if up else "regressed" if down else "unchanged"
        ] += 1
    deltas = []
    for path in paths:
        values_a = [leaves[path] for leaves in leaves_a.values() if path in leaves]
        values_b = [leaves[path] for leaves in leaves_b.values() if path in leaves]
        boolean = all(isinstance(v, bool) for v in values_a + values_b)
        deltas.append(
            MetricDelta(
                metric=path,
                kind="boolean" if boolean else "number",
                mean_a=_mean(values_a),
                mean_b=_mean(values_b),
                improved=counts[path]["improved"],
                regressed=counts[path]["regressed"],
                unchanged=counts[path]["unchanged"],
                direction=directions[path],
                count_a=len(values_a),
                count_b=len(values_b),
            )
        )
    changes.sort(key=lambda c: -abs(c.delta))
    return Comparison(
        run_a=str(results_a[0]["run_id"]) if results_a else "",
        run_b=str(results_b[0]["run_id"]) if results_b else "",
        metrics=deltas,
        changes=changes,
        samples={
            "paired": len(paired),
            **{k: per_sample[k] for k in ("improved", "regressed", "mixed", "unchanged")},
        },
        only_in_a=[label(key) for key in leaves_a if key not in leaves_b],
        only_in_b=[label(key) for key in leaves_b if key not in leaves_a],
        vanished=[m.metric for m in deltas if m.count_a and not m.count_b],
        new=[m.metric for m in deltas if m.count_b and not m.count_a],
    )
