"""compare_runs: metric deltas, per-sample pairing by sample_id, regressions."""

from __future__ import annotations

import math
from typing import Any

import pytest

from evaltrace._compare import compare_runs


def result(sample_id: str, run_id: str = "a", **metrics: Any) -> dict[str, Any]:
    """A result dict shaped like get_run_results output, with the given metric leaves."""
    return {"run_id": run_id, "sample_id": sample_id, "evaluation_result": {"m": metrics}}


def test_pairs_samples_by_id_not_position() -> None:
    """Samples pair by sample_id even when run B logged them in another order."""
    a = [result("s1", f1=0.2), result("s2", f1=0.9)]
    b = [result("s2", "b", f1=0.9), result("s1", "b", f1=0.6)]
    comparison = compare_runs(a, b)
    assert (comparison.run_a, comparison.run_b) == ("a", "b")
    [change] = comparison.changes
    assert (change.sample_id, change.metric, change.a, change.b) == ("s1", "m.f1", 0.2, 0.6)
    assert change.delta == pytest.approx(0.4)
    [metric] = comparison.metrics
    assert (metric.improved, metric.regressed, metric.unchanged) == (1, 0, 1)


def test_counts_samples_and_lists_unpaired_ones() -> None:
    """Per-sample counts cover paired samples; samples in one run only are listed by id."""
    a = [result("up", x=0.1, y=1.0), result("down", x=0.5), result("mix", x=0.1, y=0.9)]
    a += [result("same", x=0.3), result("gone", x=1.0)]
    b = [result("up", x=0.2, y=1.0), result("down", x=0.4), result("mix", x=0.2, y=0.1)]
    b += [result("same", x=0.3), result("new", x=0.0)]
    comparison = compare_runs(a, b)
    assert comparison.samples == {
        "paired": 4,
        "improved": 1,
        "regressed": 1,
        "mixed": 1,
        "unchanged": 1,
    }
    assert (comparison.only_in_a, comparison.only_in_b) == (["gone"], ["new"])


def test_means_use_every_result_of_each_run() -> None:
    """A metric's means are over all of each run's results, paired or not."""
    a = [result("s1", f1=0.2), result("s2", f1=0.4)]
    b = [result("s1", f1=0.5), result("s3", f1=1.0)]
    [metric] = compare_runs(a, b).metrics
    assert metric.mean_a == pytest.approx(0.3) and metric.mean_b == pytest.approx(0.75)
    assert metric.delta == pytest.approx(0.45)


def test_booleans_compare_by_pass_rate() -> None:
    """A boolean metric's mean is its pass rate; True -> False is a regressed sample."""
    a = [result("s1", ok=True), result("s2", ok=True)]
    b = [result("s1", ok=False), result("s2", ok=True)]
    comparison = compare_runs(a, b)
    [metric] = comparison.metrics
    assert (metric.kind, metric.mean_a, metric.mean_b, metric.regressed) == ("boolean", 1.0, 0.5, 1)
    assert comparison.changes[0].delta == -1.0
    assert [m.metric for m in comparison.regressions()] == ["m.ok"]


@pytest.mark.parametrize(
    ("threshold", "regressed"), [(0.0, True), (0.1, True), (0.125, False), (0.5, False)]
)
def test_regression_means_a_drop_beyond_the_threshold(threshold: float, regressed: bool) -> None:
    """A regression is a mean drop strictly larger than the threshold."""
    comparison = compare_runs([result("s", f1=0.75)], [result("s", f1=0.625)])
    assert comparison.metrics[0].delta == -0.125
    assert bool(comparison.regressions(threshold)) is regressed


def test_identical_runs_have_no_regression() -> None:
    """Comparing a run with itself finds no change and no regression."""
    a = [result(f"s{i}", f1=i / 7, ok=i % 2 == 0) for i in range(7)]
    comparison = compare_runs(a, a)
    assert comparison.regressions() == [] and comparison.changes == []
    assert all(m.delta == 0 for m in comparison.metrics)


def test_repeated_sample_ids_pair_by_occurrence() -> None:
    """The n-th occurrence of an id in A pairs with the n-th in B, shown as id#n."""
    a = [result("q", f1=0.1), result("q", f1=0.5)]
    b = [result("q", f1=0.1), result("q", f1=0.7), result("q", f1=0.0)]
    comparison = compare_runs(a, b)
    assert [(c.sample_id, c.b) for c in comparison.changes] == [("q#1", 0.7)]
    assert comparison.only_in_b == ["q#2"]


def test_nan_is_left_out_of_means_and_counts() -> None:
    """NaN scores neither skew a mean nor count as a move."""
    a = [result("s1", f1=math.nan), result("s2", f1=0.4)]
    b = [result("s1", f1=0.9), result("s2", f1=0.4)]
    [metric] = compare_runs(a, b).metrics
    assert metric.mean_a == 0.4 and metric.mean_b == pytest.approx(0.65)
    assert (metric.improved, metric.regressed, metric.unchanged) == (0, 0, 1)


def test_metric_missing_from_one_run_is_not_a_regression() -> None:
    """A metric logged in only one run has no delta and never counts as a regression."""
    comparison = compare_runs([result("s", old=1.0)], [result("s", new=0.0)])
    assert {m.metric: m.delta for m in comparison.metrics} == {"m.new": None, "m.old": None}
    assert comparison.regressions() == []


def test_to_dict_is_json_ready() -> None:
    """to_dict names the regressions and carries every change and delta."""
    data = compare_runs([result("s", f1=0.9)], [result("s", f1=0.3)]).to_dict(threshold=0.1)
    assert data["regressions"] == ["m.f1"] and data["threshold"] == 0.1
    assert data["metrics"][0]["delta"] == pytest.approx(-0.6)
    assert data["samples"]["changes"][0]["sample_id"] == "s"
