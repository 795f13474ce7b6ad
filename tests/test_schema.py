"""The one-pass result walker gives exactly what the plain definitions in this file give."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evaltrace import schema as _schema
from evaltrace.schema import _encode

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


def reference_attributes(value: Any) -> tuple[dict[str, Any], int]:
    """Every flattened leaf that has a flat form, up to the cap; the rest counted."""
    attributes: dict[str, Any] = {}
    omitted = 0
    for path, leaf in _schema.flatten(value).items():
        flat = _encode._flat_value(leaf, LIMITS.max_metric_string)
        if flat is None or len(attributes) >= LIMITS.max_metric_attributes:
            omitted += 1
        else:
            attributes["eval.metric." + path] = flat
    return attributes, omitted


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
