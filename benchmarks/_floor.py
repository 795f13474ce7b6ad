"""The floor of a span-based design: the bare OpenTelemetry SDK emitting evaltrace's spans.

``capture`` logs results through a real tracker into an ``InMemorySpanExporter`` and keeps
every span it emitted (name, attributes, events, timestamps, parentage). ``replay`` then emits
the very same spans through the bare SDK, with everything precomputed, into a provider built
by evaltrace's own ``Pipeline.build`` (same span limits, same ``BatchSpanProcessor`` settings,
same exporter class, same flush-before-the-queue-fills schedule): what is left between a
tracker and its floor is evaltrace's own work (validation, encoding, bookkeeping).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker, SQLiteSpanExporter, _schema
from evaltrace._config import Settings
from evaltrace._pipeline import Pipeline

__all__ = [
    "DiscardExporter",
    "FloorSpan",
    "call_attributes",
    "capture",
    "floor_pipeline",
    "make_exporter",
    "make_tracker",
    "replay",
    "with_run_id",
]

_ROOT = otel_context.Context()
DATASET = "bench-dataset"


class DiscardExporter(SpanExporter):
    """Accepts every batch and keeps nothing but a count."""

    def __init__(self) -> None:
        self.spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Count and drop."""
        self.spans += len(spans)
        return SpanExportResult.SUCCESS


@dataclass(frozen=True, slots=True)
class FloorSpan:
    """One span exactly as evaltrace emitted it, ready to be emitted again."""

    name: str
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    events: tuple[tuple[str, dict[str, Any], int], ...]
    children: tuple[FloorSpan, ...] = ()


def call_attributes() -> dict[str, Any]:
    """What ``log`` shares across a call's rows, for timing ``encode_result`` on its own."""
    return _schema.call_attributes(
        project_name="bench",
        run_id="bench-run",
        dataset_name=DATASET,
        metadata_json="{}",
        context_json="{}",
        link=None,
        batch_id=None,
    )


def make_exporter(kind: str, workdir: Path) -> SpanExporter:
    """``discard`` or ``sqlite`` (a fresh embedded store in ``workdir``)."""
    if kind == "discard":
        return DiscardExporter()
    return SQLiteSpanExporter(workdir / "floor.db")


def make_tracker(kind: str, workdir: Path) -> tuple[OpenTelemetryExperimentTracker, SpanExporter]:
    """A tracker whose only exporter is ``kind`` (for ``sqlite``, its own embedded store)."""
    if kind == "discard":
        exporter = DiscardExporter()
        return OpenTelemetryExperimentTracker("bench", store=False, exporters=[exporter]), exporter
    tracker = OpenTelemetryExperimentTracker("bench", store=workdir / "evaltrace.db")
    assert tracker._pipeline.store is not None
    return tracker, tracker._pipeline.store


def floor_pipeline(exporter: SpanExporter, service_name: str | None = None) -> Pipeline:
    """Provider, span limits and BatchSpanProcessor exactly as a default tracker builds them."""
    settings = Settings.from_env(store=False, otlp_endpoint=None, otlp_protocol=None)
    return Pipeline.build(
        settings,
        tracer_provider=None,
        exporters=[exporter],
        otlp_explicit=False,
        otlp_headers=None,
        resource_attributes={"service.name": service_name} if service_name else None,
    )


def with_run_id(spans: Sequence[FloorSpan], run_id: str) -> list[FloorSpan]:
    """The same spans under another run id (untimed set-up, so that two replays of one
    capture are two runs a backend can tell apart)."""

    def renamed(span: FloorSpan) -> FloorSpan:
        attributes = {**span.attributes, _schema.ATTR_RUN_ID: run_id}
        return replace(span, attributes=attributes, children=tuple(map(renamed, span.children)))

    return [renamed(span) for span in spans]


def _floor_span(span: ReadableSpan, children: tuple[FloorSpan, ...] = ()) -> FloorSpan:
    return FloorSpan(
        name=span.name,
        start_ns=span.start_time or 0,
        end_ns=span.end_time or 0,
        attributes=dict(span.attributes or {}),
        events=tuple((e.name, dict(e.attributes or {}), e.timestamp) for e in span.events),
        children=children,
    )


def capture(log: Callable[[OpenTelemetryExperimentTracker], None]) -> list[FloorSpan]:
    """Root spans (with their children) that ``log(tracker)`` emits, in emission order."""
    memory = InMemorySpanExporter()
    with tempfile.TemporaryDirectory():
        tracker = OpenTelemetryExperimentTracker("bench", store=False, exporters=[memory])
        log(tracker)
        tracker.close()
    spans = memory.get_finished_spans()
    children: dict[int, list[ReadableSpan]] = {}
    roots: list[ReadableSpan] = []
    for span in spans:
        if span.parent is None:
            roots.append(span)
        else:
            children.setdefault(span.parent.span_id, []).append(span)
    roots.sort(key=lambda s: s.start_time or 0)
    return [
        _floor_span(root, tuple(_floor_span(c) for c in children.get(root.context.span_id, [])))
        for root in roots
    ]


def _emit(tracer: trace.Tracer, span: FloorSpan, parent: otel_context.Context) -> None:
    live = tracer.start_span(
        span.name, context=parent, start_time=span.start_ns, attributes=span.attributes
    )
    if span.children:
        inner = trace.set_span_in_context(live, _ROOT)
        for child in span.children:
            _emit(tracer, child, inner)
    for name, attributes, timestamp in span.events:
        live.add_event(name, attributes, timestamp=timestamp)
    live.end(end_time=span.end_ns)


def replay(pipeline: Pipeline, spans: Sequence[FloorSpan]) -> None:
    """Emit ``spans`` through the bare SDK, then force-flush: the floor's timed section.

    Like the tracker, the floor force-flushes whenever ``flush_every`` spans have ended since
    the last flush: with the same bounded queue, the least a design that never drops a span
    (the SDK drops the oldest when its queue is full) has to do.
    """
    tracer = pipeline.tracer
    pending = 0
    for span in spans:
        _emit(tracer, span, _ROOT)
        pending += 1 + len(span.children)
        if pending >= pipeline.flush_every:
            pending = 0
            pipeline.provider.force_flush()
    pipeline.provider.force_flush()
