"""Row 6: bytes per result on the wire, as OTLP protobuf.

The spans evaltrace emits are captured (``InMemorySpanExporter``) and encoded exactly as the
OTLP exporters encode them: ``encode_spans(spans).SerializeToString()``. The baseline is the
payload itself: the result and its data row as compact JSON (what any tracker has to carry).
Sizes are deterministic, so one measurement is the median. Throughput through the collector
into Jaeger is to be added with the backends.
"""

from __future__ import annotations

import gzip
import json

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker

from . import _data
from ._report import Row, Sizes

__all__ = ["run"]


def _payload_bytes(n: int) -> float:
    results, rows = _data.results_and_rows(n)
    encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
    total = sum(
        len(encoder.encode(r).encode()) + len(encoder.encode(d).encode())
        for r, d in zip(results, rows, strict=True)
    )
    return total / n


def _otlp(n: int, batch: bool) -> tuple[float, float, int]:
    """OTLP bytes per result, gzip'd bytes per result, spans encoded."""
    memory = InMemorySpanExporter()
    tracker = OpenTelemetryExperimentTracker("bench", store=False, exporters=[memory])
    results, rows = _data.results_and_rows(n)
    if batch:
        tracker.log_batch_sync(results, "bench-dataset", rows)
    else:
        for result, row in zip(results, rows, strict=True):
            tracker.log(result, "bench-dataset", row)
    tracker.close()
    spans = memory.get_finished_spans()
    wire = encode_spans(spans).SerializeToString()
    return len(wire) / n, len(gzip.compress(wire)) / n, len(spans)


def run(sizes: Sizes) -> list[Row]:
    """Rows ``wire.log`` and ``wire.log_batch``."""
    n = sizes.wire_n
    payload = _payload_bytes(n)
    rows: list[Row] = []
    for batch in (False, True):
        per_result, gzipped, spans = _otlp(n, batch)
        rows.append(
            Row(
                id="wire.log_batch" if batch else "wire.log",
                group="wire",
                name="OTLP protobuf bytes per result, "
                + ("log_batch rows" if batch else "log() spans"),
                unit="bytes/result",
                value=per_result,
                baseline_name="the result + data row as compact JSON",
                baseline=payload,
                ratio=per_result / payload,
                target="(reported)",
                met=None,
                n=n,
                reps=1,
                notes=f"{spans} spans in one export request; gzip: {gzipped:,.0f} bytes/result; "
                "deterministic sizes",
                extra={"gzip_bytes_per_result": gzipped},
            )
        )
    return rows
