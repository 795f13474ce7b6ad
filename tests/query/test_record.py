"""The result span's record (``eval.record``): what the gRPC reader reads instead of twelve
attributes. A run read through records equals the same run read through the attributes, and
equals what the store keeps, whatever the payloads hold (long ints, NaN, long texts, links)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker, schema
from evaltrace.query._base import decode_spans
from evaltrace.query._jaeger_grpc import _ReadTracesData, _record_view, span_views

from ..test_roundtrip import records, rows_data, same, values

_LONG_INT = 2**70
"""Past 64 bits: orjson would read it as a float."""

_RESULTS: list[Any] = [
    {"faithfulness": {"score": 0.75, "explanation": "two of four claims", "success": True}},
    {"big": {"score": 1.0, "tokens": _LONG_INT}},
    {"nan": {"score": float("nan")}, "inf": {"score": float("inf")}},
    {"text": {"score": 0.5, "explanation": "é" * 20_000}},  # a 3-byte length on the wire
    {"m": [1, 2, {"score": 0.1}]},
]
_ROWS: list[Any] = [
    {"id": "q0", "question": "Où est la gare ?"},
    {"id": "q1", "traceparent": f"00-{'a' * 32}-{'b' * 16}-01"},
    {"id": "q2", "n": -(2**63)},
    {"id": "q3", "context": ["x" * 300]},
    {"id": "q4", "nested": {"deep": [None, True, 1.5e300]}},
]


def _spans(tmp_path: Path, batch: bool, metadata: dict[str, Any]) -> tuple[Any, list[Any]]:
    memory = InMemorySpanExporter()
    store = tmp_path / f"s-{batch}.db"
    with OpenTelemetryExperimentTracker("proj", store=store, exporters=[memory]) as tracker:
        with tracker.context(traceparent=f"00-{'c' * 32}-{'d' * 16}-01", model="m"):
            if batch:
                tracker.log_batch_sync(_RESULTS, "ds", _ROWS, run_id="r", metadata=metadata)
            else:
                for result, row in zip(_RESULTS, _ROWS, strict=True):
                    tracker.log(result, "ds", row, run_id="r", metadata=metadata)
        stored = tracker.get_run_results("r")
    return memory.get_finished_spans(), stored


def _read(raw: bytes) -> list[Any]:
    return decode_spans(list(span_views(_ReadTracesData.FromString(raw))))


def _each_span(data: TracesData) -> Iterator[Any]:
    for resource in data.resource_spans:
        for scope in resource.scope_spans:
            yield from scope.spans


def _without(raw: bytes, key: str) -> bytes:
    data = TracesData.FromString(raw)
    for span in _each_span(data):
        kept = [kv for kv in span.attributes if kv.key != key]
        del span.attributes[:]
        span.attributes.extend(kept)
    return data.SerializeToString()


@pytest.mark.parametrize("batch", [False, True])
@pytest.mark.parametrize("metadata", [{}, {"model": "m", "seed": _LONG_INT}])
def test_a_run_read_by_its_records_equals_the_attributes_and_the_store(
    tmp_path: Path, batch: bool, metadata: dict[str, Any]
) -> None:
    spans, stored = _spans(tmp_path, batch, metadata)
    raw = encode_spans(spans).SerializeToString()
    views = list(span_views(_ReadTracesData.FromString(raw)))
    assert sum(v.result is not None for v in views) == len(_RESULTS)  # each read by its record
    by_record = decode_spans(views)
    by_attributes = _read(_without(raw, schema.ATTR_RECORD))
    assert len(by_record) == len(_RESULTS)
    assert same(by_record, by_attributes)
    assert same(by_record, stored)
    assert by_record[1]["evaluation_result"]["big"]["tokens"] == _LONG_INT  # an int, exactly
    assert by_record[1]["link"] == {"trace_id": "a" * 32, "span_id": "b" * 16}
    assert by_record[0]["link"] == {"trace_id": "c" * 32, "span_id": "d" * 16}
    assert by_record[0]["context"] == by_attributes[0]["context"] != {}


def test_the_record_vouches_for_orjson_only_without_long_numbers(tmp_path: Path) -> None:
    """The record's second item: orjson reads the span's result and data exactly. False for a
    payload with an int past 64 bits (read exactly anyway: above). The metadata and context
    are not in the record, and are read by the checking reader whatever it says."""
    spans, _ = _spans(tmp_path, False, {"seed": _LONG_INT})
    vouched = [json.loads(r.attributes[schema.ATTR_RECORD])[1] for r in _results_of(spans)]
    assert vouched == [True, False, True, True, True]


def _results_of(spans: Any) -> list[Any]:
    return sorted(
        (s for s in spans if s.name == schema.RESULT_SPAN),
        key=lambda s: s.attributes[schema.ATTR_SEQ],
    )


_Rewrite = Callable[[str], str]


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda r: r.replace("[1,", "[2,", 1),  # a version this reader does not know
        lambda r: r[: len(r) // 2],  # cut short: not JSON
        lambda r: '{"not": "a list"}',
        lambda r: r.replace('"r"', "7", 1),  # a run id that is not a string
        lambda r: "[1]",
    ],
    ids=["version", "cut", "object", "type", "short"],
)
def test_a_record_a_reader_cannot_read_leaves_it_to_the_attributes(
    tmp_path: Path, rewrite: _Rewrite
) -> None:
    spans, stored = _spans(tmp_path, True, {})
    data = encode_spans(spans)
    for span in _each_span(data):
        for kv in span.attributes:
            if kv.key == schema.ATTR_RECORD:
                kv.value.string_value = rewrite(kv.value.string_value)
    assert same(_read(data.SerializeToString()), stored)


def test_a_record_that_is_not_a_string_leaves_it_to_the_attributes(tmp_path: Path) -> None:
    spans, stored = _spans(tmp_path, False, {})
    data = encode_spans(spans)
    for span in _each_span(data):
        span.attributes.append(KeyValue(key=schema.ATTR_RECORD, value=AnyValue(int_value=1)))
    assert same(_read(data.SerializeToString()), stored)


def test_a_record_the_attributes_were_rewritten_around_is_not_believed(tmp_path: Path) -> None:
    """A collector rule renamed the run in ``eval.run_id`` and not in the record: a read of the
    new name gets every result, under the new name, from the attributes."""
    spans, stored = _spans(tmp_path, True, {})
    data = encode_spans(spans)
    for span in _each_span(data):
        for kv in span.attributes:
            if kv.key == schema.ATTR_RUN_ID:
                kv.value.string_value = "renamed"
    message = _ReadTracesData.FromString(data.SerializeToString())
    views = list(span_views(message, {schema.ATTR_RUN_ID: "renamed"}))
    results = [v for v in views if v.name == schema.RESULT_SPAN]
    assert len(results) == len(_RESULTS)
    assert all(v.result is None and v.attributes[schema.ATTR_RUN_ID] == "renamed" for v in results)
    read = decode_spans(views)
    assert same(read, [{**r, "run_id": "renamed"} for r in stored])
    by_record = [v for v in span_views(message, {schema.ATTR_RUN_ID: "r"}) if v.result]
    assert len(by_record) == len(_RESULTS)  # the record's own run: read from it


def test_the_record_holds_the_span_identifiers_as_record_fields_names_them(tmp_path: Path) -> None:
    spans, _ = _spans(tmp_path, True, {"model": "m"})
    keys = {
        "seq": schema.ATTR_SEQ,
        "sample_id": schema.ATTR_SAMPLE_ID,
        "link_trace_id": schema.ATTR_LINK_TRACE_ID,
        "link_span_id": schema.ATTR_LINK_SPAN_ID,
        "run_id": schema.ATTR_RUN_ID,
        "project": schema.ATTR_PROJECT,
        "dataset": schema.ATTR_DATASET,
        "batch_id": schema.ATTR_BATCH_ID,
    }
    for span in _results_of(spans):
        record = dict(
            zip(schema.RECORD_FIELDS, json.loads(span.attributes[schema.ATTR_RECORD]), strict=True)
        )
        assert record["version"] == schema.RECORD_VERSION
        assert {name: record[name] for name in keys} == {
            name: span.attributes.get(key) for name, key in keys.items()
        }
        assert "m" not in span.attributes[schema.ATTR_RECORD]  # no content: not the metadata


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.tuples(records, rows_data), min_size=1, max_size=6),
    metadata=st.dictionaries(st.text(max_size=8), values, max_size=3),
)
def test_any_run_reads_the_same_by_its_records(
    tmp_path: Path, rows: list[tuple[dict[str, Any], dict[str, Any]]], metadata: dict[str, Any]
) -> None:
    """Any JSON-like results, data and metadata: read through the records as through the
    attributes, and as the store keeps them, value for value and type for type."""
    memory = InMemorySpanExporter()
    with OpenTelemetryExperimentTracker(
        "p", store=tmp_path / f"{uuid.uuid4().hex}.db", exporters=[memory]
    ) as tracker:
        run_id = tracker.log_batch_sync(
            [r for r, _ in rows], "ds", [d for _, d in rows], metadata=metadata
        )
        stored = tracker.get_run_results(run_id)
    raw = encode_spans(memory.get_finished_spans()).SerializeToString()
    views = list(span_views(_ReadTracesData.FromString(raw), {schema.ATTR_RUN_ID: run_id}))
    assert sum(v.result is not None for v in views) == len(rows)
    assert same(decode_spans(views), stored)
    assert same(_read(_without(raw, schema.ATTR_RECORD)), stored)


@pytest.mark.parametrize("raw", [b"\n", b"\n\x85", b"\x18"], ids=["tag", "cut-length", "int"])
def test_a_record_cut_short_on_the_wire_leaves_it_to_the_attributes(raw: bytes) -> None:
    """An encoded record too short to be a string (a tag alone, a length cut in two, an int
    tag) is no record: ``None``, so the span's attributes are read, never an ``IndexError``."""
    span = SimpleNamespace(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, start_time_unix_nano=1)
    attributes = {schema.ATTR_RECORD: raw}  # a dict: looked up key by key
    assert _record_view(span, attributes, {}, {}) is None
