"""Decoding Jaeger's FindTraces answer (OTLP protobuf) through the reading view, offline."""

from __future__ import annotations

import gc
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from google.protobuf.message import DecodeError
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.trace.v1.trace_pb2 import Span, TracesData

from evaltrace._exceptions import BackendResponseError
from evaltrace.query._bulk import gc_paused
from evaltrace.query._http import ClientOptions
from evaltrace.query._jaeger_grpc import JaegerGrpc, _any, _ReadTracesData, _value, span_views
from evaltrace.schema import read_keys


def _answer(*spans: Span) -> bytes:
    data = TracesData()
    data.resource_spans.add().scope_spans.add().spans.extend(spans)
    return data.SerializeToString()


def _full_read(raw: bytes) -> list[tuple[str, str, str, int, dict[str, Any]]]:
    """What reading the whole OTLP message gives: the read keys of each span's name, last value
    of a key wins; an empty value (None) is left out, as a reader cannot tell it from none."""
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
                        {
                            k: v
                            for k, v in attributes.items()
                            if k in read_keys(span.name) and v is not None
                        },
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
        "eval.result": "{}",
    }


def test_result_spans_read_key_by_key_where_a_map_refuses_a_missing_key() -> None:
    """Where a protobuf map raised KeyError for a key it lacks, result spans are read with
    ``get``, to the same attributes."""
    encoded = {
        "eval.run_id": AnyValue(string_value="r").SerializeToString(),
        "eval.seq": AnyValue(int_value=7).SerializeToString(),
        "eval.metric.m": AnyValue(double_value=0.5).SerializeToString(),
    }
    span = SimpleNamespace(
        name="evaltrace.result",
        trace_id=b"\x01" * 16,
        span_id=b"\x02" * 8,
        start_time_unix_nano=5,
        attributes=encoded,  # a dict: itemgetter raises KeyError for what it lacks
    )
    data = SimpleNamespace(
        resource_spans=[SimpleNamespace(scope_spans=[SimpleNamespace(spans=[span])])]
    )
    (view,) = span_views(data)
    assert view.attributes == {"eval.run_id": "r", "eval.seq": 7}
    assert (view.trace_id, view.span_id, view.start_ns) == ("01" * 16, "02" * 8, 5)


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


def _anyvalues() -> st.SearchStrategy[AnyValue]:
    leaves = st.one_of(
        st.text().map(lambda s: AnyValue(string_value=s)),
        st.integers(-(2**63), 2**63 - 1).map(lambda i: AnyValue(int_value=i)),
        st.floats().map(lambda d: AnyValue(double_value=d)),
        st.booleans().map(lambda b: AnyValue(bool_value=b)),
        st.binary().map(lambda b: AnyValue(bytes_value=b)),
        st.just(AnyValue()),
    )
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=3).map(
                lambda vs: AnyValue(array_value=ArrayValue(values=vs))
            ),
            st.lists(st.tuples(st.text(max_size=4), children), max_size=3).map(
                lambda kvs: AnyValue(
                    kvlist_value=KeyValueList(values=[KeyValue(key=k, value=v) for k, v in kvs])
                )
            ),
        ),
        max_leaves=6,
    )


def _outcome(decode: Callable[[bytes], Any], raw: bytes) -> str:
    """The value's repr (types and NaNs told apart), or that the bytes do not decode."""
    try:
        return repr(decode(raw))
    except DecodeError:
        return "DecodeError"


def _full(raw: bytes) -> Any:
    return _value(AnyValue.FromString(raw))


@settings(max_examples=400, deadline=None)
@given(_anyvalues())
def test_slim_decode_equals_the_full_decode(value: AnyValue) -> None:
    """Any AnyValue decodes from its bytes as opentelemetry-proto's own message decodes it."""
    raw = value.SerializeToString()
    assert _outcome(_any, raw) == _outcome(_full, raw)


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=24),
        st.tuples(st.sampled_from([b"\n", b"\x18"]), st.binary(max_size=12)).map(b"".join),
        st.lists(_anyvalues().map(lambda v: v.SerializeToString()), max_size=3).map(b"".join),
    )
)
def test_slim_decode_equals_the_full_decode_for_any_bytes(raw: bytes) -> None:
    """Junk, truncated values, a field given twice (the last wins), unknown fields: the same
    value, or the same refusal, as the full decode."""
    assert _outcome(_any, raw) == _outcome(_full, raw)


@pytest.mark.parametrize("length", [0, 1, 126, 127, 128, 129, 16_383, 16_384, 70_000])
@pytest.mark.parametrize("char", ["a", "é", "\U0001f600"])
def test_slim_decode_of_strings_around_the_varint_steps(length: int, char: str) -> None:
    """Texts whose UTF-8 length needs one, two or three varint bytes; ints of every width."""
    text = (char * length)[: max(0, length // len(char.encode()))]
    raw = AnyValue(string_value=text).SerializeToString()
    assert _any(raw) == text
    for number in (0, 1, 127, 128, 2**62, 2**63 - 1, -1, -(2**63), length):
        assert _any(AnyValue(int_value=number).SerializeToString()) == number


def test_slim_decode_refuses_what_is_not_utf8() -> None:
    """A string_value that is not UTF-8 is refused as the full decode refuses it."""
    raw = b"\n\x02\xed\xa0"
    assert _outcome(_any, raw) == _outcome(_full, raw) == "DecodeError"


def test_gc_paused_keeps_an_applications_frozen_objects() -> None:
    """Objects the application froze (before a fork) stay frozen; a read leaves no more frozen
    than there were (Python 3.12 counts a few hundred of its own at start)."""
    before = gc.get_freeze_count()
    with gc_paused():
        [[] for _ in range(10)]
    assert gc.get_freeze_count() == before
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with gc_paused():
            [[] for _ in range(10)]
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_an_undecodable_read_value_is_a_backend_error() -> None:
    """A read attribute that is not UTF-8 fails the read as the backend's error, not
    protobuf's."""
    bad = Span(
        name="evaltrace.result",
        attributes=[KeyValue(key="eval.run_id", value=AnyValue(bytes_value=b"x"))],
    ).SerializeToString()
    # bytes_value (field 7) re-tagged as string_value (field 1): the same length, not UTF-8
    bad = bad.replace(b"\x3a\x01x", b"\x0a\x01\xff")
    grpc_client = JaegerGrpc("127.0.0.1:1", secure=False, options=ClientOptions())
    try:
        grpc_client._find_read = lambda *a, **k: [_ReadTracesData.FromString(_answer_raw(bad))]
        with pytest.raises(BackendResponseError, match="undecodable span"):
            grpc_client.find("svc", {}, datetime.now(UTC), datetime.now(UTC), 10)
    finally:
        grpc_client.close()


def _answer_raw(span: bytes) -> bytes:
    """A TracesData holding one already encoded span."""
    scope = b"\x12" + _varint(len(span)) + span
    resource = b"\x12" + _varint(len(scope)) + scope
    return b"\x0a" + _varint(len(resource)) + resource


def _varint(number: int) -> bytes:
    out = bytearray()
    while True:
        out.append(number & 0x7F | (0x80 if number > 0x7F else 0))
        number >>= 7
        if not number:
            return bytes(out)
