"""OTLP requests sized by their encoded bytes, not by a span count.

A collector refuses a request over its receive limit (4 MiB gRPC, 20 MiB OTLP/HTTP by
default) with 413 or RESOURCE_EXHAUSTED, and 512 spans of 50 kB contexts are 24 MB. Each span
is measured as a request of its own (resource and scope included: the sum bounds the shared
request from above), then whole traces are packed in order under the limit; a trace larger
than the limit is split across requests; a span larger than the limit alone cannot be sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["Request", "pack", "span_bytes"]


def span_bytes(span: ReadableSpan) -> int:
    """The bytes of a request holding this span alone."""
    return int(encode_spans([span]).ByteSize())


@dataclass
class Request:
    """Spans sent together, and the traces (entry positions) they belong to."""

    spans: list[ReadableSpan] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)
    size: int = 0


def pack(
    traces: Sequence[Sequence[ReadableSpan]], limit: int
) -> tuple[list[Request], list[tuple[int, ReadableSpan, int]]]:
    """Requests of at most ``limit`` encoded bytes, in order; and the spans too large to send
    alone (trace position, span, bytes)."""
    requests: list[Request] = []
    too_large: list[tuple[int, ReadableSpan, int]] = []
    current = Request()
    for owner, trace in enumerate(traces):
        sizes = [span_bytes(s) for s in trace]
        whole = sum(n for n in sizes if n <= limit)
        if current.spans and current.size + whole > limit and whole <= limit:
            requests.append(current)  # the trace fits a request of its own: keep it whole
            current = Request()
        for span, size in zip(trace, sizes, strict=True):
            if size > limit:
                too_large.append((owner, span, size))
                continue
            if current.spans and current.size + size > limit:
                requests.append(current)
                current = Request()
            current.spans.append(span)
            current.owners.append(owner)
            current.size += size
    if current.spans:
        requests.append(current)
    return requests, too_large
