"""OTLP requests sized by their encoded bytes, not by a span count.

A collector refuses a request over its receive limit (4 MiB gRPC, 20 MiB OTLP/HTTP by
default) with 413 or RESOURCE_EXHAUSTED, and 512 spans of 50 kB contexts are 24 MB. Each span
counts for an upper bound of a request of its own (resource and scope included: the sum
bounds the shared request from above; computed without protobuf, exact only near the limit),
then whole traces are packed in order under the limit; a trace larger than the limit is split
across requests; a span larger than the limit alone cannot be sent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["Request", "attributes_bound", "bound", "pack", "size", "span_bytes"]

T = TypeVar("T")


def span_bytes(span: ReadableSpan) -> int:
    """The bytes of a request holding this span alone."""
    return int(encode_spans([span]).ByteSize())


_FIELD = 6
"""Most bytes a protobuf field adds to its content: a one-byte tag (field numbers under 16)
and a length (a varint, at most 5 bytes)."""
_SPAN = 200
"""Most bytes of a span's fixed fields (ids, times, kind, status code, flags, counts) and of
the request's wrappers (ResourceSpans, ScopeSpans), each with its tags and lengths."""


def _text(value: str) -> int:
    return len(value.encode("utf-8", "surrogatepass"))


def _value(value: Any) -> int | None:
    """At least the encoded bytes of an attribute value; None for a type not bounded here."""
    if isinstance(value, str):
        return _text(value) + 2 * _FIELD
    if isinstance(value, bool | int | float):
        return 10 + 2 * _FIELD
    if isinstance(value, tuple | list):
        total = 2 * _FIELD
        for item in value:
            inner = _value(item)
            if inner is None:
                return None
            total += inner + _FIELD
        return total
    return None


def _attributes(attributes: Mapping[str, Any] | None) -> int | None:
    total = 0
    for key, value in (attributes or {}).items():
        inner = _value(value)
        if inner is None:
            return None
        total += _text(key) + inner + 3 * _FIELD
    return total


def attributes_bound(attributes: Mapping[str, Any] | None) -> int | None:
    """At least the encoded bytes of these attributes (None for a value type not bounded)."""
    return _attributes(attributes)


def bound(span: ReadableSpan) -> int | None:
    """A cheap upper bound of ``span_bytes`` (no protobuf: encoding every span twice doubled
    the forwarder's time), or None where it cannot tell."""
    total = _SPAN + _text(span.name) + _FIELD
    parts: list[int | None] = [
        _attributes(span.attributes),
        _attributes(span.resource.attributes),
        _text(span.instrumentation_scope.name) if span.instrumentation_scope else 0,
        _text(span.instrumentation_scope.version or "") if span.instrumentation_scope else 0,
        _text(span.resource.schema_url or "") + 4 * _FIELD,
        _text(span.status.description or "") + 2 * _FIELD,
    ]
    if span.context is not None and span.context.trace_state:
        parts.append(_text(span.context.trace_state.to_header()) + _FIELD)
    for event in span.events:
        parts += [_text(event.name) + 40, _attributes(event.attributes)]
    for link in span.links:
        state = link.context.trace_state
        parts += [_attributes(link.attributes), 80 + (_text(state.to_header()) if state else 0)]
    for part in parts:
        if part is None:
            return None
        total += part
    return total


def size(span: ReadableSpan, limit: int) -> int:
    """What a span counts for against ``limit``: its bound, or its exact bytes when the bound
    cannot tell or is over the limit (is it really too large?)."""
    estimate = bound(span)
    return estimate if estimate is not None and estimate <= limit else span_bytes(span)


@dataclass
class Request(Generic[T]):
    """Spans (or log records) sent together, and the traces (entry positions) they belong to."""

    spans: list[T] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    size: int = 0


def pack(
    traces: Sequence[Sequence[T]],
    limit: int,
    measure: Callable[[T, int], int] = size,  # type: ignore[assignment]
) -> tuple[list[Request[T]], list[tuple[int, T, int]]]:
    """Requests of at most ``limit`` encoded bytes, in order; and the items too large to send
    alone (trace position, item, bytes). ``measure(item, limit)``: what an item counts for
    (spans: ``size``; log records: their exact bytes)."""
    requests: list[Request[T]] = []
    too_large: list[tuple[int, T, int]] = []
    current: Request[T] = Request()
    for owner, trace in enumerate(traces):
        sizes = [measure(s, limit) for s in trace]
        whole = sum(n for n in sizes if n <= limit)
        if current.spans and current.size + whole > limit and whole <= limit:
            requests.append(current)  # the trace fits a request of its own: keep it whole
            current = Request()
        for span, nbytes in zip(trace, sizes, strict=True):
            if nbytes > limit:
                too_large.append((owner, span, nbytes))
                continue
            if current.spans and current.size + nbytes > limit:
                requests.append(current)
                current = Request()
            current.spans.append(span)
            current.owners.append(owner)
            current.size += nbytes
    if current.spans:
        requests.append(current)
    return requests, too_large
