"""The one-pass result walker gives exactly what the plain definitions in this file give."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltrace.schema import _encode
from evaltrace.schema import _encode as _schema
from evaltrace.schema._scores import score_paths

LIMITS = _schema.Limits(max_metric_attributes=8, max_metric_string=10)
NAME, VALUE, LABEL, EXPLANATION = (
    "gen_ai.evaluation.name",
    "gen_ai.evaluation.score.value",
    "gen_ai.evaluation.score.label",
    "gen_ai.evaluation.explanation",
)


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def reference_events(value: Any, path: str = "") -> list[dict[str, Any]]:
    """docs/schema.md, literally: an event per dict with a numeric ``score``; in a dict without
    one, an event per numeric leaf; lists are walked with their own path."""
    out: list[dict[str, Any]] = []
    if isinstance(value, list):
        for item in value:
            out += reference_events(item, path)
        return out
    if not isinstance(value, dict):
        return out
    if is_number(value.get("score")):
        event = {NAME: path or "score", VALUE: float(value["score"])}
        label, success, why = value.get("label"), value.get("success"), value.get("explanation")
        if isinstance(label, str) and len(label) <= LIMITS.max_metric_string:
            event[LABEL] = label
        elif isinstance(success, bool):
            event[LABEL] = "pass" if success else "fail"
        if isinstance(why, str) and len(why) <= LIMITS.max_metric_string:
            event[EXPLANATION] = why
        out.append(event)
    for key, child in value.items():
        sub = f"{path}.{key}" if path else str(key)
        if isinstance(child, dict | list):
            out += reference_events(child, sub)
        elif "score" not in value and is_number(child):
            out.append({NAME: sub, VALUE: float(child)})
    return out


def _dict_leaves(value: dict[str, Any], prefix: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, child in value.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(child, dict):
            out += _dict_leaves(child, path)
        else:
            out.append((path or "value", child))
    return out


def reference_leaves(value: Any) -> list[tuple[str, Any]]:
    """docs/schema.md, literally: every leaf by its dotted path, in order (a row-grouped
    result's parts merged, a path seen in an earlier part suffixed ``#i``)."""
    if isinstance(value, dict):
        return _dict_leaves(value, "")
    if not isinstance(value, list):
        return [("value", value)]
    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        for path, leaf in _dict_leaves(item if isinstance(item, dict) else {"value": item}, ""):
            path = f"{path}#{i}" if path in seen else path
            seen.add(path)
            out.append((path, leaf))
    return out


def reference_attributes(value: Any) -> tuple[dict[str, Any], int]:
    """Every leaf that has a flat form, up to the cap, scores first when they do not all fit
    (which leaves are scores is ``_scores``' rule, tested on its own); the rest counted."""
    leaves = reference_leaves(value)
    candidates = [
        (path, flat)
        for path, leaf in leaves
        if (flat := _encode._flat_value(leaf, LIMITS.max_metric_string)) is not None
    ]
    if len(candidates) > LIMITS.max_metric_attributes:
        scores = score_paths(value)
        candidates = [c for c in candidates if c[0] in scores] + [
            c for c in candidates if c[0] not in scores
        ]
    kept = dict(("eval.metric." + p, f) for p, f in candidates[: LIMITS.max_metric_attributes])
    return kept, len(leaves) - len(kept)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    return type(a) is type(b) and a == b


# Empty keys are left out: ``{"": {"a": 1}, "a": 2}`` flattens two leaves to one path (see
# test_colliding_paths_are_counted).
keys = st.sampled_from(["score", "label", "success", "explanation", "a", "b"]) | st.text(
    min_size=1, max_size=4
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=14)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=25,
)
results = st.dictionaries(keys, values, max_size=6) | st.lists(
    st.dictionaries(keys, values, max_size=4), max_size=3
)


@settings(max_examples=400, deadline=None)
@given(result=results)
def test_walk_matches_the_definitions(result: Any) -> None:
    attributes, omitted, events, _ = _schema.walk_result(result, LIMITS)
    expected_attributes, expected_omitted = reference_attributes(result)
    assert same(attributes, expected_attributes)
    assert omitted == expected_omitted
    assert same(events, reference_events(result))


def test_colliding_paths_are_counted() -> None:
    """Two leaves on one flat path: the first is kept, the other counted, never dropped
    silently (the JSON payload keeps both)."""
    attributes, omitted, _, _ = _schema.walk_result({"a": 2, "": {"a": 1}}, LIMITS)
    assert attributes == {"eval.metric.a": 2.0}
    assert omitted == 1


@pytest.mark.parametrize(
    "value",
    [{"a": (1, 2)}, {"a": {1: 2}}, {"a": [object()]}, [{"a": {"b": {1.5}}}], object()],
    ids=["tuple", "int-key", "object-in-list", "set-deep", "object"],
)
def test_walk_refuses_what_is_not_plain_json(value: Any) -> None:
    with pytest.raises(_schema.NotPlainError):
        _schema.walk_result(value, LIMITS)


def test_scores_take_the_attribute_budget_before_config_leaves() -> None:
    """A gllm-evals-like result with a config leaf per k and metric: when the flat budget runs
    out, every score, pass/fail and label is still a searchable attribute."""
    config = {
        f"map@{k}": {"threshold": 0.5, "strict_mode": False, "higher_is_better": True, "k": k}
        for k in range(1, 40)
    }
    result = {**config, "qa": {"token_f1": {"score": 0.2}, "passed": False, "label": "bad"}}
    limits = _schema.Limits(max_metric_attributes=96)
    attributes, omitted, _, _ = _schema.walk_result(result, limits)
    assert attributes["eval.metric.qa.token_f1.score"] == 0.2
    assert attributes["eval.metric.qa.passed"] is False
    assert attributes["eval.metric.qa.label"] == "bad"
    assert len(attributes) == 96 and omitted == 4 * 39 + 3 - 96


def test_an_errored_metric_gets_an_event_with_its_error_type() -> None:
    """A metric that failed to evaluate is not silent in the GenAI events: ``error.type``."""
    _, _, events, _ = _schema.walk_result(
        {"faith": {"score": None, "error": "TimeoutError: judge took too long"}, "qa": 0.5},
        _schema.Limits(),
    )
    assert events == [
        {NAME: "faith", "error.type": "TimeoutError"},
        {NAME: "qa", VALUE: 0.5},
    ]


def test_events_carry_the_rows_response_id() -> None:
    """``gen_ai.response.id`` ties each evaluation event to the response it judged."""
    encoded = _schema.encode_result(
        {"judge": {"score": 1}},
        {"id": "q1", "response_id": "chatcmpl-42"},
        shared={},
        seq=1,
        row=None,
        limits=_schema.Limits(),
    )
    assert [e["gen_ai.response.id"] for e in encoded.events] == ["chatcmpl-42"]
