"""Comparing two runs: per metric, both means with their intervals, the paired difference
with its interval and p-value, and a verdict; per sample, what moved; and the CI gate.

Pure functions over the result dicts ``get_run_results`` returns. Only *scores* are compared
(``_scores``: config leaves such as ``threshold`` are not metrics), each in its direction: a
node's ``higher_is_better`` flag, else lower-is-better for paths matching a
``lower_is_better`` glob, else higher. A metric whose values are all booleans is a pass rate.

**The sample is the unit.** Repeated trials of a sample (its id k times in a run: epochs) are
averaged per sample before pairing, and their spread within the sample is reported; samples
pair by id. Non-finite numbers are left out. The statistics and the verdict come from
``_family.assess`` (see ``docs/statistics.md``); the family is every score both runs carry.

The gate (``Comparison.gate``) fails on a *regressed* verdict and on what a mean alone hides:
a metric that vanished from B, samples of A missing from B, and runs that pair nothing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ._by_sample import by_sample, estimate, metric_side
from ._family import Correction, assess
from ._provenance_diff import DatasetDiff, diff_provenance
from ._stats import Estimate, PairedTest
from .schema._scores import Direction, Numeric

__all__ = ["Comparison", "Gate", "MetricDelta", "SampleChange", "compare_runs", "json_safe"]

SHOWN_IDS = 5
"""How many sample ids a gate reason names before ``…``."""


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One metric in both runs: means with intervals, the paired test and its verdict."""

    metric: str
    kind: str
    """``"boolean"`` when every value is a boolean (a pass rate), else ``"number"``."""
    mean_a: float | None
    mean_b: float | None
    improved: int
    """Paired samples whose value got better."""
    regressed: int
    unchanged: int
    direction: Direction = "higher"
    count_a: int = 0
    """Results of A carrying this metric (trials, not samples)."""
    count_b: int = 0
    estimate_a: Estimate | None = None
    """Mean over A's samples (each sample's trials averaged) with its 95 % interval."""
    estimate_b: Estimate | None = None
    spread_a: float | None = None
    """Within-sample standard deviation over repeated trials (pooled); None for one trial."""
    spread_b: float | None = None
    test: PairedTest | None = None
    """The paired difference B - A over paired samples; None when nothing pairs."""
    p_adjusted: float | None = None
    mde: float | None = None
    p_equivalence: float | None = None
    verdict: str = "inconclusive"
    """``regressed``, ``improved``, ``unchanged``, ``inconclusive``; ``vanished`` (A only),
    ``new`` (B only)."""

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
        """True when the mean moved the wrong way by more than ``threshold`` (``--strict``)."""
        gain = self.gain
        return gain is not None and gain < -threshold


@dataclass(frozen=True, slots=True)
class SampleChange:
    """One metric of one paired sample that moved between the runs (trials averaged)."""

    sample_id: str
    metric: str
    a: Numeric
    b: Numeric
    delta: float
    """``b - a``, whatever the direction."""
    direction: Direction = "higher"
    trials_a: int = 1
    trials_b: int = 1

    @property
    def gain(self) -> float:
        """``delta`` signed so that positive is better."""
        return self.delta if self.direction == "higher" else -self.delta


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
    """Every moved (sample, metric), most regressed first, most improved last."""
    samples: dict[str, int]
    """Paired samples: ``paired``, and how many ``improved`` (some metric better, none worse),
    ``regressed`` (some worse, none better), ``mixed`` (both) or stayed ``unchanged``."""
    only_in_a: list[str]
    only_in_b: list[str]
    vanished: list[str] = field(default_factory=list)
    """Metrics in A that no result of B carries (an evaluator dropped, or erroring on every
    row: an errored score is None, which is no score)."""
    new: list[str] = field(default_factory=list)
    alpha: float = 0.05
    min_effect: float = 0.0
    correction: Correction = "holm"
    cluster: str | None = None
    family: list[str] = field(default_factory=list)
    """The metrics tested together (scores both runs carry on some paired sample)."""
    trials: dict[str, int] = field(default_factory=dict)
    """Most trials of one sample in ``a`` and ``b`` (1: no repeats)."""
    dataset: DatasetDiff | None = None
    """Whether the two runs' datasets and evaluators differ (``_provenance_diff``)."""

    def regressions(self) -> list[MetricDelta]:
        """Metrics whose verdict is *regressed*."""
        return [m for m in self.metrics if m.verdict == "regressed"]

    def gate(
        self, allow_missing: int = 0, strict: bool = False, allow_dataset_change: bool = False
    ) -> Gate:
        """Fail on a *regressed* verdict (``strict``: on any mean drop beyond min_effect), a
        vanished metric, more than ``allow_missing`` samples of A missing from B, no paired
        sample, no score at all to compare, or (unless ``allow_dataset_change``) datasets or
        evaluator versions that differ."""
        reasons: list[str] = []
        if self.dataset is not None and not allow_dataset_change:
            reasons += [f"{line} (--allow-dataset-change)" for line in self.dataset.lines()]
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
        family = f"{self.correction} over {len(self.family)}"
        for m in self.metrics:
            if m.verdict == "regressed" and m.test is not None:
                reasons.append(
                    f"{m.metric} regressed: {_num(m.mean_a)} -> {_num(m.mean_b)}, paired "
                    f"{_signed(m.test.mean)} [{_signed(m.test.low)}, {_signed(m.test.high)}], "
                    f"p {_p(m.p_adjusted)} ({family}), {m.direction} is better"
                )
            elif strict and m.verdict != "vanished" and m.is_regression(self.min_effect):
                reasons.append(
                    f"{m.metric} dropped (--strict): {_num(m.mean_a)} -> {_num(m.mean_b)} "
                    f"({m.delta:+.3f}, {m.direction} is better, min effect {self.min_effect:g})"
                )
        return Gate(passed=not reasons, reasons=reasons)

    def to_dict(
        self, allow_missing: int = 0, strict: bool = False, allow_dataset_change: bool = False
    ) -> dict[str, Any]:
        """A JSON-ready form with every statistic; ``None`` (null), never NaN or Infinity."""
        gate = self.gate(allow_missing, strict, allow_dataset_change)
        out = {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "alpha": self.alpha,
            "min_effect": self.min_effect,
            "correction": self.correction,
            "cluster": self.cluster,
            "family": self.family,
            "trials": self.trials,
            "strict": strict,
            "allow_missing": allow_missing,
            "gate": {"passed": gate.passed, "reasons": gate.reasons},
            "dataset": self.dataset.to_dict() if self.dataset else None,
            "regressions": [m.metric for m in self.regressions()],
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
        return json_safe(out)  # type: ignore[no-any-return]


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±Infinity) replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    return shown + (f", … (+{len(ids) - SHOWN_IDS})" if len(ids) > SHOWN_IDS else "")


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _signed(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}" if value < 0.001 else f"{value:.3f}"


def _shown(values: list[Numeric], mean: float) -> Numeric:
    """A sample's value as shown: itself for one trial, else the mean of its trials."""
    return values[0] if len(values) == 1 else mean


def compare_runs(
    results_a: Sequence[Mapping[str, Any]],
    results_b: Sequence[Mapping[str, Any]],
    *,
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    alpha: float = 0.05,
    min_effect: float = 0.0,
    correction: Correction = "holm",
    cluster: str | None = None,
    seed: int = 0,
    evaluators: tuple[Mapping[str, str] | None, Mapping[str, str] | None] = (None, None),
) -> Comparison:
    """Compare run B against run A (each a ``get_run_results`` list).

    ``lower_is_better``: globs over dotted score paths whose scores are better low (a node's
    own ``higher_is_better`` flag wins). ``metrics``: globs; only matching scores are
    compared. ``alpha``, ``min_effect``, ``correction``: the verdict's rule (``_family``).
    ``cluster``: a field of the rows' data (or metadata) whose samples share errors, e.g. a
    passage id; a result without it is a ``ValueError`` naming the field and the row.
    ``evaluators``: each run's evaluator versions (name -> version; None: unknown).
    """
    samples_a, directions = by_sample(results_a, lower_is_better, metrics, cluster)
    samples_b, directions_b = by_sample(results_b, lower_is_better, metrics, cluster)
    for path, direction in directions_b.items():
        directions.setdefault(path, direction)
    paired = [sid for sid in samples_a if sid in samples_b]
    paths = sorted(directions)
    clusters = None
    if cluster is not None:
        clusters = {sid: s.cluster for sid, s in {**samples_b, **samples_a}.items()}
    side = {path: metric_side(path, samples_a, samples_b, paired) for path in paths}
    family = [p for p in paths if side[p]["paired"]]
    shape = (len(paired), len(family))
    matrix_a, matrix_b = (
        np.array([[side[p][run].get(sid, math.nan) for sid in paired] for p in family])
        .reshape(shape[::-1])
        .T.copy()
        for run in ("a", "b")
    )
    matrix_a[~np.isfinite(matrix_a)] = math.nan  # an infinite mean moves, but is no statistic
    matrix_b[~np.isfinite(matrix_b)] = math.nan
    boolean = {p: bool(side[p]["boolean"]) for p in paths}
    tested = assess(
        matrix_a,
        matrix_b,
        boolean=[boolean[p] and side[p]["single"] for p in family],
        higher=[directions[p] == "higher" for p in family],
        alpha=alpha,
        min_effect=min_effect,
        correction=correction,
        clusters=None if clusters is None else [clusters[s] for s in paired],
        seed=seed,
    )
    assessed = dict(zip(family, tested, strict=True))
    deltas: list[MetricDelta] = []
    changes: list[SampleChange] = []
    per_sample: dict[str, set[bool]] = {}
    for path in paths:
        row = side[path]
        counts: Counter[str] = Counter()
        for sid in paired:
            if sid not in row["a"] or sid not in row["b"]:
                continue
            a, b = row["a"][sid], row["b"][sid]
            delta = 0.0 if a == b else b - a
            if math.isnan(delta):
                continue
            gain = delta if directions[path] == "higher" else -delta
            counts["improved" if gain > 0 else "regressed" if gain < 0 else "unchanged"] += 1
            if gain:
                per_sample.setdefault(sid, set()).add(gain > 0)
                changes.append(
                    SampleChange(
                        sid,
                        path,
                        _shown(samples_a[sid].values[path], a),
                        _shown(samples_b[sid].values[path], b),
                        delta,
                        directions[path],
                        len(samples_a[sid].values[path]),
                        len(samples_b[sid].values[path]),
                    )
                )
        est_a = estimate(row["a"], clusters, boolean[path])
        est_b = estimate(row["b"], clusters, boolean[path])
        got = assessed.get(path)
        verdict: str = got.verdict if got else "inconclusive"
        if row["count_a"] and not row["count_b"]:
            verdict = "vanished"
        elif row["count_b"] and not row["count_a"]:
            verdict = "new"
        deltas.append(
            MetricDelta(
                metric=path,
                kind="boolean" if boolean[path] else "number",
                mean_a=est_a.mean if est_a else None,
                mean_b=est_b.mean if est_b else None,
                improved=counts["improved"],
                regressed=counts["regressed"],
                unchanged=counts["unchanged"],
                direction=directions[path],
                count_a=row["count_a"],
                count_b=row["count_b"],
                estimate_a=est_a,
                estimate_b=est_b,
                spread_a=row["spread_a"],
                spread_b=row["spread_b"],
                test=got.test if got else None,
                p_adjusted=got.p_adjusted if got else None,
                mde=got.mde if got else None,
                p_equivalence=got.p_equivalence if got else None,
                verdict=verdict,
            )
        )
    changes.sort(key=lambda c: c.gain)
    kinds = Counter(
        "mixed" if len(s) == 2 else "improved" if True in s else "regressed"
        for s in per_sample.values()
    )
    return Comparison(
        run_a=str(results_a[0]["run_id"]) if results_a else "",
        run_b=str(results_b[0]["run_id"]) if results_b else "",
        metrics=deltas,
        changes=changes,
        samples={
            "paired": len(paired),
            "improved": kinds["improved"],
            "regressed": kinds["regressed"],
            "mixed": kinds["mixed"],
            "unchanged": len(paired) - len(per_sample),
        },
        only_in_a=[sid for sid in samples_a if sid not in samples_b],
        only_in_b=[sid for sid in samples_b if sid not in samples_a],
        vanished=[m.metric for m in deltas if m.verdict == "vanished"],
        new=[m.metric for m in deltas if m.verdict == "new"],
        alpha=alpha,
        min_effect=min_effect,
        correction=correction,
        cluster=cluster,
        family=family,
        trials={
            "a": max((s.trials for s in samples_a.values()), default=0),
            "b": max((s.trials for s in samples_b.values()), default=0),
        },
        dataset=diff_provenance(results_a, results_b, *evaluators),
    )
