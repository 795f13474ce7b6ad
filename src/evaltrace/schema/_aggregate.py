"""The mergeable per-metric aggregate (write side): what a commit folds, the store and run-summary
spans carry (``encode_aggregates``), and readers merge back (``merge_encoded``).

The rows ``get_experiment_history`` returns from these live in ``query/_history_rows``."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ddsketch.mapping import LogarithmicMapping

from .._intervals import (
    MEAN_INTERVAL,
    PASS_INTERVAL,
    mean_interval,
    standard_error,
    wilson_interval,
)
from .._quantiles import decode_counts, encode_counts, linear_quantile, merge_counts
from .._types import MetricStats
from ._scores import score_list

__all__ = [
    "MetricAggregate",
    "aggregate",
    "aggregate_lists",
    "as_float",
    "encode_aggregates",
    "finite_mean",
    "merge_encoded",
    "stats_of",
]


def as_float(value: float | int) -> float | None:
    """``float(value)``; None for an int past the double range (10**400)."""
    try:
        return float(value)
    except OverflowError:  # an int past the double range: not a statistic
        return None


def finite_mean(finite: list[float]) -> float:
    """The exactly rounded sum over the count; summed scaled down by a power of two (exact)
    when the sum itself would pass the double range (two values of 1e308). Pre-dividing by
    the count is not enough: fsum's partials overflow on 3 × 1.7976931348623157e308 / 3."""
    try:
        return math.fsum(finite) / len(finite)
    except OverflowError:
        shift = len(finite).bit_length() + 1
        return math.ldexp(math.fsum(math.ldexp(v, -shift) for v in finite) / len(finite), shift)


_ACCURACY: Final = 0.01
"""Relative accuracy of the p50/p90 of history: DDSketch's logarithmic mapping."""
_MAPPING: Final = LogarithmicMapping(_ACCURACY)
_QUANTILES: Final = (("p50", 0.5), ("p90", 0.9))


def _bucket(value: float) -> int:
    """A signed sketch key: positive values above 0, negative ones below, zero (and values too
    small to index) at 0, so that buckets of one metric sort by value."""
    if value > _MAPPING.min_possible:
        return _MAPPING.key(value) + _OFFSET
    if value < -_MAPPING.min_possible:
        return -(_MAPPING.key(-value) + _OFFSET)
    return 0


def _bucket_value(key: int) -> float:
    """A bucket's representative value. The topmost buckets (values near the double range's
    end, 1.7e308) overflow in the mapping's power: infinite here, which ``_quantile`` clamps to
    the run's own max (or min), the exact value."""
    if key == 0:
        return 0.0
    try:
        magnitude = float(_MAPPING.value(abs(key) - _OFFSET))
    except OverflowError:
        magnitude = math.inf
    return magnitude if key > 0 else -magnitude


_OFFSET: Final = 1 - _MAPPING.key(_MAPPING.min_possible)
"""Shifts every positive key above 0 (the smallest indexable value's key becomes 1)."""

_SAFE_EXPONENT: Final = 480
"""Values whose binary exponent is within ±480 have squared deviations summing far inside
the double range (2**962 each, ≤ 2**60 of them); past it ``m2`` is kept scaled."""


def _scale(low: float, high: float) -> int:
    """The binary exponent ``m2`` is scaled by (``M2 = m2·4**s``): 0 for ordinary values; the
    largest magnitude's exponent near the double range's ends (±1.7e308 and ±1e-308), so
    scaled values are about 1 and neither their squares overflow nor underflow to 0."""
    exponent = math.frexp(max(abs(low), abs(high)))[1] if low <= high else 0
    return 0 if abs(exponent) <= _SAFE_EXPONENT else exponent


@dataclass
class MetricAggregate:
    """One metric of a run as it can be merged across calls and writer processes: exact count,
    mean, min, max and pass counts; ``M2`` (the sum of squared deviations, merged by Chan et
    al.'s parallel formula) for the standard error; an exact value→count map while the metric
    has at most ``EXACT_LIMIT`` distinct values, and a DDSketch of the finite values.

    p50/p90 are exact (numpy's linear quantile) from the map; past the limit they are the
    sketch's: the sorted values' element at index ⌊q·(n−1)⌋ (numpy's ``method="lower"``)
    within 1 % relative, and ``stats`` says so. The same aggregate serves every backend, so a
    run's history reads the same from the store (which keeps aggregates written at commit
    time) and from Jaeger or Tempo (run-summary spans carry them).
    """

    count: int = 0
    mean: float = 0.0
    """A running mean, not a sum: values near the double range (1e308) cannot overflow it."""
    low: float = math.inf
    high: float = -math.inf
    non_finite: int = 0
    flags: int = 0
    passes: int = 0
    buckets: Counter[int] = field(default_factory=Counter)
    m2: float | None = 0.0
    """``M2·4**-_scale(low, high)``; None when unknown (an aggregate stored before it was)."""
    values: Counter[float] | None = field(default_factory=Counter)
    """Finite value → count; None past ``EXACT_LIMIT`` distinct values, or unknown."""

    def add(self, value: float | int | bool) -> None:
        """Take one more value (a boolean counts as a pass or a fail)."""
        self.extend((value,))

    def extend(self, values: Iterable[float | int | bool]) -> None:
        """Take many values at once (what folding does): the same statistics as ``add`` of
        each, the new values' mean exactly rounded (``fsum``) before it is merged in."""
        finite: list[float] = []
        for value in values:
            if value is True or value is False:
                self.flags += 1
                self.passes += value
                continue
            number = value if type(value) is float else as_float(value)
            if number is None:
                continue
            if number - number:  # nan for NaN and the infinities
                self.non_finite += 1
            else:
                finite.append(number)
        if finite:
            # Scores repeat (a judge's 1-5, 0.0 and 1.0): each distinct value is mapped once.
            counts = Counter(finite)
            buckets: Counter[int] = Counter()
            for number, times in counts.items():
                buckets[_bucket(number)] += times
            mean, low, high = finite_mean(finite), min(finite), max(finite)
            scale = _scale(low, high)
            # The mean of the scaled values: ``mean`` itself may have rounded (1e-308 / 3).
            centre = (
                math.fsum(math.ldexp(v, -scale) for v in finite) / len(finite) if scale else mean
            )
            m2 = math.fsum(
                times * (math.ldexp(number, -scale) - centre) ** 2
                for number, times in counts.items()
            )
            self.merge(
                MetricAggregate(
                    len(finite),
                    mean,
                    low,
                    high,
                    buckets=buckets,
                    m2=m2,
                    values=merge_counts(Counter(), counts),
                )
            )

    def merge(self, other: MetricAggregate) -> None:
        """Fold another aggregate of the same metric into this one."""
        count = self.count + other.count
        low, high = min(self.low, other.low), max(self.high, other.high)
        self.m2 = self._merged_m2(other, low, high)
        if count:
            # Weighted in the union's scale: neither overflows nor rounds to 0 near the ends.
            scale = _scale(low, high)
            mine, theirs = math.ldexp(self.mean, -scale), math.ldexp(other.mean, -scale)
            self.mean = math.ldexp(
                mine * (self.count / count) + theirs * (other.count / count), scale
            )
        self.count = count
        self.low, self.high = low, high
        self.values = merge_counts(self.values, other.values)
        self.non_finite += other.non_finite
        self.flags += other.flags
        self.passes += other.passes
        self.buckets.update(other.buckets)

    def _merged_m2(self, other: MetricAggregate, low: float, high: float) -> float | None:
        """Chan's ``M2a + M2b + δ²·na·nb/n``, each side rescaled to the union's scale and δ
        taken between scaled means, so nothing overflows at ±1.7e308."""
        if self.m2 is None or other.m2 is None:
            return None
        if not other.count:
            return self.m2
        if not self.count:
            return other.m2
        scale = _scale(low, high)
        mine = math.ldexp(self.m2, 2 * (_scale(self.low, self.high) - scale))
        theirs = math.ldexp(other.m2, 2 * (_scale(other.low, other.high) - scale))
        delta = math.ldexp(other.mean, -scale) - math.ldexp(self.mean, -scale)
        count = self.count + other.count
        return mine + theirs + delta * delta * (self.count / count) * other.count

    def _quantile(self, q: float) -> float:
        rank = q * (self.count - 1)
        seen = 0
        for key in sorted(self.buckets):
            seen += self.buckets[key]
            if seen > rank:
                return min(max(_bucket_value(key), self.low), self.high)
        return self.high

    def stats(self) -> MetricStats:
        """The metric as history shows it."""
        stats: MetricStats = {}
        if self.count or self.non_finite:
            stats["count"] = self.count
            if self.count:
                stats["mean"] = self.mean
                stats["min"] = self.low
                stats["max"] = self.high
                exact = self.values
                for name, q in _QUANTILES:
                    value = self._quantile(q) if exact is None else linear_quantile(exact, q)
                    stats[name] = value  # type: ignore[literal-required]
                stats["quantiles_exact"] = exact is not None
                if exact is None:
                    stats["relative_accuracy"] = _ACCURACY
                se = (
                    None
                    if self.low == self.high
                    else standard_error(self.count, self.m2, _scale(self.low, self.high))
                )
                ci = mean_interval(self.count, self.mean, se)
                stats["se"] = se
                stats["ci_low"], stats["ci_high"] = ci if ci else (None, None)
                stats["interval"] = MEAN_INTERVAL
            if self.non_finite:
                stats["non_finite"] = self.non_finite
        if self.flags:
            stats["pass_count"] = self.passes
            stats["pass_rate"] = self.passes / self.flags
            wilson = wilson_interval(self.passes, self.flags)
            stats["pass_ci_low"], stats["pass_ci_high"] = wilson if wilson else (None, None)
            stats["pass_interval"] = PASS_INTERVAL
            stats.setdefault("count", self.flags)
        return stats


def encode_aggregates(aggregates: Mapping[str, MetricAggregate]) -> list[list[Any]]:
    """Aggregates as plain JSON-able lists (what the store keeps per call and per run)."""
    return [
        [
            path,
            a.count,
            a.mean,
            a.low if a.count else None,
            a.high if a.count else None,
            a.non_finite,
            a.flags,
            a.passes,
            list(a.buckets.items()),
            a.m2,
            encode_counts(a.values),
        ]
        for path, a in aggregates.items()
    ]


def merge_encoded(into: dict[str, MetricAggregate], encoded: Iterable[list[Any]]) -> None:
    """Fold ``encode_aggregates`` output into ``into``. An entry written before ``m2`` and the
    exact map were kept (9 fields, not 11) reads with both unknown: no interval, the sketch."""
    for entry in encoded:
        path, count, mean, low, high, non_finite, flags, passes, buckets = entry[:9]
        m2, values = (entry[9], entry[10]) if len(entry) > 9 else (None, None)
        other = MetricAggregate(
            count,
            mean,
            math.inf if low is None else low,
            -math.inf if high is None else high,
            non_finite,
            flags,
            passes,
            Counter({int(k): n for k, n in buckets}),
            None if m2 is None else float(m2),
            decode_counts(values),
        )
        known = into.get(path)
        if known is None:
            into[path] = other
        else:
            known.merge(other)


def aggregate_lists(lists: Iterable[list[list[Any]]]) -> dict[str, MetricAggregate]:
    """Aggregates of some results' ``score_list``s."""
    values: dict[str, list[Any]] = {}
    for scores in lists:
        for path, value in scores:
            known = values.get(path)
            if known is None:
                values[path] = [value]
            else:
                known.append(value)
    out: dict[str, MetricAggregate] = {}
    for path, taken in values.items():
        out[path] = agg = MetricAggregate()
        agg.extend(taken)
    return out


def aggregate(evaluation_results: Iterable[Any]) -> dict[str, MetricAggregate]:
    """Aggregates per numeric or boolean *score* path of some results."""
    return aggregate_lists(score_list(result) for result in evaluation_results)


def stats_of(aggregates: dict[str, MetricAggregate]) -> dict[str, MetricStats]:
    """History's ``metrics`` from merged aggregates, by path."""
    return {path: agg.stats() for path, agg in sorted(aggregates.items())}
