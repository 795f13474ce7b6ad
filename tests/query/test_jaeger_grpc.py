"""Decoding Jaeger's FindTraces answer (OTLP protobuf) through the reading view, offline."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, TracesData

from evaltrace.query._bulk import gc_paused
from evaltrace.query._jaeger_grpc import _ReadTracesData, _value, span_views
from evaltrace.schema import READ_KEYS


def _answer(*spans: Span) -> bytes:
    data = TracesData()
    data.resource_spans.add().scope_spans.add().spans.extend(spans)
    return data.SerializeToString()


def _full_read(raw: bytes) -> list[tuple[str, str, str, int, dict[str, Any]]]:
    """What reading the whole OTLP message gives: every read key, last value of a key wins."""
    out = []
    for resource in TracesData.FromString(raw).resource_spans:
        for scope in resource.scope_spans:
            for span in scope.spans:
                attributes = {kv.key: _value(kv.value) for kv in span.attributes}
                out.append(
                    (
                        span.name,
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.start_time_unix_nano,
                        {k: v for k, v in attributes.items() if k in READ_KEYS},
                    )
                )
    return out


def test_reading_view_reads_what_the_full_message_holds() -> None:
    """Strings (empty ones too), ints, arrays and unset values of the read keys come back as
    from OTLP's own classes; other attributes, events and links are skipped."""
    result = Span(
        name="evaltrace.result",
        trace_id=bytes(range(16)),
        span_id=bytes(range(8)),
        start_time_unix_nano=1_700_000_000_123_456_789,
        attributes=[
            KeyValue(key="eval.run_id", value=AnyValue(string_value="run-é")),
            KeyValue(key="eval.seq", value=AnyValue(int_value=42)),
            KeyValue(key="eval.project", value=AnyValue(string_value="")),
            KeyValue(key="eval.dataset", value=AnyValue(bool_value=True)),
            KeyValue(
                key="eval.sample_id",
                value=AnyValue(array_value=ArrayValue(values=[AnyValue(double_value=0.5)])),
            ),
            KeyValue(key="eval.link.trace_id", value=AnyValue()),
            KeyValue(key="eval.metric.m.score", value=AnyValue(double_value=0.5)),
            KeyValue(key="eval.result", value=AnyValue(string_value='{"a":' + "1" * 200 + "}")),
            KeyValue(key="eval.result", value=AnyValue(string_value="{}")),
        ],
        events=[Span.Event(name="gen_ai.evaluation.result")],
    )
    root = Span(
        name="evaltrace.batch",
        trace_id=bytes(range(16)),
        span_id=bytes(8),
        attributes=[KeyValue(key="eval.batch.chunk.size", value=AnyValue(int_value=1))],
    )
    raw = _answer(result, root)
    views = [
        (v.name, v.trace_id, v.span_id, v.start_ns, dict(v.attributes))
        for v in span_views(_ReadTracesData.FromString(raw))
    ]
    assert views == _full_read(raw)
    assert views[0][4] == {
        "eval.run_id": "run-é",
        "eval.seq": 42,
        "eval.project": "",
        "eval.dataset": True,
        "eval.sample_id": (0.5,),
        "eval.link.trace_id": None,
        "eval.result": "{}",
    }


def test_gc_paused_restores_the_collector() -> None:
    """The collector is off inside, and back as it was after, even when the block raises."""
    assert gc.isenabled()
    with pytest.raises(ValueError), gc_paused():
        assert not gc.isenabled()
        raise ValueError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
