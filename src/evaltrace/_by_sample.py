"""The sample is the unit: a run's results grouped by sample id, each metric's trials
(epochs: the same id k times) averaged per sample, with their spread within the sample, and
each sample's cluster key (``--cluster``).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._stats import Estimate, mean_estimate, pass_rate_estimate
from .schema._scores import Direction, Numeric, matches_any, numeric_scores

__all__ = ["Sample", "by_sample", "estimate", "metric_side"]


@dataclass(slots=True)
class Sample:
    """One sample of one run: each metric's trials, and its cluster key."""

    values: dict[str, list[Numeric]] = field(default_factory=dict)
    trials: int = 0
    cluster: Any = None


def _float(value: Numeric) -> float:
    try:
        return float(value)
    except OverflowError:  # an int past the double range: it still moves, but is no statistic
        return math.inf if value > 0 else -math.inf


def _cluster_key(result: Mapping[str, Any], cluster: str, row: int) -> Any:
    for part in ("data", "metadata"):
        holder = result.get(part)
        if isinstance(holder, Mapping) and cluster in holder:
            return str(holder[cluster])
    raise ValueError(
        f"--cluster {cluster}: result {row} of run {result.get('run_id')} "
        f"(sample {result.get('sample_id')}) has no field {cluster!r} in its data or metadata"
    )


def by_sample(
    results: Sequence[Mapping[str, Any]],
    lower_is_better: Sequence[str] = (),
    metrics: Sequence[str] | None = None,
    cluster: str | None = None,
) -> tuple[dict[str, Sample], dict[str, Direction]]:
    """Each sample's score trials by id, in first-seen order, and each path's direction (as
    its first result has it)."""
    out: dict[str, Sample] = {}
    directions: dict[str, Direction] = {}
    for row, result in enumerate(results):
        sample = out.setdefault(str(result["sample_id"]), Sample())
        sample.trials += 1
        if cluster is not None and sample.cluster is None:
            sample.cluster = _cluster_key(result, cluster, row)
        scores = numeric_scores(result["evaluation_result"], lower_is_better)
        for path, (value, direction) in scores.items():
            if metrics is None or matches_any(path, metrics):
                sample.values.setdefault(path, []).append(value)
                directions.setdefault(path, direction)
    return out, directions


def _sample_mean(values: list[Numeric]) -> tuple[float, float | None, int]:
    """The mean of a sample's trials but NaN ones (±inf when one is infinite: a move, left out
    of the statistics), the standard deviation of its finite ones, and how many counted.
    Plain Python: called once per sample and metric (a million times on big runs)."""
    if len(values) == 1:
        only = _float(values[0])
        return (only, None, 1) if only == only else (math.nan, None, 0)
    kept = [f for f in map(_float, values) if f == f]
    if not kept:
        return math.nan, None, 0
    finite = [f for f in kept if math.isfinite(f)]
    sd = statistics.stdev(finite) if len(finite) > 1 else None
    if len(finite) < len(kept):
        return sum(kept) / len(kept), sd, len(kept)
    return math.fsum(kept) / len(kept), sd, len(kept)


def _pooled(sds: list[float]) -> float | None:
    return math.sqrt(float(np.mean(np.square(sds)))) if sds else None


def estimate(
    means: dict[str, float], clusters: dict[str, Any] | None, boolean: bool
) -> Estimate | None:
    keys = [k for k, v in means.items() if math.isfinite(v)]
    if not keys:
        return None
    x = np.array([means[k] for k in keys])
    if clusters is not None:
        return mean_estimate(x, [clusters[k] for k in keys])
    if boolean:
        return pass_rate_estimate(round(float(x.sum())), x.size)
    return mean_estimate(x)


def metric_side(
    path: str, samples_a: dict[str, Sample], samples_b: dict[str, Sample], paired: list[str]
) -> dict[str, Any]:
    """One metric's per-sample means in each run, its within-sample spreads, and whether it
    is a pass rate of single trials (McNemar applies)."""
    out: dict[str, Any] = {"boolean": True, "single": True}
    for side, samples in (("a", samples_a), ("b", samples_b)):
        means: dict[str, float] = {}
        sds: list[float] = []
        count = 0
        for sid, sample in samples.items():
            values = sample.values.get(path)
            if not values:
                continue
            count += len(values)
            out["boolean"] &= all(isinstance(v, bool) for v in values)
            mean, sd, finite = _sample_mean(values)
            if finite:
                means[sid] = mean
                out["single"] &= finite == 1
            if sd is not None:
                sds.append(sd)
        out[side], out[f"count_{side}"], out[f"spread_{side}"] = means, count, _pooled(sds)
    out["paired"] = any(sid in out["a"] and sid in out["b"] for sid in paired)
    return out
