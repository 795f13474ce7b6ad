"""The sample is the unit: a run's score columns grouped by sample id, each metric's trials
(epochs: the same id k times) averaged per sample, with their spread within the sample, and
each sample's cluster key (``--cluster``).

Vectorised over the columns (``RunScores``): a 1,000,000-result run is a few numpy passes per
metric, not a million Python objects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ._stats import Estimate, mean_estimate, pass_rate_estimate
from .schema._columns import BOOLEAN, RunScores, ScoreColumn

__all__ = ["SLICE", "Grouped", "MetricSide", "estimate", "group", "metric_side"]

SLICE = 65_536
"""Sample ids hashed or looked up in one C call: a call on a million holds the GIL ~0.35 s,
which a page server's other requests (``/``) would wait for (``scale.index_during_compare``)."""


@dataclass(frozen=True, slots=True)
class Grouped:
    """A run's rows grouped by sample id."""

    ids: list[str]
    """Sample ids in first-seen order."""
    index: dict[str, int]
    codes: npt.NDArray[np.int64]
    """Each row's sample (an index into ``ids``)."""
    trials: npt.NDArray[np.int64]
    clusters: list[Any] | None
    """Each sample's cluster key (its first row's), when the run has them."""

    @property
    def once(self) -> bool:
        """Every sample has exactly one row (sample ``i`` is row ``i``)."""
        return len(self.ids) == len(self.codes)


def group(scores: RunScores) -> Grouped:
    """Rows by sample id, in first-seen order (the dict does it in C: ~0.25 s a million rows,
    against ~0.8 s for a Python loop, and numpy's sort-based ``unique`` is slower still on
    hashed ids)."""
    rows = scores.sample_ids
    index: dict[str, int] = {}
    for at in range(0, len(rows), SLICE):  # slices: a server's other requests get the GIL
        index.update(zip(rows[at : at + SLICE], range(at, at + SLICE), strict=False))
    if len(index) == len(rows):  # one row a sample (most runs): the rows are the samples
        ids, codes = rows, np.arange(len(rows), dtype=np.int64)
    else:
        ids = list(dict.fromkeys(rows))
        index = dict(zip(ids, range(len(ids)), strict=True))
        codes = np.fromiter(map(index.__getitem__, rows), dtype=np.int64, count=len(rows))
    clusters = None
    if scores.clusters is not None:
        _, first = np.unique(codes, return_index=True)  # codes count up in first-seen order
        clusters = [scores.clusters[i] for i in first.tolist()]
    return Grouped(ids, index, codes, np.bincount(codes, minlength=len(ids)), clusters)


@dataclass(frozen=True, slots=True)
class MetricSide:
    """One metric in one run, per sample."""

    mean: npt.NDArray[np.float64]
    """The mean of the sample's trials but NaN ones (±inf when one is infinite), NaN when
    none is left."""
    has: npt.NDArray[np.bool_]
    """The sample has a mean (some trial is not NaN)."""
    carried: npt.NDArray[np.int32]
    """Trials of the sample carrying the metric (NaN ones too)."""
    count: int
    """Results carrying the metric."""
    boolean: bool
    single: bool
    """Every sample with a mean has exactly one trial that is not NaN."""
    spread: float | None
    """Within-sample standard deviation over repeated finite trials (pooled); None when no
    sample has two."""
    kind: str


def _empty(size: int) -> MetricSide:
    none = np.zeros(size, dtype=np.int32)
    return MetricSide(
        np.full(size, math.nan), none.astype(np.bool_), none, 0, True, True, None, BOOLEAN
    )


def metric_side(column: ScoreColumn | None, grouped: Grouped) -> MetricSide:
    """Per sample: the mean of its trials, whether it has one, how many trials carried it;
    the metric's spread within samples and whether it is a pass rate of single trials."""
    size = len(grouped.ids)
    if column is None:
        return _empty(size)
    codes, values, present = grouped.codes, column.values, column.present
    if grouped.once:  # one row a sample (most runs): the rows are the samples, in order
        everywhere = bool(present.all())
        mean = values if everywhere else np.where(present, values, math.nan)
        kind = column.kind
        return MetricSide(
            mean,
            ~np.isnan(mean),
            present.astype(np.int32),
            len(present) if everywhere else int(np.count_nonzero(present)),
            kind == BOOLEAN,
            True,
            None,
            kind,
        )
    carried = np.bincount(codes[present], minlength=size).astype(np.int32)
    kept = present & ~np.isnan(values)
    kept_codes, kept_values = codes[kept], values[kept]
    finite_count = np.bincount(kept_codes, minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        sums = np.bincount(kept_codes, weights=kept_values, minlength=size)
        mean = np.where(finite_count > 0, sums / np.maximum(finite_count, 1), math.nan)
    finite = np.isfinite(kept_values)
    f_codes, f_values = kept_codes[finite], kept_values[finite]
    n_finite = np.bincount(f_codes, minlength=size)
    spread = None
    repeated = n_finite > 1
    if repeated.any():
        f_mean = np.bincount(f_codes, weights=f_values, minlength=size) / np.maximum(n_finite, 1)
        squares = np.bincount(f_codes, weights=(f_values - f_mean[f_codes]) ** 2, minlength=size)
        variances = squares[repeated] / (n_finite[repeated] - 1)
        spread = math.sqrt(float(np.mean(variances)))
    has = finite_count > 0
    return MetricSide(
        mean,
        has,
        carried,
        int(present.sum()),
        column.kind == BOOLEAN,
        bool((finite_count[has] == 1).all()),
        spread,
        column.kind,
    )


def estimate(
    mean: npt.NDArray[np.float64], clusters: Sequence[Any] | None, boolean: bool
) -> Estimate | None:
    """The run's mean over its samples (each sample's trials averaged) with its interval:
    Wilson for a pass rate, clustered when samples have cluster keys, else CLT."""
    keep = np.isfinite(mean)
    if not keep.any():
        return None
    x = mean[keep]
    if clusters is not None:
        return mean_estimate(x, [clusters[i] for i in np.flatnonzero(keep).tolist()])
    if boolean:
        return pass_rate_estimate(round(float(x.sum())), x.size)
    return mean_estimate(x)
