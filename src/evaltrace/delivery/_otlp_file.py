"""OTLP/JSON trace files: spans to the lines a collector's ``file`` exporter writes, and back.

One ``ExportTraceServiceRequest`` per line in the protobuf JSON mapping (camelCase, int64 as
strings, enums as integers), encoded by the official classes (``opentelemetry-proto``,
``google.protobuf.json_format``); trace and span ids are hex, as OTLP/JSON says, where the
generic mapping would write base64 — the one rewrite done here, both ways.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace import ReadableSpan

from .._codec import dumps, loads
from .._exceptions import InvalidInputError

__all__ = ["SPANS_PER_LINE", "FileSpan", "read_spans", "request_lines"]

SPANS_PER_LINE: Final = 512
"""Spans in one line's request (the collector's file exporter writes one line per batch)."""

_ID_SIZES: Final = {"traceId": 16, "spanId": 8, "parentSpanId": 8}


def _ids(request: dict[str, Any], convert: Any) -> None:
    """Rewrite every span's and link's ids in place with ``convert(value, size)``."""
    for resource in request.get("resourceSpans") or []:
        for scope in resource.get("scopeSpans") or []:
            for span in scope.get("spans") or []:
                for item in (span, *(span.get("links") or [])):
                    for key, size in _ID_SIZES.items():
                        if isinstance(item.get(key), str) and item[key]:
                            item[key] = convert(item[key], size)


def _to_hex(value: str, size: int) -> str:
    return base64.b64decode(value).hex()


def _to_base64(value: str, size: int) -> str:
    """A hex id as the generic mapping reads bytes; an id that is not hex of the right size is
    taken as base64 already (some writers use it)."""
    if len(value) == size * 2:
        try:
            return base64.b64encode(bytes.fromhex(value)).decode()
        except ValueError:
            pass
    return value


def request_lines(spans: Iterable[ReadableSpan]) -> Iterator[str]:
    """The spans as OTLP/JSON lines (each ending in a newline), ``SPANS_PER_LINE`` per line."""
    batch: list[ReadableSpan] = []
    for span in spans:
        batch.append(span)
        if len(batch) == SPANS_PER_LINE:
            yield _line(batch)
            batch = []
    if batch:
        yield _line(batch)


def _line(spans: list[ReadableSpan]) -> str:
    request = json_format.MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    _ids(request, _to_hex)
    return dumps(request, "request", None) + "\n"


@dataclass(slots=True)
class FileSpan:
    """One span read from a file, with what the store needs of it."""

    line: int
    name: str
    trace_id: int
    span_id: int
    parent_span_id: int | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    links: list[tuple[str, str]] = field(default_factory=list)
    """Hex (trace id, span id) of each link."""
    resource: dict[str, Any] = field(default_factory=dict)


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    return None if kind is None else getattr(value, kind)


def _attributes(items: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in items}


def _request(text: str, where: str) -> ExportTraceServiceRequest:
    try:
        raw = loads(text)
    except (ValueError, RecursionError) as exc:
        raise InvalidInputError(f"{where}: not JSON ({exc})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("resourceSpans"), list):
        raise InvalidInputError(
            f"{where}: not an OTLP/JSON trace request (no resourceSpans list); expected one "
            "per line, as `evaltrace export --format otlp` or a collector's file exporter "
            "writes"
        )
    _ids(raw, _to_base64)
    try:
        return json_format.ParseDict(raw, ExportTraceServiceRequest(), ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, ValueError) as exc:
        raise InvalidInputError(f"{where}: not an OTLP/JSON trace request ({exc})") from None


def read_spans(lines: Iterable[str], name: str) -> Iterator[FileSpan]:
    """Every span of an OTLP/JSON trace file, in file order (blank lines skipped); a line that
    is not a trace request raises ``InvalidInputError`` naming the file and line."""
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        where = f"{name} line {number}"
        for resource_spans in _request(text, where).resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope in resource_spans.scope_spans:
                for span in scope.spans:
                    if len(span.trace_id) != 16 or len(span.span_id) != 8:
                        raise InvalidInputError(
                            f"{where}: span {span.name!r} has no valid traceId/spanId"
                        )
                    yield FileSpan(
                        number,
                        span.name,
                        int.from_bytes(span.trace_id, "big"),
                        int.from_bytes(span.span_id, "big"),
                        int.from_bytes(span.parent_span_id, "big")
                        if len(span.parent_span_id) == 8
                        else None,
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                        _attributes(span.attributes),
                        [(link.trace_id.hex(), link.span_id.hex()) for link in span.links],
                        resource,
                    )
