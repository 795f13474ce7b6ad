"""The statistics of a comparison, as pure functions over numpy arrays (scipy.stats inside).

A mean gets a CLT standard error and a t interval (n - 1 df); a pass rate a Wilson interval;
rows sharing a cluster key (questions about one passage) a clustered standard error, Miller
(2024), "Adding Error Bars to Evals": the sum over clusters of the summed residuals, squared,
with the G / (G - 1) small-sample factor (what statsmodels' cluster-robust OLS on a constant
gives), and G - 1 df. A paired difference gets a paired t, a seeded sign-flip permutation test
where n is small or the t is undefined, an exact McNemar test and a Newcombe interval for
pass/fail, or a clustered paired t. Where a statistic does not exist (n < 2, zero variance) it
is None, never NaN.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import optimize, stats

__all__ = [
    "Estimate",
    "PairedTest",
    "mcnemar_exact",
    "mean_estimate",
    "min_detectable_effect",
    "newcombe_paired",
    "paired_test",
    "pass_rate_estimate",
    "tost_p",
]

Array = npt.NDArray[np.float64]

CONFIDENCE = 0.95
SMALL_N = 30
"""Below this many pairs the p-value of a numeric difference comes from the sign-flip
permutation test (exact up to 13 pairs), not from the t distribution."""
RESAMPLES = 9999
"""Sign-flip resamples: scipy enumerates all 2**n flips (an exact p-value) up to n = 13."""
POWER = 0.8


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True, slots=True)
class Estimate:
    """A mean (or pass rate) with its standard error and 95 % interval; None where undefined."""

    mean: float | None
    se: float | None
    low: float | None
    high: float | None
    n: int
    method: str
    """``"t"`` (CLT), ``"wilson"`` (pass rate) or ``"clustered t"``."""
    clusters: int | None = None


def clustered_se(x: Array, clusters: npt.ArrayLike) -> tuple[float | None, int]:
    """Cluster-robust standard error of the mean of ``x`` and the number of clusters G:
    sqrt(G / (G - 1) * sum_c (sum_{i in c} (x_i - mean))**2) / n; None when G < 2."""
    _, index = np.unique(np.asarray(clusters), return_inverse=True)
    groups = int(index.max()) + 1 if index.size else 0
    if groups < 2:
        return None, groups
    sums = np.bincount(index, weights=x - x.mean(), minlength=groups)
    variance = groups / (groups - 1) * float(np.sum(sums**2)) / x.size**2
    return _finite(math.sqrt(variance)), groups


@functools.lru_cache(maxsize=1024)
def _t_quantile(q: float, df: float) -> float:
    return float(stats.t.ppf(q, df))


@functools.lru_cache(maxsize=4096)
def _wilson(k: int, n: int) -> tuple[float, float]:
    """scipy's Wilson interval (cached: a binomtest object computes its p-value eagerly)."""
    ci = stats.binomtest(k, n).proportion_ci(CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def _interval(
    mean: float, se: float | None, df: float, confidence: float = CONFIDENCE
) -> tuple[float | None, float | None]:
    if se is None or df < 1:
        return None, None
    half = _t_quantile(0.5 + confidence / 2, df) * se
    return _finite(mean - half), _finite(mean + half)


def mean_estimate(x: npt.ArrayLike, clusters: npt.ArrayLike | None = None) -> Estimate:
    """Mean of the finite ``x`` with its CLT (or clustered) standard error and t interval."""
    values = np.asarray(x, dtype=np.float64)
    n = values.size
    if n == 0:
        return Estimate(None, None, None, None, 0, "t")
    with np.errstate(over="ignore", invalid="ignore"):
        mean = _finite(float(values.mean()))
        if clusters is not None:
            se, groups = clustered_se(values, clusters)
            low, high = _interval(mean or 0.0, se, groups - 1)
            return Estimate(mean, se, low, high, n, "clustered t", groups)
        se = _finite(float(values.std(ddof=1)) / math.sqrt(n)) if n > 1 else None
    if mean is None:
        return Estimate(None, None, None, None, n, "t")
    low, high = _interval(mean, se, n - 1)
    return Estimate(mean, se, low, high, n, "t")


def pass_rate_estimate(k: int, n: int) -> Estimate:
    """``k`` passes of ``n``: the rate, its binomial standard error and Wilson interval."""
    if n == 0:
        return Estimate(None, None, None, None, 0, "wilson")
    rate = k / n
    low, high = _wilson(k, n)
    return Estimate(rate, math.sqrt(rate * (1 - rate) / n), low, high, n, "wilson")


@functools.lru_cache(maxsize=4096)
def mcnemar_exact(worse: int, better: int) -> float | None:
    """Two-sided exact McNemar p-value: a binomial test on the discordant pairs; None when
    there is none."""
    if worse + better == 0:
        return None
    return float(stats.binomtest(better, worse + better, 0.5).pvalue)


def newcombe_paired(a: npt.ArrayLike, b: npt.ArrayLike) -> tuple[float, float]:
    """Newcombe's (1998, method 10) 95 % interval for rate(b) - rate(a) over paired 0/1
    outcomes: Wilson intervals of both rates combined with their phi correlation."""
    x, y = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    n = x.size
    both, only_a = int(np.sum(x & y)), int(np.sum(x & ~y))
    only_b, neither = int(np.sum(~x & y)), int(np.sum(~x & ~y))
    p_b, p_a = (both + only_b) / n, (both + only_a) / n
    low_b, high_b = _wilson(both + only_b, n)
    low_a, high_a = _wilson(both + only_a, n)
    margins = (both + only_a) * (only_b + neither) * (both + only_b) * (only_a + neither)
    phi = (both * neither - only_a * only_b) / math.sqrt(margins) if margins else 0.0
    lb, ub, la, ua = p_b - low_b, high_b - p_b, p_a - low_a, high_a - p_a
    delta = math.sqrt(max(lb**2 - 2 * phi * lb * ua + ua**2, 0.0))
    epsilon = math.sqrt(max(ub**2 - 2 * phi * ub * la + la**2, 0.0))
    diff = p_b - p_a
    return max(-1.0, diff - delta), min(1.0, diff + epsilon)


@dataclass(frozen=True, slots=True)
class PairedTest:
    """The mean paired difference (b - a) with its standard error, interval, p-value and
    the df of its t; None where it does not exist."""

    n: int
    mean: float | None
    sd: float | None
    se: float | None
    low: float | None
    high: float | None
    p: float | None
    df: float | None
    method: str
    """``paired t``, ``sign-flip`` (permutation), ``McNemar exact`` or ``clustered t``."""
    identical: bool
    """Every pair identical (no difference at all)."""
    clusters: int | None = None


def _sign_flip_p(d: Array, seed: int) -> float:
    result = stats.permutation_test(
        (d,),
        lambda x, axis: np.mean(x, axis=axis),
        permutation_type="samples",
        vectorized=True,
        n_resamples=RESAMPLES,
        alternative="two-sided",
        rng=np.random.default_rng(seed),
    )
    return min(1.0, float(result.pvalue))


def paired_test(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    boolean: bool = False,
    clusters: npt.ArrayLike | None = None,
    seed: int = 0,
) -> PairedTest:
    """Paired difference ``b - a`` of aligned arrays. ``boolean``: 0/1 outcomes, tested by
    exact McNemar with a Newcombe interval. ``clusters``: a key per pair, for a clustered
    paired t on G - 1 df. Otherwise a paired t on n - 1 df, its p-value from a seeded
    sign-flip permutation test when n < SMALL_N or the variance is zero."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = y - x
    n = d.size
    identical = bool(n and np.all(d == 0))
    if n == 0:
        return PairedTest(0, None, None, None, None, None, None, None, "paired t", False)
    with np.errstate(over="ignore", invalid="ignore"):
        mean = _finite(float(d.mean()))
        sd = _finite(float(d.std(ddof=1))) if n > 1 else None
    if mean is None:
        return PairedTest(n, None, None, None, None, None, None, None, "paired t", identical)
    if clusters is not None:
        se, groups = clustered_se(d, clusters)
        t_p = None
        if se and groups > 1:
            t_p = float(2 * stats.t.sf(abs(mean) / se, groups - 1))
        low, high = _interval(mean, se or None, groups - 1)
        return PairedTest(
            n, mean, sd, se, low, high, t_p, groups - 1.0, "clustered t", identical, groups
        )
    se = sd / math.sqrt(n) if sd is not None else None
    low, high = _interval(mean, se or None, n - 1)
    if boolean:
        worse, better = int(np.sum(d < 0)), int(np.sum(d > 0))
        low, high = newcombe_paired(x, y)
        p = mcnemar_exact(worse, better)
        return PairedTest(n, mean, sd, se, low, high, p, n - 1.0, "McNemar exact", identical)
    if identical or n < 2:
        return PairedTest(n, mean, sd, se, low, high, None, None, "paired t", identical)
    if n < SMALL_N or not se:
        return PairedTest(
            n, mean, sd, se, low, high, _sign_flip_p(d, seed), n - 1.0, "sign-flip", identical
        )
    p = float(2 * stats.t.sf(abs(mean) / se, n - 1))
    return PairedTest(n, mean, sd, se, low, high, p, n - 1.0, "paired t", identical)


@functools.lru_cache(maxsize=256)
def _mde_in_se(df: float, alpha: float, power: float) -> float:
    """The MDE in standard errors: it depends on df, alpha and power only (cached)."""
    crit = float(stats.t.ppf(1 - alpha / 2, df))

    def shortfall(nc: float) -> float:
        upper, lower = stats.nct.sf(crit, df, nc), stats.nct.cdf(-crit, df, nc)
        # scipy's nct.cdf is NaN far in its tail (nc > ~11 at 300 df), where it is ~0
        return float(np.nan_to_num(upper) + np.nan_to_num(lower)) - power

    high = 2 * (crit + float(stats.norm.ppf(power))) + 1
    return float(optimize.brentq(shortfall, 0.0, high, xtol=1e-10))


def min_detectable_effect(
    se: float | None, df: float | None, alpha: float, power: float = POWER
) -> float | None:
    """The smallest true difference a two-sided t test at ``alpha`` (already corrected for
    the family) detects with probability ``power``, given the standard error and df at
    hand: solves noncentral-t power(delta / se) = power. None without a standard error."""
    if not se or df is None or df < 1:
        return None
    return _finite(se * _mde_in_se(float(df), alpha, power))


def tost_p(mean: float | None, se: float | None, df: float | None, bound: float) -> float | None:
    """Two one-sided t tests that the true difference lies inside (-bound, +bound): the larger
    of the two p-values (small means equivalent). None without a standard error or bound."""
    if mean is None or not se or df is None or df < 1 or bound <= 0:
        return None
    lower = stats.t.sf((mean + bound) / se, df)
    upper = stats.t.cdf((mean - bound) / se, df)
    return float(max(lower, upper))
