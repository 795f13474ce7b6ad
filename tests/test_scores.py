"""score_paths: which leaves are scores, which are config, and which way each score is better."""

from __future__ import annotations

from typing import Any

import pytest

from evaltrace.schema._scores import Score, numeric_scores, score_paths
from evaltrace.schema._walk import flatten

from .gllm_shapes import generation, metric


def test_gllm_evals_row_keeps_scores_and_drops_config() -> None:
    """A row-grouped gllm-evals result yields its scores and pass flags, none of its config."""
    scores = score_paths(generation(0.8, 0.2))
    assert scores == {
        "generation.aggregate_success": Score(True, "higher"),
        "generation.aggregate_score": Score(0.8, "higher"),
        "generation.completeness.score": Score(0.8, "higher"),
        "generation.completeness.success": Score(True, "higher"),
        "generation.verbosity.score": Score(0.2, "lower"),
        "generation.verbosity.success": Score(True, "higher"),
    }
    numeric_leaves = [
        p for p, v in flatten(generation(0.8, 0.2)).items() if isinstance(v, int | float)
    ]
    assert len(numeric_leaves) == 20  # 14 config: thresholds, flags, rubric copies, tokens


@pytest.mark.parametrize(
    "config",
    [
        "threshold",
        "strict_mode",
        "higher_is_better",
        "rubric_score",
        "include_reason",
        "evaluation_model",
        "pass_threshold",
        "latency_ms",
        "evaluation_cost",
        "judge_model",
        "token_usage.gpt.input_tokens",
        "error.code",
        "decision.confidence",
        "explanation",
    ],
)
def test_config_leaves_are_not_scores(config: str) -> None:
    """Settings, copies, usage, failure records and explanations beside a score are left out."""
    node: dict[str, Any] = {"score": 0.5}
    *parents, last = config.split(".")
    target = node
    for key in parents:
        target = target.setdefault(key, {})
    target[last] = 0.9 if last not in {"strict_mode", "include_reason", "explanation"} else True
    assert list(score_paths({"m": node})) == ["m.score"]


def test_higher_is_better_false_turns_the_score_not_the_pass_flag() -> None:
    """higher_is_better=False makes the node's score lower-is-better; success stays a pass."""
    scores = score_paths({"verbosity": metric(0.9, higher_is_better=False)})
    assert scores["verbosity.score"].direction == "lower"
    assert scores["verbosity.success"] == Score(False, "higher")


def test_lower_is_better_patterns_match_dotted_paths() -> None:
    """A --lower-is-better glob turns matching scores; a node's own flag and pass flags win."""
    result = {
        "qa": {"latency_score": 3.0, "f1": 0.7, "passed": True},
        "judge": {"hallucination": {"score": 0.1, "higher_is_better": True}},
    }
    scores = score_paths(result, ["qa.latency*", "*.passed", "judge.*"])
    assert {p: s.direction for p, s in scores.items()} == {
        "qa.latency_score": "lower",
        "qa.f1": "higher",
        "qa.passed": "higher",
        "judge.hallucination.score": "higher",
    }


def test_bare_numbers_are_scores_outside_a_score_node() -> None:
    """Bare numeric and boolean leaves are scores, unless a sibling ``score`` owns the node."""
    result = {
        "qa": {"exact_match": 1, "token_f1": 0.5, "ok": False, "k": 5},
        "judge": {"score": 4, "confidence": 0.9, "evaluation_cost": 0.002, "cached": True},
    }
    assert list(score_paths(result)) == ["qa.exact_match", "qa.token_f1", "qa.ok", "judge.score"]


def test_bare_leaf_before_its_score_key_is_taken_back() -> None:
    """A detail listed before the node's ``score`` key is still not a score."""
    assert list(score_paths({"m": {"confidence": 0.9, "score": 0.4}})) == ["m.score"]


def test_labels_are_scores_but_not_averaged() -> None:
    """A ``label`` or a categorical ``score`` string is a score; numeric_scores leaves it out."""
    result = {"tone": {"score": "polite", "model": "gpt-4o"}, "qa": {"label": "pass", "f1": 1.0}}
    assert set(score_paths(result)) == {"tone.score", "qa.label", "qa.f1"}
    assert numeric_scores(result) == {"qa.f1": (1.0, "higher")}


def test_errored_metric_has_no_score() -> None:
    """gllm-evals' errored metric (score None, an error record) contributes nothing."""
    scores = score_paths({"completeness": metric(None)})
    assert scores == {"completeness.success": Score(False, "higher")}


@pytest.mark.parametrize(
    "result",
    [
        generation(0.8, 0.2) + generation(0.1, 0.9),  # two parts, one namespace: #1 suffixes
        [{"a": {"score": None}}, {"a": {"score": 1}}],  # the earlier leaf is no score
        [0.5, {"value": 1}],
        {"": {"a": 1}, "b": {"": 2}},
        0.25,
    ],
)
def test_paths_and_values_are_flattens(result: Any) -> None:
    """Every score sits at the path flatten gives it, with the same value."""
    flat = flatten(result)
    scores = score_paths(result)
    assert scores and all(flat[path] == score.value for path, score in scores.items())


def test_duplicate_namespaces_keep_both_parts() -> None:
    """Two row-grouped parts with the same evaluator name both count, the second as #1."""
    scores = score_paths(generation(0.8, 0.2) + generation(0.1, 0.9))
    assert scores["generation.completeness.score"].value == 0.8
    assert scores["generation.completeness.score#1"].value == 0.1
    assert scores["generation.verbosity.score#1"] == Score(0.9, "lower")


@pytest.mark.parametrize(
    "result",
    [
        generation(0.8, 0.2) + generation(0.1, 0.9),
        [{"a": {"score": None}}, {"a": {"score": 1}}],
        [0.5, {"value": 1}],
        {"": {"a": 1}, "b": {"": 2}},
        {"a.b": 1, "a": {"b": 2}},  # one path twice: the later leaf, as flatten keeps it
        {"m": {"score": 0.5, "label": "good", "success": True, "threshold": 0.4}},
        0.25,
    ],
)
def test_numeric_values_are_the_numeric_scores(result: Any) -> None:
    """What the store keeps beside each result (``numeric_values``) is ``numeric_scores``
    without the directions, path for path and in the same order."""
    from evaltrace.schema._scores import numeric_values

    expected = {path: value for path, (value, _) in numeric_scores(result).items()}
    got = numeric_values(result)
    assert list(got.items()) == list(expected.items())
    assert all(type(got[p]) is type(expected[p]) for p in got)
