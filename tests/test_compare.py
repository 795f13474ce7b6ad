"""compare_runs: metric means and verdicts, per-sample pairing by sample_id, the gate."""

from __future__ import annotations

import json
import math
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from evaltrace._compare import compare_runs
from evaltrace._compare_text import compare_report

from .gllm_shapes import generation


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
    """A boolean metric's mean is its pass rate; one True -> False of two is inconclusive."""
    a = [result("s1", ok=True), result("s2", ok=True)]
    b = [result("s1", ok=False), result("s2", ok=True)]
    comparison = compare_runs(a, b)
    [metric] = comparison.metrics
    assert (metric.kind, metric.mean_a, metric.mean_b, metric.regressed) == ("boolean", 1.0, 0.5, 1)
    assert comparison.changes[0].delta == -1.0
    assert metric.test is not None and metric.test.method == "McNemar exact"
    assert metric.test.p == 1.0 and metric.verdict == "inconclusive"
    assert comparison.regressions() == [] and comparison.gate().passed
    assert not comparison.gate(strict=True).passed


@pytest.mark.parametrize(
    ("threshold", "regressed"), [(0.0, True), (0.1, True), (0.125, False), (0.5, False)]
)
def test_strict_fails_on_a_drop_beyond_min_effect(threshold: float, regressed: bool) -> None:
    """--strict keeps the old rule: any mean drop strictly larger than min_effect fails."""
    comparison = compare_runs([result("s", f1=0.75)], [result("s", f1=0.625)], min_effect=threshold)
    assert comparison.metrics[0].delta == -0.125
    assert comparison.gate(strict=True).passed is not regressed
    assert comparison.gate().passed  # one sample proves nothing


def test_identical_runs_have_no_regression() -> None:
    """Comparing a run with itself finds no change and no regression."""
    a = [result(f"s{i}", f1=i / 7, ok=i % 2 == 0) for i in range(7)]
    comparison = compare_runs(a, a)
    assert comparison.regressions() == [] and comparison.changes == []
    assert all(m.delta == 0 for m in comparison.metrics)


def test_repeated_trials_are_averaged_per_sample() -> None:
    """A sample id k times in a run is one sample: its trials averaged, their spread kept."""
    a = [result("q", f1=0.1), result("q", f1=0.5), result("r", f1=0.2)]
    b = [result("q", f1=0.1), result("q", f1=0.7), result("q", f1=0.0), result("r", f1=0.2)]
    comparison = compare_runs(a, b)
    assert comparison.samples["paired"] == 2 and comparison.only_in_b == []
    [change] = comparison.changes
    assert (change.sample_id, change.trials_a, change.trials_b) == ("q", 2, 3)
    assert change.a == pytest.approx(0.3) and change.b == pytest.approx(0.8 / 3)
    [metric] = comparison.metrics
    assert metric.mean_a == pytest.approx((0.3 + 0.2) / 2)
    assert (metric.count_a, metric.count_b) == (3, 4)
    assert metric.spread_a == pytest.approx(np.std([0.1, 0.5], ddof=1))
    assert metric.spread_b == pytest.approx(np.std([0.1, 0.7, 0.0], ddof=1))
    assert comparison.trials == {"a": 2, "b": 3}


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=2, max_size=8), st.randoms(use_true_random=False))
def test_order_and_repeats_never_change_the_sample_means(
    repeats: list[int], rnd: random.Random
) -> None:
    """However trials are ordered and interleaved, each sample's mean is the mean of its trials."""
    trials = [(f"s{i}", rnd.random()) for i, k in enumerate(repeats) for _ in range(k)]
    shuffled = trials[:]
    rnd.shuffle(shuffled)
    a = [result(sid, f1=v) for sid, v in trials]
    b = [result(sid, "b", f1=v + 0.25) for sid, v in shuffled]
    comparison = compare_runs(a, b)
    assert comparison.samples["paired"] == len(repeats)
    for change in comparison.changes:
        assert change.delta == pytest.approx(0.25)
    [metric] = comparison.metrics
    assert metric.test is not None and metric.test.mean == pytest.approx(0.25)


def test_nan_is_left_out_of_means_and_counts() -> None:
    """NaN scores neither skew a mean nor count as a move."""
    a = [result("s1", f1=math.nan), result("s2", f1=0.4)]
    b = [result("s1", f1=0.9), result("s2", f1=0.4)]
    [metric] = compare_runs(a, b).metrics
    assert metric.mean_a == 0.4 and metric.mean_b == pytest.approx(0.65)
    assert (metric.improved, metric.regressed, metric.unchanged) == (0, 0, 1)


def test_metric_missing_from_one_run_vanishes_without_a_mean_regression() -> None:
    """A metric in A only has no delta; it is listed as vanished (B's own as new)."""
    comparison = compare_runs([result("s", old=1.0)], [result("s", new=0.0)])
    assert {m.metric: m.delta for m in comparison.metrics} == {"m.new": None, "m.old": None}
    assert comparison.regressions() == []
    assert (comparison.vanished, comparison.new) == (["m.old"], ["m.new"])


def test_to_dict_is_json_ready() -> None:
    """to_dict names the regressions and carries every change, delta and statistic."""
    a = [result(f"s{i}", f1=0.9, same=0.5) for i in range(12)]
    b = [result(f"s{i}", "b", f1=0.3 + i / 100, same=0.5) for i in range(12)]
    data = compare_runs(a, b, min_effect=0.1).to_dict()
    assert data["regressions"] == ["m.f1"] and data["min_effect"] == 0.1
    f1 = data["metrics"][0]
    assert f1["delta"] == pytest.approx(-0.545) and f1["verdict"] == "regressed"
    assert f1["test"]["method"] == "sign-flip" and f1["p_adjusted"] < 0.05
    assert f1["estimate_a"]["se"] == 0.0 and f1["mde"] > 0
    assert data["samples"]["changes"][0]["sample_id"] == "s0"
    assert data["family"] == ["m.f1", "m.same"] and data["correction"] == "holm"


def test_to_dict_has_null_never_nan() -> None:
    """Undefined statistics (one sample, zero variance, NaN scores) are null in strict JSON."""
    a = [result("s", f1=math.nan, g=1.0, h=10**400), result("t", g=1.0, h=1)]
    b = [result("s", f1=0.5, g=1.0, h=2), result("t", g=1.0, h=1)]
    data = compare_runs(a, b).to_dict()
    json.dumps(data, allow_nan=False)
    g = next(m for m in data["metrics"] if m["metric"] == "m.g")
    assert g["test"]["p"] is None and g["verdict"] == "unchanged" and g["mde"] is None


def gllm(
    sample_id: str, completeness: float | None, verbosity: float | None, run_id: str = "a"
) -> dict[str, Any]:
    """A get_run_results dict holding a row-grouped gllm-evals result."""
    return {
        "run_id": run_id,
        "sample_id": sample_id,
        "evaluation_result": generation(completeness, verbosity),
    }


def test_only_scores_are_compared() -> None:
    """threshold, strict_mode, higher_is_better, rubric and token counts are not metrics."""
    comparison = compare_runs([gllm("s", 0.8, 0.2)], [gllm("s", 0.8, 0.2)])
    assert [m.metric for m in comparison.metrics] == [
        "generation.aggregate_score",
        "generation.aggregate_success",
        "generation.completeness.score",
        "generation.completeness.success",
        "generation.verbosity.score",
        "generation.verbosity.success",
    ]


def test_higher_is_better_false_makes_a_rise_a_regression() -> None:
    """verbosity (higher_is_better: false) going 0.17 -> 0.90 regresses; its sample too."""
    a = [gllm(f"s{i}", 0.8, 0.17) for i in range(10)]
    b = [gllm(f"s{i}", 0.8, 0.90, "b") for i in range(10)]
    comparison = compare_runs(a, b)
    by_name = {m.metric: m for m in comparison.metrics}
    verbosity = by_name["generation.verbosity.score"]
    assert (verbosity.direction, verbosity.regressed, verbosity.improved) == ("lower", 10, 0)
    assert verbosity.delta == pytest.approx(0.73) and verbosity.gain == pytest.approx(-0.73)
    # success of a lower-is-better metric: 0.17 passed (below 0.5), 0.90 fails
    assert [m.metric for m in comparison.regressions()] == [
        "generation.verbosity.score",
        "generation.verbosity.success",
    ]
    assert comparison.samples["regressed"] == 10
    gate = comparison.gate()
    assert not gate.passed
    assert any(r.startswith("generation.verbosity.score regressed") for r in gate.reasons)


def test_lower_is_better_pattern_turns_a_drop_into_an_improvement() -> None:
    """With --lower-is-better on its path, a falling score improves and passes the gate."""
    a = [result(f"s{i}", hallucination=0.4) for i in range(10)]
    b = [result(f"s{i}", hallucination=0.2) for i in range(10)]
    assert not compare_runs(a, b).gate().passed
    comparison = compare_runs(a, b, lower_is_better=["m.halluc*"])
    [metric] = comparison.metrics
    assert (metric.direction, metric.improved, metric.verdict) == ("lower", 10, "improved")
    assert comparison.gate().passed and comparison.samples["improved"] == 10


def test_vanished_metric_fails_the_gate() -> None:
    """A score every result of A has and no result of B has fails, naming it."""
    a = [result(f"s{i}", f1=0.5, recall=0.5) for i in range(4)]
    b = [result(f"s{i}", "b", f1=0.6) for i in range(4)]
    gate = compare_runs(a, b).gate()
    assert gate.reasons == ["m.recall vanished: in 4 results of a, in none of b"]


def test_judge_erroring_on_every_row_is_a_vanished_score() -> None:
    """gllm-evals writes score None for an errored metric: no score in B, so it vanished."""
    a = [gllm(f"s{i}", 0.8, 0.2) for i in range(3)]
    b = [gllm(f"s{i}", None, 0.2, "b") for i in range(3)]
    assert "generation.completeness.score" in compare_runs(a, b).vanished


def test_new_metric_alone_passes() -> None:
    """A score only B has is reported as new and does not fail the gate."""
    comparison = compare_runs([result("s", f1=0.5)], [result("s", f1=0.5, extra=0.1)])
    assert comparison.new == ["m.extra"] and comparison.gate().passed


@pytest.mark.parametrize(("allow", "passed"), [(0, False), (44, False), (45, True), (99, True)])
def test_missing_samples_fail_beyond_allow_missing(allow: int, passed: bool) -> None:
    """45 of 50 baseline samples missing from B fails unless --allow-missing is 45 or more."""
    a = [result(f"s{i}", f1=0.5) for i in range(50)]
    b = [result(f"s{i}", "b", f1=0.5) for i in range(5)]
    comparison = compare_runs(a, b)
    gate = comparison.gate(allow_missing=allow)
    assert gate.passed is passed
    assert comparison.samples["paired"] == 5 and len(comparison.only_in_a) == 45
    if not passed:
        [reason] = gate.reasons
        assert reason.startswith("45 of 50 samples of a are missing from b")
        assert "s5, s6, s7, s8, s9, … (+40)" in reason


def test_nothing_paired_fails_whatever_is_allowed() -> None:
    """Runs of different datasets pair no sample: the gate fails even with a huge allowance."""
    a = [result(f"a{i}", f1=0.5) for i in range(3)]
    b = [result(f"b{i}", "b", f1=0.9) for i in range(3)]
    gate = compare_runs(a, b).gate(allow_missing=1000)
    assert [r.split(":")[0] for r in gate.reasons] == ["no sample pairs"]


def test_metrics_patterns_pick_what_is_compared() -> None:
    """--metrics keeps matching scores only; a pattern matching nothing fails the gate."""
    a, b = [result("s", f1=0.9, recall=0.5)], [result("s", f1=0.1, recall=0.6)]
    picked = compare_runs(a, b, metrics=["*.recall"])
    assert [m.metric for m in picked.metrics] == ["m.recall"] and picked.gate().passed
    nothing = compare_runs(a, b, metrics=["nope.*"])
    assert nothing.metrics == [] and not nothing.gate().passed


def test_to_dict_carries_direction_missing_samples_and_gate() -> None:
    """The JSON form has each metric's direction, vanished metrics, missing ids and the verdict."""
    a = [gllm("s1", 0.8, 0.2), gllm("s2", 0.8, 0.2)]
    b = [gllm("s1", 0.8, 0.6, "b")]
    data = compare_runs(a, b).to_dict(allow_missing=1, strict=True)
    directions = {m["metric"]: m["direction"] for m in data["metrics"]}
    assert directions["generation.verbosity.score"] == "lower"
    assert directions["generation.completeness.score"] == "higher"
    assert data["samples"]["missing"] == 1 and data["samples"]["only_in_a"] == ["s2"]
    assert data["gate"]["passed"] is False and data["allow_missing"] == 1
    assert data["regressions"] == [] and data["strict"] is True
    assert [r.split(" (--strict)")[0] for r in data["gate"]["reasons"]] == [
        "generation.verbosity.score dropped",
        "generation.verbosity.success dropped",
    ]
    assert data["vanished"] == []


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.text(alphabet="abcdefghij_.@", min_size=1, max_size=90), min_size=0, max_size=4),
    st.text(alphabet="qrs0123456789-", min_size=1, max_size=60),
    st.integers(40, 200),
    st.floats(-1e6, 1e6),
)
@example(names=["@"], sample_id="0", width=40, scale=25.0)  # values wider than 7 characters
def test_compare_text_never_passes_the_width(
    names: list[str], sample_id: str, width: int, scale: float
) -> None:
    """Whatever the metric names, sample ids, values and width, no line is wider."""
    a = [{"run_id": "a", "sample_id": f"{sample_id}{i}", "evaluation_result": {}} for i in range(3)]
    b = [{"run_id": "b", "sample_id": f"{sample_id}{i}", "evaluation_result": {}} for i in range(3)]
    for i in range(3):
        for n, name in enumerate(names):
            a[i]["evaluation_result"][f"{name}{n}"] = {"score": scale * (i + 1)}
            b[i]["evaluation_result"][f"{name}{n}"] = {"score": -scale * (i + 2)}
    text = compare_report(compare_runs(a, b), samples=5, width=width)
    assert max(len(line) for line in text.splitlines()) <= width
