"""The uncertainty history shows beside a mean or a pass rate, from a run's aggregates alone.

A mean gets the CLT standard error and a 95 % Student-t interval, each result taken as an
independent draw (history cannot see clusters or repeated trials of a sample: ``compare``
reads the results and corrects for those). A pass rate gets the 95 % Wilson score interval,
which stays inside [0, 1] and is honest at 0 of n and n of n. Where a number cannot be had
(fewer than two values, every value the same, a bound past the double range) it is None,
JSON null, never NaN.

The distributions are scipy's: ``scipy.special.stdtrit`` and ``ndtri`` are what
``scipy.stats.t.ppf`` and ``norm.ppf`` call, imported on first use because ``scipy.stats``
costs 0.6 s at import against 0.17 s (``python -X importtime``), and ``evaltrace runs`` is
run often. tests/test_intervals.py checks every figure against ``scipy.stats``.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Final

__all__ = [
    "CONFIDENCE",
    "MEAN_INTERVAL",
    "PASS_INTERVAL",
    "mean_interval",
    "standard_error",
    "wilson_interval",
]

CONFIDENCE: Final = 0.95
"""The confidence of every interval history shows."""
MEAN_INTERVAL: Final = "t95"
"""History's name for its mean interval: 95 % Student-t on n−1 df, CLT, per result."""
PASS_INTERVAL: Final = "wilson95"
"""History's name for its pass-rate interval: the 95 % Wilson score interval."""


@lru_cache(maxsize=512)
def _t(df: int) -> float:
    """The two-sided 95 % Student-t quantile on ``df`` degrees of freedom."""
    from scipy.special import stdtrit

    return float(stdtrit(df, 0.5 + CONFIDENCE / 2))


@lru_cache(maxsize=1)
def _z() -> float:
    """The two-sided 95 % normal quantile (1.959963…)."""
    from scipy.special import ndtri

    return float(ndtri(0.5 + CONFIDENCE / 2))


def standard_error(n: int, m2: float | None, scale: int = 0) -> float | None:
    """``sqrt(M2 / (n−1) / n)``, the standard error of a mean of ``n`` values whose sum of
    squared deviations is ``M2 = m2·4**scale`` (scaled so values near 1.7e308 stay finite).

    None for n < 2, an unknown ``m2`` (an aggregate written before it was kept), a zero or
    non-finite ``m2``, or a standard error past the double range.
    """
    if n < 2 or m2 is None or not (0.0 < m2 < math.inf):
        return None
    try:
        se = math.ldexp(math.sqrt(m2 / (n - 1) / n), scale)
    except OverflowError:
        return None
    return se if 0.0 < se < math.inf else None


def mean_interval(n: int, mean: float, se: float | None) -> tuple[float, float] | None:
    """The 95 % t interval ``mean ± t(n−1)·se``; None without a standard error, or when a
    bound passes the double range (two values at ±1.7e308 have no finite interval)."""
    if se is None or n < 2:
        return None
    half = _t(n - 1) * se
    low, high = mean - half, mean + half
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return low, high


def wilson_interval(k: int, n: int) -> tuple[float, float] | None:
    """The 95 % Wilson score interval of ``k`` passes in ``n`` (scipy's
    ``binomtest(k, n).proportion_ci(method="wilson")``, its closed form); None for n < 1."""
    if n < 1 or not 0 <= k <= n:
        return None
    z = _z()
    p = k / n
    denom = 2 * (n + z * z)
    center = (2 * n * p + z * z) / denom
    delta = z / denom * math.sqrt(4 * n * p * (1 - p) + z * z)
    low = 0.0 if k == 0 else max(0.0, center - delta)
    high = 1.0 if k == n else min(1.0, center + delta)
    return low, high
