"""The least a Python reader does to turn Jaeger's FindTraces answer into evaltrace's results.

``readback.jaeger.grpc`` compares ``run_results`` with the raw fetch: the same ``FindTraces``
call, its protobuf parsed and nothing more. No Python reader returns 20,000 result dicts for
that price; this floor shows what the least one costs, so that the row says how much of its
ratio is evaltrace and how much is Python under one GIL:

* parse each message with a view of OTLP's ``TracesData`` declared here (``Span.attributes``
  as the ``map<string, bytes>`` it is on the wire, events and links skipped);
* per result span, look up the five attributes a result is made of (``eval.record``,
  ``eval.result``, ``eval.data``, ``eval.metadata``, ``eval.context``), strip each string
  ``AnyValue``'s 2- or 3-byte header, ``orjson.loads`` the record and both payloads and build
  the 12-key dict ``get_run_results`` returns.

Left out, on purpose, as what evaltrace does and a floor must not: checking anything (record
version and types, payload shapes, UTF-8, long numbers), matching the run again, de-duplicating
re-sent spans, proving each batch trace complete, ordering, falling back to the attributes.
No evaltrace code runs here: the view, the attribute names and the record's item positions
are spelled in this file (``tests/test_benchmarks_smoke.py`` checks they still match).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import orjson
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["READ_KEYS", "RECORD_ITEMS", "reader"]

_F = descriptor_pb2.FieldDescriptorProto
READ_KEYS = ("eval.record", "eval.result", "eval.data", "eval.metadata", "eval.context")
RECORD_ITEMS = {"seq": 2, "sample_id": 3, "link_trace_id": 4, "link_span_id": 5, "run_id": 6}
"""Positions in ``eval.record``'s array (project 7, dataset 8 follow the run id)."""
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _view() -> Any:
    pool = descriptor_pool.DescriptorPool()
    proto = descriptor_pb2.FileDescriptorProto(
        name="bench/read_floor.proto", package="bench.floor", syntax="proto3"
    )
    span = proto.message_type.add(name="Span")
    entry = span.nested_type.add(name="AttributesEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=_F.TYPE_BYTES, label=_F.LABEL_OPTIONAL)
    for name, number, kind in (
        ("trace_id", 1, _F.TYPE_BYTES),
        ("span_id", 2, _F.TYPE_BYTES),
        ("name", 5, _F.TYPE_STRING),
        ("start_time_unix_nano", 7, _F.TYPE_FIXED64),
    ):
        span.field.add(name=name, number=number, type=kind, label=_F.LABEL_OPTIONAL)
    span.field.add(
        name="attributes",
        number=9,
        type=_F.TYPE_MESSAGE,
        label=_F.LABEL_REPEATED,
        type_name=".bench.floor.Span.AttributesEntry",
    )
    for message, field, number, item in (
        ("ScopeSpans", "spans", 2, "Span"),
        ("ResourceSpans", "scope_spans", 2, "ScopeSpans"),
        ("TracesData", "resource_spans", 1, "ResourceSpans"),
    ):
        proto.message_type.add(name=message).field.add(
            name=field,
            number=number,
            type=_F.TYPE_MESSAGE,
            label=_F.LABEL_REPEATED,
            type_name=f".bench.floor.{item}",
        )
    pool.Add(proto)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("bench.floor.TracesData"))


_TracesData = _view()


def _payload(raw: bytes) -> bytes:
    """A string ``AnyValue``'s text: past its tag and a one- or two-byte length."""
    return raw[3:] if raw[1] & 0x80 else raw[2:]


def _iso(ns: int) -> str:
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat()


def decode(chunks: Any) -> list[dict[str, Any]]:
    """The result dicts of every result span in ``chunks`` (``_TracesData`` messages)."""
    values = operator.itemgetter(*READ_KEYS)
    loads = orjson.loads
    results: list[dict[str, Any]] = []
    for chunk in chunks:
        for resource in chunk.resource_spans:
            for scope in resource.scope_spans:
                for span in scope.spans:
                    if span.name != "evaltrace.result":
                        continue
                    record, result, data, metadata, context = values(span.attributes)
                    ids = loads(_payload(record))
                    link = ids[4]
                    results.append(
                        {
                            "run_id": ids[6],
                            "project_name": ids[7],
                            "dataset_name": ids[8],
                            "evaluation_result": loads(_payload(result)),
                            "data": loads(_payload(data)),
                            "metadata": loads(_payload(metadata)),
                            "context": loads(_payload(context)),
                            "sample_id": ids[3],
                            "timestamp": _iso(span.start_time_unix_nano),
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "link": {"trace_id": link, "span_id": ids[5]} if link else None,
                        }
                    )
    return results


def reader(channel: grpc.Channel, request: Any, call: dict[str, Any]) -> Callable[[], int]:
    """A fetch of ``request`` (a ``FindTracesRequest``) that returns how many results the
    least reader decoded."""
    find = channel.unary_stream(
        "/jaeger.api_v3.QueryService/FindTraces",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=_TracesData.FromString,
    )
    return lambda: len(decode(find(request, **call)))
