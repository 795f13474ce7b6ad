"""A dotted key beside the nested one spells one flat path twice: the first leaf is kept by
every reader of flat paths, the second is counted, and the exact payload keeps both."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker
from evaltrace.query._history_rows import metrics_of
from evaltrace.schema import ATTR_METRIC_PREFIX, ATTR_METRICS_OMITTED, ATTR_RESULT
from evaltrace.schema._encode import Limits, _flat_value, walk_result
from evaltrace.schema._scores import numeric_values, score_paths
from evaltrace.schema._walk import flatten

COLLIDING = {"a.b": {"score": 1}, "a": {"b": {"score": 5}}}


def test_a_dotted_key_and_its_nested_twin_keep_the_first_and_count_the_second(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The flat attribute, history and the tracker's stats all keep score 1 and count the 5;
    eval.result holds both; one warning names the path."""
    exporter = InMemorySpanExporter()
    caplog.set_level(logging.WARNING, logger="evaltrace")
    with OpenTelemetryExperimentTracker("p", store=False, exporters=[exporter]) as tracker:
        tracker.log(COLLIDING, "d", {"id": "x"}, run_id="r")
        stats = tracker.stats
    (span,) = [s for s in exporter.get_finished_spans() if ATTR_RESULT in (s.attributes or {})]
    attributes = dict(span.attributes or {})
    assert attributes[ATTR_METRIC_PREFIX + "a.b.score"] == 1.0
    assert attributes[ATTR_METRICS_OMITTED] == 1 and stats.metric_attributes_omitted == 1
    assert json.loads(str(attributes[ATTR_RESULT])) == COLLIDING
    assert metrics_of([COLLIDING])["a.b.score"]["mean"] == 1.0
    assert score_paths(COLLIDING)["a.b.score"].value == 1
    assert flatten(COLLIDING) == {"a.b.score": 1}
    assert "a.b.score" in caplog.text and "keep the first" in caplog.text


KEYS = st.sampled_from(["a", "b", "a.b", "b.a", "a.b.score", "score", "passed", "", "x.y"])
LEAVES = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.integers(-5, 5),
    st.booleans(),
    st.sampled_from(["good", None]),
)
RESULTS = st.recursive(
    st.dictionaries(KEYS, LEAVES, max_size=4),
    lambda inner: st.dictionaries(KEYS, st.one_of(LEAVES, inner), max_size=4),
    max_leaves=20,
)


def leaves(node: dict[str, Any]) -> int:
    """Every non-dict value under ``node`` (what the walk sees as a leaf)."""
    return sum(leaves(v) if isinstance(v, dict) else 1 for v in node.values())


@settings(max_examples=500, deadline=None)
@given(RESULTS)
def test_any_dotted_keys_lose_no_leaf_silently_and_readers_agree(result: dict[str, Any]) -> None:
    """Nested dicts with dotted keys: each flat attribute is ``flatten``'s leaf for its path,
    every other leaf is counted as omitted, and scores read the same leaf ``flatten`` does."""
    attributes, omitted, _, _ = walk_result(result, Limits())
    flat = flatten(result)
    expected = {
        ATTR_METRIC_PREFIX + path: value
        for path, leaf in flat.items()
        if (value := _flat_value(leaf, Limits().max_metric_string)) is not None
    }
    assert attributes == expected
    assert len(attributes) + omitted == leaves(result)
    for path, score in score_paths(result).items():
        assert flat[path] == score.value and type(flat[path]) is type(score.value)
    assert numeric_values(result).items() <= flat.items()
