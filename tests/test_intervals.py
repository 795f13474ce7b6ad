"""History's intervals and exact quantiles, with scipy.stats and numpy as the oracles, and the
aggregates they come from merging alike in any split and order."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import numpy
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltrace._intervals import mean_interval, standard_error, wilson_interval
from evaltrace._quantiles import EXACT_LIMIT, linear_quantile
from evaltrace.schema._aggregate import (
    MetricAggregate,
    aggregate,
    encode_aggregates,
    merge_encoded,
    stats_of,
)

REL = 1e-9
"""Tolerance against scipy: relative, for figures computed by different float paths."""


def _stats(values: list[float | bool]) -> dict[str, object]:
    return dict(stats_of(aggregate({"m": v} for v in values))["m"])


@pytest.mark.parametrize("seed", range(20))
def test_mean_interval_is_scipys_t_interval(seed: int) -> None:
    """se is scipy.stats.sem and (ci_low, ci_high) scipy.stats.t.interval at 95 % on n−1 df,
    to 1e-9 relative, for random data of random size, spread and location."""
    rng = numpy.random.default_rng(seed)
    n = int(rng.integers(2, 400))
    values = (rng.normal(rng.uniform(-50, 50), rng.uniform(0.01, 20), n)).tolist()
    stats = _stats(values)
    sem = scipy.stats.sem(values)
    low, high = scipy.stats.t.interval(0.95, n - 1, loc=numpy.mean(values), scale=sem)
    assert stats["se"] == pytest.approx(sem, rel=REL)
    assert stats["ci_low"] == pytest.approx(low, rel=REL, abs=1e-12)
    assert stats["ci_high"] == pytest.approx(high, rel=REL, abs=1e-12)
    assert stats["interval"] == "t95"


def test_wilson_is_scipys_binomtest_interval() -> None:
    """pass_ci_low/high equal binomtest(k, n).proportion_ci(method="wilson") to 1e-12 for every
    k of n ≤ 60, and for random k of n up to 100,000."""
    rng = random.Random(7)
    cases = [(k, n) for n in range(1, 61) for k in range(n + 1)]
    cases += [(rng.randint(0, n), n) for n in (rng.randint(61, 100_000) for _ in range(200))]
    for k, n in cases:
        ci = scipy.stats.binomtest(k, n).proportion_ci(method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12), (k, n)


def test_pass_rate_carries_its_wilson_interval() -> None:
    """A boolean metric's history has its Wilson interval beside the pass rate."""
    stats = _stats([True] * 27 + [False] * 3)
    ci = scipy.stats.binomtest(27, 30).proportion_ci(method="wilson")
    assert (stats["pass_ci_low"], stats["pass_ci_high"]) == pytest.approx((ci.low, ci.high))
    assert stats["pass_interval"] == "wilson95"


@pytest.mark.parametrize(
    "values",
    [[0.5], [0.7, 0.7, 0.7], [1.7976931348623157e308, -1.7976931348623157e308]],
    ids=["one value", "no spread", "bounds past the double range"],
)
def test_no_interval_is_null_never_nan(values: list[float]) -> None:
    """n < 2 or zero variance: se and the bounds are None (JSON null), never NaN; bounds that
    would pass ±1.7e308 are None while se stays finite."""
    stats = _stats(values)
    assert stats["ci_low"] is None and stats["ci_high"] is None
    if len(set(values)) < 2:
        assert stats["se"] is None
    else:
        assert stats["se"] == 1.7976931348623157e308  # sd/√2 of {−max, max}: max itself
    assert "NaN" not in json.dumps(stats)
    assert standard_error(1, 1.0) is None and mean_interval(5, 1.0, None) is None
    assert wilson_interval(0, 0) is None


def test_the_issues_quantiles_are_numpys() -> None:
    """A 0/1 score with 90 % ones has p50 exactly 1.0 (the sketch said 0.9900000000000001);
    p90 of {0.2, 0.9, 1.0} is numpy's 0.98 (the sketch said 0.8957860577179272)."""
    binary = _stats([1.0] * 90 + [0.0] * 10)
    assert (binary["p50"], binary["p90"], binary["quantiles_exact"]) == (1.0, 1.0, True)
    three = _stats([0.2, 0.9, 1.0])
    assert three["p90"] == 0.98 == numpy.quantile([0.2, 0.9, 1.0], 0.9)
    assert "relative_accuracy" not in three


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 0.25])
        | st.floats(-1e6, 1e6, allow_nan=False)
        | st.floats(allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=200,
    ),
    st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.9, 0.99, 1.0]) | st.floats(0, 1),
)
def test_exact_quantiles_are_numpys_to_the_bit(values: list[float], q: float) -> None:
    """linear_quantile over a value→count map equals numpy.quantile(values, q) exactly (where
    numpy's own lerp stays finite)."""
    want = float(numpy.quantile(numpy.array(values), q))
    if math.isfinite(want):
        assert linear_quantile(Counter(values), q) == want


def test_past_the_limit_the_sketch_says_so() -> None:
    """More than EXACT_LIMIT distinct values: p50/p90 come from the sketch, within its
    stated relative accuracy of numpy's, and the stats say quantiles_exact false."""
    values = [1 + i / 7 for i in range(EXACT_LIMIT + 1)]
    stats = _stats(values)
    assert stats["quantiles_exact"] is False and stats["relative_accuracy"] == 0.01
    assert stats["p50"] == pytest.approx(numpy.quantile(values, 0.5), rel=0.02)


HUGE = [1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308, 2.3e-308, -3e-308]
_value = (
    st.sampled_from([0.0, 1.0, 0.5, 2.0, *HUGE])
    | st.floats(-1e9, 1e9, allow_nan=False)
    | st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False)
)
"""Every finite double but the subnormals (below 2.2e-308), whose mean is only known to a
subnormal step (docs/schema.md)."""


def _close_m2(got: float | None, want: float | None, scaled_top: float, n: int) -> bool:
    """Within 1e-9 relative, or 1e-12·n·(largest scaled |value|)² absolute (cancellation)."""
    assert got is not None and want is not None
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12 * n * scaled_top**2)


@settings(max_examples=300, deadline=None)
@given(st.lists(_value, min_size=1, max_size=120), st.randoms(use_true_random=False))
def test_merging_in_any_split_and_order_is_one_pass(
    values: list[float], rnd: random.Random
) -> None:
    """Aggregates of any split of the values, JSON round-tripped and merged in any order, have
    one pass's count, mean (within 1e-12 of the largest |value|), M2 (see _close_m2) and the
    very same exact value→count map; nothing is inf or NaN, values at ±1.7e308 included."""
    whole = MetricAggregate()
    whole.extend(values)
    cuts = sorted(rnd.sample(range(len(values) + 1), min(len(values) + 1, rnd.randint(1, 6))))
    parts = [values[a:b] for a, b in zip([0, *cuts], [*cuts, len(values)], strict=True)]
    rnd.shuffle(parts)
    merged: dict[str, MetricAggregate] = {}
    for part in parts:
        piece = MetricAggregate()
        piece.extend(part)
        merge_encoded(merged, json.loads(json.dumps(encode_aggregates({"m": piece}))))
    got = merged["m"]
    top = max(abs(v) for v in values)
    assert got.count == whole.count
    assert got.mean == pytest.approx(whole.mean, rel=1e-12, abs=1e-12 * top)
    assert math.isfinite(got.mean) and got.m2 is not None and math.isfinite(got.m2)
    exponent = math.frexp(top)[1]
    scaled_top = math.ldexp(top, -exponent) if abs(exponent) > 480 else top
    assert _close_m2(got.m2, whole.m2, scaled_top, len(values))
    assert got.values == whole.values == Counter(values)
    stats = got.stats()
    assert all(v is None or not isinstance(v, float) or math.isfinite(v) for v in stats.values()), (
        stats
    )


def test_m2_is_the_sum_of_squared_deviations() -> None:
    """On ordinary data the stored M2 is Σ(x − mean)², numpy's, unscaled."""
    rng = numpy.random.default_rng(3)
    values = rng.normal(0.6, 0.2, 1000).tolist()
    agg = aggregate({"m": v} for v in values)["m"]
    assert agg.m2 == pytest.approx(float(numpy.sum((numpy.array(values) - agg.mean) ** 2)))


def test_older_aggregates_still_read_without_intervals() -> None:
    """An aggregate stored before M2 and the exact map (9 fields) reads: the same count and
    mean, se/ci null, quantiles from the sketch (said so); merged with a new one, too."""
    new = encode_aggregates(aggregate({"m": v / 10} for v in range(11)))
    old = [entry[:9] for entry in new]
    merged: dict[str, MetricAggregate] = {}
    merge_encoded(merged, old)
    stats = stats_of(merged)["m"]
    assert (stats["count"], stats["mean"]) == (11, pytest.approx(0.5))
    assert (stats["se"], stats["ci_low"], stats["ci_high"]) == (None, None, None)
    assert stats["quantiles_exact"] is False and stats["relative_accuracy"] == 0.01
    merge_encoded(merged, new)
    assert stats_of(merged)["m"]["se"] is None and merged["m"].values is None


def test_three_values_at_the_top_of_the_double_range_fold() -> None:
    """3 × 1.7976931348623157e308 has a mean, no spread and exact quantiles (the fold raised
    OverflowError in fsum's partials, failing the store's close)."""
    top = 1.7976931348623157e308
    stats = _stats([top, top, top])
    assert (stats["mean"], stats["p50"], stats["se"]) == (top, top, None)
