"""_stats and _family against scipy.stats and statsmodels as oracles, on random data.

Tolerances: closed forms (t, Wilson, clustered SE, Holm, McNemar, TOST) agree to a relative
1e-9; the MDE to 1e-4 (statsmodels' own root finder stops near 2e-5); Monte Carlo figures
within the bounds each test states.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import TTestPower
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import ttost_paired

from evaltrace._family import assess, holm, max_t, verdict
from evaltrace._stats import (
    clustered_se,
    mcnemar_exact,
    mean_estimate,
    min_detectable_effect,
    newcombe_paired,
    paired_test,
    pass_rate_estimate,
    tost_p,
)

CLOSE = 1e-9
SEEDS = range(25)


@pytest.mark.parametrize("seed", SEEDS)
def test_mean_interval_is_scipys_t_interval(seed: int) -> None:
    """A mean's SE is scipy's sem and its interval scipy's t interval on n - 1 df."""
    rng = np.random.default_rng(seed)
    x = rng.gamma(2.0, 1.0, rng.integers(2, 400))
    got = mean_estimate(x)
    low, high = stats.t.interval(0.95, x.size - 1, loc=x.mean(), scale=stats.sem(x))
    assert got.se == pytest.approx(stats.sem(x), rel=CLOSE)
    assert (got.low, got.high) == pytest.approx((low, high), rel=CLOSE)


@pytest.mark.parametrize(("k", "n"), [(0, 1), (0, 30), (1, 30), (27, 300), (299, 300), (5, 5)])
def test_pass_rate_interval_is_wilson(k: int, n: int) -> None:
    """A pass rate's interval is statsmodels' Wilson interval."""
    got = pass_rate_estimate(k, n)
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (got.low, got.high) == pytest.approx((low, high), rel=CLOSE, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_clustered_se_is_statsmodels_cluster_robust_ols(seed: int) -> None:
    """Miller's clustered SE (G/(G-1) factor) and its t interval on G - 1 df are statsmodels'
    cluster-robust OLS on a constant."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(10, 300))
    groups = rng.integers(0, int(rng.integers(2, 40)), n)
    x = rng.normal(size=n) + rng.normal(size=groups.max() + 1)[groups]
    fit = sm.OLS(x, np.ones(n)).fit(cov_type="cluster", cov_kwds={"groups": groups}, use_t=True)
    got = mean_estimate(x, groups)
    assert got.se == pytest.approx(fit.bse[0], rel=CLOSE)
    assert (got.low, got.high) == pytest.approx(tuple(fit.conf_int()[0]), rel=CLOSE)
    test = paired_test(np.zeros(n), x, clusters=groups)
    assert test.p == pytest.approx(fit.pvalues[0], rel=1e-7)


@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=60))
def test_one_sample_per_cluster_is_the_clt_error(values: list[float]) -> None:
    """With each row its own cluster the clustered SE is the CLT standard error."""
    x = np.array(values)
    se, groups = clustered_se(x, np.arange(x.size))
    clt = mean_estimate(x).se
    assert groups == x.size
    assert (se is None and not clt) or se == pytest.approx(clt, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_paired_t_is_scipys_ttest_rel(seed: int) -> None:
    """From 30 pairs on, the p-value and interval are scipy's paired t on n - 1 df."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(30, 500))
    a = rng.normal(size=n)
    b = a + rng.normal(0.05, 1.0, n)
    got = paired_test(a, b)
    want = stats.ttest_rel(b, a)
    ci = want.confidence_interval()
    assert got.method == "paired t" and got.df == n - 1
    assert got.p == pytest.approx(want.pvalue, rel=CLOSE)
    assert (got.low, got.high) == pytest.approx((ci.low, ci.high), rel=CLOSE)


@pytest.mark.parametrize("n", [2, 5, 9, 13])
def test_small_n_sign_flip_p_is_exact(n: int) -> None:
    """Below 14 pairs the sign-flip p-value is exact: it equals full enumeration."""
    d = np.random.default_rng(n).normal(0.4, 1.0, n)
    flips = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    means = (flips * d).mean(axis=1)
    exact = np.mean(np.abs(means) >= abs(d.mean()) * (1 - 1e-12))
    got = paired_test(np.zeros(n), d)
    assert got.method == "sign-flip" and got.p == pytest.approx(exact, rel=CLOSE)


@pytest.mark.parametrize(("worse", "better"), [(16, 12), (30, 10), (0, 5), (7, 7), (1, 0)])
def test_mcnemar_is_statsmodels_exact(worse: int, better: int) -> None:
    """Exact McNemar equals statsmodels' mcnemar(exact=True): 16 vs 12 p≈0.57, 30 vs 10 ≈0.002."""
    table = [[50, worse], [better, 50]]
    assert mcnemar_exact(worse, better) == pytest.approx(
        mcnemar(table, exact=True).pvalue, rel=CLOSE
    )


def test_issue_pass_fail_instances() -> None:
    """The issue's 300 pairs: 16 vs 12 discordant is inconclusive, 30 vs 10 regressed."""
    for worse, better, p in ((16, 12, 0.57), (30, 10, 0.002)):
        a = np.r_[
            np.ones(worse), np.zeros(better), np.ones(150), np.zeros(300 - 150 - worse - better)
        ]
        b = np.r_[
            np.zeros(worse), np.ones(better), np.ones(150), np.zeros(300 - 150 - worse - better)
        ]
        got = paired_test(a, b, boolean=True)
        assert got.method == "McNemar exact" and got.p == pytest.approx(p, abs=0.005)


def test_newcombe_interval_covers_the_truth() -> None:
    """Newcombe's paired interval holds its point estimate and covers the true difference in
    ≥ 93 % of 800 seeded draws (n = 60, correlated outcomes; nominal 95 %)."""
    rng = np.random.default_rng(3)
    covered = 0
    for _ in range(800):
        z = rng.normal(size=60)
        a = z + rng.normal(size=60) > 0.0
        b = z + rng.normal(size=60) > -0.3
        low, high = newcombe_paired(a, b)
        assert -1 <= low <= b.mean() - a.mean() <= high <= 1
        truth = stats.norm.cdf(0.3 / math.sqrt(2)) - 0.5
        covered += low <= truth <= high
    assert covered / 800 >= 0.93


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
@settings(max_examples=30, deadline=None)
def test_holm_is_statsmodels_holm(pvalues: list[float]) -> None:
    """Holm-adjusted p-values equal statsmodels' multipletests(method='holm')."""
    want = multipletests(pvalues, method="holm")[1]
    got = holm(pvalues)
    assert got == pytest.approx(list(want), rel=CLOSE, abs=1e-15)


def test_holm_counts_untested_metrics_in_the_family() -> None:
    """A metric without a p-value stays None and counts as p = 1 in the family."""
    assert holm([0.01, None, 0.02]) == pytest.approx([0.03, None, 0.04])


@pytest.mark.parametrize(("n", "alpha"), [(10, 0.05), (50, 0.01), (300, 0.01), (5000, 0.001)])
def test_mde_is_statsmodels_ttest_power(n: int, alpha: float) -> None:
    """The MDE over the SE equals statsmodels' TTestPower effect size for 80 % power, × √n."""
    sd = 0.37
    effect = TTestPower().solve_power(nobs=n, alpha=alpha, power=0.8)
    got = min_detectable_effect(sd / math.sqrt(n), n - 1, alpha)
    assert got == pytest.approx(effect * sd, rel=1e-4)


@pytest.mark.parametrize("seed", range(10))
def test_tost_is_statsmodels_ttost_paired(seed: int) -> None:
    """TOST's p-value equals statsmodels' ttost_paired with bounds ±min_effect."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=80)
    b = a + rng.normal(0.02, 0.3, 80)
    t = paired_test(a, b)
    want = ttost_paired(b, a, -0.1, 0.1)[0]
    assert tost_p(t.mean, t.se, t.df, 0.1) == pytest.approx(want, rel=CLOSE)


def test_undefined_statistics_are_none_never_nan() -> None:
    """n < 2, zero variance and no data give None, never NaN."""
    for a, b in (([], []), ([0.5], [0.7]), ([0.5] * 5, [0.5] * 5)):
        t = paired_test(a, b)
        for value in (t.sd, t.se, t.low, t.high, t.p):
            assert value is None or math.isfinite(value)
    assert paired_test([0.5] * 5, [0.5] * 5).p is None
    assert paired_test([0.5] * 5, [0.5] * 5).identical
    assert mean_estimate([1.0]).se is None and mean_estimate([]).mean is None
    assert min_detectable_effect(None, 4, 0.05) is None and tost_p(0.1, 0.0, 4, 0.1) is None


def test_max_t_respects_duplicated_metrics() -> None:
    """Two copies of one metric cost max-T (almost) nothing, while Holm doubles the p-value."""
    rng = np.random.default_rng(11)
    d = rng.normal(0.12, 1.0, (200, 1))
    single = max_t(d, seed=1)[0]
    both = max_t(np.hstack([d, d]), seed=1)
    assert single is not None and both[0] == pytest.approx(single, abs=0.002)
    raw = stats.ttest_1samp(d[:, 0], 0).pvalue
    assert holm([raw, raw])[0] == pytest.approx(2 * raw)
    assert single == pytest.approx(raw, rel=0.15)  # the sign-flip p is close to the t's


def test_max_t_adjusts_at_least_the_single_test() -> None:
    """Each max-T adjusted p-value is at least that metric's own permutation p-value."""
    rng = np.random.default_rng(5)
    d = rng.normal(0.05, 1.0, (120, 4))
    adjusted = max_t(d, seed=2)
    for j in range(4):
        alone = max_t(d[:, [j]], seed=2)[0]
        assert adjusted[j] is not None and alone is not None
        assert adjusted[j] >= alone - 0.01


def test_max_t_gaussian_limit_agrees_with_flips(monkeypatch: pytest.MonkeyPatch) -> None:
    """From 20,000 samples on max-T draws from the Gaussian limit of the t vector; its
    adjusted p-values match sign flips on the same data within 0.01."""
    rng = np.random.default_rng(9)
    shared = rng.normal(size=(20_000, 1))
    d = 0.7 * shared + 0.7 * rng.normal(size=(20_000, 3)) + np.array([0.03, 0.01, 0.0])
    gaussian = max_t(d, seed=3, resamples=4000)
    monkeypatch.setattr("evaltrace._family.GAUSSIAN_UNITS", 10**9)
    flipped = max_t(d, seed=3, resamples=4000)
    assert gaussian[0] is not None and gaussian[0] < 0.05
    assert gaussian == pytest.approx(flipped, abs=0.01)


def test_verdict_rule() -> None:
    """Significant and beyond min_effect: regressed/improved; TOST: unchanged; else inconclusive."""
    assert verdict(-0.2, 0.01, None, False, 0.05, 0.1) == "regressed"
    assert verdict(0.2, 0.01, None, False, 0.05, 0.1) == "improved"
    assert verdict(-0.05, 0.01, 0.01, False, 0.05, 0.1) == "unchanged"
    assert verdict(-0.05, 0.01, 0.2, False, 0.05, 0.1) == "inconclusive"
    assert verdict(-0.2, 0.2, None, False, 0.05, 0.0) == "inconclusive"
    assert verdict(None, None, None, True, 0.05, 0.0) == "unchanged"


def test_assess_holds_metrics_with_missing_pairs() -> None:
    """A NaN (a sample without the metric) leaves that pair out of that metric only."""
    a = np.array([[0.5, 1.0], [0.6, np.nan], [0.7, 0.0]] * 10)
    b = a + np.array([0.1, 0.0])
    [first, second] = assess(a, b, boolean=[False, True], higher=[True, True])
    assert first.test.n == 30 and second.test.n == 20
    assert first.verdict == "improved" and second.verdict == "unchanged"
