"""What is logged is what comes back, value for value and type for type."""

from __future__ import annotations

import asyncio
import math
import uuid
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evaltrace


def same(a: Any, b: Any) -> bool:
    """Deep equality that also requires equal types and treats NaN as equal to NaN."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
records = st.dictionaries(st.text(max_size=12), values, min_size=1, max_size=6)
rows_data = records.filter(lambda d: "traceparent" not in d)
"""Data rows: a row's ``traceparent`` is the link to its app span, validated (hypothesis finds
the name among the package's constants), so these round trips leave it out."""


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    result=records,
    data=rows_data,
    metadata=st.dictionaries(st.text(max_size=8), values, max_size=3),
)
def test_log_roundtrip_is_exact(
    tmp_path: Path, result: dict[str, Any], data: dict[str, Any], metadata: dict[str, Any]
) -> None:
    """Any JSON-like result, data and metadata survive log -> store -> get_run_results exactly."""
    with evaltrace.OpenTelemetryExperimentTracker("p", store=tmp_path / "rt.db") as tracker:
        run_id = tracker.log(result, "ds", data, metadata=metadata)
        (row,) = tracker.get_run_results(run_id)
    assert same(row["evaluation_result"], result)
    assert same(row["data"], data)
    assert same(row["metadata"], metadata)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.tuples(records, rows_data), min_size=1, max_size=12), grouped=st.booleans())
def test_batch_roundtrip_is_exact_and_ordered(
    tmp_path: Path, rows: list[tuple[dict[str, Any], dict[str, Any]]], grouped: bool
) -> None:
    """Flat and row-grouped batches come back row for row, in logging order."""
    results: list[Any] = [[{"judge": r}, {"other": r}] if grouped else r for r, _ in rows]
    data = [d for _, d in rows]
    with evaltrace.OpenTelemetryExperimentTracker("p", store=tmp_path / "b.db") as tracker:
        run_id = asyncio.run(
            tracker.log_batch(results, "ds", data, run_id=f"run-{uuid.uuid4().hex}")
        )
        back = tracker.get_run_results(run_id)
    assert len(back) == len(rows)
    for got, want, want_data in zip(back, results, data, strict=True):
        assert same(got["evaluation_result"], want)
        assert same(got["data"], want_data)


def test_large_unicode_strings_intact(tracker: evaltrace.OpenTelemetryExperimentTracker) -> None:
    """A 100 KB unicode explanation and data field come back byte for byte."""
    text = ("évaluation 评估 🚀 " * 8000)[:100_000]
    result = {"judge": {"score": 0.5, "explanation": text}}
    run_id = tracker.log(result, "ds", {"answer": text})
    (row,) = tracker.get_run_results(run_id)
    assert row["evaluation_result"]["judge"]["explanation"] == text
    assert row["data"]["answer"] == text


def test_special_values_keep_their_types(tracker: evaltrace.OpenTelemetryExperimentTracker) -> None:
    """None, NaN, infinities, bool vs int, big ints, nested lists and dicts keep type and value."""
    result = {
        "none": None,
        "nan": float("nan"),
        "inf": float("inf"),
        "ninf": float("-inf"),
        "t": True,
        "one": 1,
        "one_f": 1.0,
        "big": 2**70,
        "nested": {"l": [1, "a", None, [True]]},
    }
    run_id = tracker.log(result, "ds", {"q": "x"})
    (row,) = tracker.get_run_results(run_id)
    assert same(row["evaluation_result"], result)


def test_nan_next_to_none_is_not_written_as_null(
    tracker: evaltrace.OpenTelemetryExperimentTracker,
) -> None:
    """orjson writes NaN as null: wherever a NaN hides beside a None (deep in a list, in a
    pydantic model, in the data row), it must still come back as NaN."""
    import pydantic

    class Output(pydantic.BaseModel):
        score: float
        token_usage: int | None = None

    nan = float("nan")
    cases: list[tuple[Any, Any]] = [
        ({"m": {"usage": None, "runs": [[1.0, {"x": nan}]]}}, {"q": None}),
        ({"m": Output(score=nan)}, {"q": "x"}),
        ({"m": {"score": 1.0}}, {"q": None, "scores": [0.5, float("-inf")]}),
    ]
    for result, data in cases:
        run_id = tracker.log(result, "ds", data, run_id=f"nan-{len(data)}-{id(result)}")
        (row,) = tracker.get_run_results(run_id)
        plain = {
            k: v.model_dump() if isinstance(v, pydantic.BaseModel) else v for k, v in result.items()
        }
        assert same(row["evaluation_result"], plain)
        assert same(row["data"], data)


def test_enums_and_uuids_are_converted_alike_on_every_path(
    tracker: evaltrace.OpenTelemetryExperimentTracker,
) -> None:
    """Both encoders (the fast one and the exact one NaN forces) store an enum as its value and
    a UUID as its string."""
    import enum
    import uuid

    class Verdict(enum.Enum):
        PASS = "pass"

    sample = uuid.UUID(int=7)
    for extra in (None, float("nan")):
        data = {"id": sample, "verdict": Verdict.PASS, "extra": extra}
        run_id = tracker.log({"m": {"verdict": Verdict.PASS}}, "ds", data, run_id=f"e-{extra}")
        (row,) = tracker.get_run_results(run_id)
        assert row["evaluation_result"] == {"m": {"verdict": "pass"}}
        assert row["data"]["id"] == str(sample) and row["data"]["verdict"] == "pass"


def test_ints_at_the_64_bit_edges_read_back_exactly(
    tracker: evaltrace.OpenTelemetryExperimentTracker,
) -> None:
    """Reads decode with orjson where it is exact: ints at and past 64 bits, and long digit
    runs inside strings (the check's false alarm), still come back exactly."""
    edges = [2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**18, 10**19, 10**30]
    result = {"edges": edges, "digits": "1234567890123456789012", "score": 0.5}
    run_id = tracker.log(result, "ds", {"q": "x", "n": 2**64})
    (row,) = tracker.get_run_results(run_id)
    assert same(row["evaluation_result"], result)
    assert same(row["data"], {"q": "x", "n": 2**64})
    assert [type(x) for x in row["evaluation_result"]["edges"]] == [int] * len(edges)
