"""The family of metrics a comparison tests, and the verdict on each.

One function, ``assess``, takes the per-sample values of A and B (samples × metrics, NaN where
a sample lacks a metric) and returns, per metric, the paired test (``_stats``), its p-value
corrected for the family, the minimum detectable effect at the corrected alpha, the TOST
equivalence p-value and the verdict. The CLI gate, the UI and the calibration test all go
through it.

Family-wise correction: Holm (step-down Bonferroni, valid under any dependence), or a paired
max-T sign-flip permutation test (Westfall-Young single step): each permutation flips the
sign of a whole sample across every metric at once, so metrics that move together (a score
and its success flag) are not counted as independent chances to fail.

Verdict: *regressed* / *improved* when the corrected p-value is below alpha and the
direction-aware difference is beyond min_effect; *unchanged* when every pair is identical or
TOST at alpha puts the difference inside ±min_effect; *inconclusive* otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ._stats import RESAMPLES, PairedTest, min_detectable_effect, paired_test, tost_p

__all__ = ["Assessment", "Correction", "assess", "holm", "max_t", "verdict"]

Correction = Literal["holm", "maxt"]
Verdict = Literal["regressed", "improved", "unchanged", "inconclusive"]
Array = npt.NDArray[np.float64]

FLIP_CELLS = 1 << 22
"""Sign flips are drawn in chunks of at most this many cells (resamples × units): memory
stays bounded whatever the run's size."""
GAUSSIAN_UNITS = 20_000
"""From this many samples (or clusters) on, max-T draws its null from the Gaussian limit of
the t vector (its correlation estimated from the data) instead of flipping signs."""


@dataclass(frozen=True, slots=True)
class Assessment:
    """One metric of the family: its paired test, corrected p, MDE, TOST p and verdict."""

    test: PairedTest
    p_adjusted: float | None
    mde: float | None
    """Minimum detectable effect at 80 % power and the corrected alpha (alpha / family)."""
    p_equivalence: float | None
    verdict: Verdict
    gain: float | None
    """The mean difference signed so that positive is better."""


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values; a None (no test) counts in the family as p = 1 and stays None."""
    p = np.array([1.0 if v is None else v for v in pvalues], dtype=np.float64)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(scaled)
    return [None if v is None else float(q) for v, q in zip(pvalues, adjusted, strict=True)]


def _t_from_self_normalised(total: Array, squares: Array, units: Array) -> Array:
    """Student's t of a mean from sum / sqrt(sum of squares) (invariant to sign flips)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = total / np.sqrt(squares)
        t = ratio * np.sqrt((units - 1) / (units - ratio**2))
    return np.where(np.isnan(t), 0.0, np.abs(t))


def max_t(
    differences: npt.ArrayLike,
    clusters: npt.ArrayLike | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> list[float | None]:
    """Single-step max-T adjusted p-values of the column means of ``differences`` (samples ×
    metrics, NaN where missing): the share of sign-flip permutations (whole samples, or
    whole clusters) whose largest |t| over the metrics reaches each metric's |t|. None for a
    metric with fewer than two units or no variation."""
    d = np.asarray(differences, dtype=np.float64)
    present = ~np.isnan(d)
    filled = np.where(present, d, 0.0)
    if clusters is not None:
        _, index = np.unique(np.asarray(clusters), return_inverse=True)
        groups = int(index.max()) + 1 if index.size else 0
        units_values = np.zeros((groups, d.shape[1]))
        np.add.at(units_values, index, filled)
        units_present = np.zeros((groups, d.shape[1]), dtype=bool)
        np.logical_or.at(units_present, index, present)
        filled, present = units_values, units_present
    units = present.sum(axis=0).astype(np.float64)
    squares = (filled**2).sum(axis=0)
    valid = (units >= 2) & (squares > 0)
    observed = np.where(valid, _t_from_self_normalised(filled.sum(axis=0), squares, units), 0.0)
    rng = np.random.default_rng(seed)
    n = filled.shape[0]
    reach = np.zeros(d.shape[1])
    if valid.any():
        cols = filled[:, valid]
        if n >= GAUSSIAN_UNITS:
            scale = np.sqrt(squares[valid])
            corr = (cols.T @ cols) / np.outer(scale, scale)
            draws = rng.multivariate_normal(np.zeros(corr.shape[0]), corr, resamples)
            maxima = np.abs(draws).max(axis=1)
        else:
            chunk = max(1, FLIP_CELLS // max(n, 1))
            parts = []
            for start in range(0, resamples, chunk):
                bits = rng.integers(0, 2, size=(min(chunk, resamples - start), n), dtype=np.int8)
                flips = (2 * bits - 1).astype(np.float64)
                t = _t_from_self_normalised(flips @ cols, squares[valid], units[valid])
                parts.append(t.max(axis=1))
            maxima = np.concatenate(parts)
        maxima.sort()
        beyond = resamples - np.searchsorted(maxima, observed * (1 - 1e-12), side="left")
        reach = (beyond + 1) / (resamples + 1)
    return [float(min(1.0, r)) if ok else None for r, ok in zip(reach, valid, strict=True)]


def verdict(
    gain: float | None,
    p_adjusted: float | None,
    p_equivalence: float | None,
    identical: bool,
    alpha: float,
    min_effect: float,
) -> Verdict:
    """The rule of the module docstring."""
    if identical:
        return "unchanged"
    if gain is not None and p_adjusted is not None and p_adjusted < alpha:
        if gain < -min_effect:
            return "regressed"
        if gain > min_effect:
            return "improved"
    if p_equivalence is not None and p_equivalence < alpha:
        return "unchanged"
    return "inconclusive"


def assess(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    boolean: Sequence[bool],
    higher: Sequence[bool],
    alpha: float = 0.05,
    min_effect: float = 0.0,
    correction: Correction = "holm",
    clusters: npt.ArrayLike | None = None,
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> list[Assessment]:
    """Assess each metric (column) of the per-sample values ``a`` and ``b`` (samples ×
    metrics, aligned by sample, NaN where missing). ``boolean``: the column holds single 0/1
    outcomes (McNemar); ``higher``: higher is better. The family is every column."""
    va, vb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    keys = None if clusters is None else np.asarray(clusters)
    m = va.shape[1] if va.ndim == 2 else 0
    tests = []
    for j in range(m):
        both = ~np.isnan(va[:, j]) & ~np.isnan(vb[:, j])
        tests.append(
            paired_test(
                va[both, j],
                vb[both, j],
                boolean=boolean[j],
                clusters=None if keys is None else keys[both],
                seed=seed,
            )
        )
    if correction == "maxt":
        adjusted = max_t(vb - va, keys, seed, resamples)
        adjusted = [None if t.p is None else q for t, q in zip(tests, adjusted, strict=True)]
    else:
        adjusted = holm([t.p for t in tests])
    family_alpha = alpha / max(m, 1)
    out = []
    for t, q, up in zip(tests, adjusted, higher, strict=True):
        gain = None if t.mean is None else (t.mean if up else -t.mean)
        equivalence = tost_p(t.mean, t.se, t.df, min_effect)
        mde = min_detectable_effect(t.se, t.df, family_alpha)
        said = verdict(gain, q, equivalence, t.identical, alpha, min_effect)
        out.append(Assessment(t, q, mde, equivalence, said, gain))
    return out
