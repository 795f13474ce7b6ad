"""The floor of the log rows: the bare OpenTelemetry SDK, plus the raw durable record.

``capture`` logs results through a real tracker into an ``InMemorySpanExporter`` and keeps
every span it emitted (name, attributes, events, timestamps, parentage) grouped by log call.
``replay`` then does, with nothing of evaltrace in the timed section:

* **the bare span**: the very same spans (attributes and events precomputed) through a plain
  ``TracerProvider`` + ``BatchSpanProcessor`` into an ``InMemorySpanExporter``, force-flushed
  whenever half of the processor's queue has ended since the last flush (the least a design
  that never drops a span has to do: the SDK drops the oldest when its queue is full) and at
  the end, so everything is handed to the exporter;
* **plus the raw durable record** (``durable=True``): per result, the same JSON (result, data,
  ids) built with orjson and inserted into a plain SQLite table in WAL mode
  (``synchronous=NORMAL``, as the store), one transaction per log call.

What is left between a tracker and this floor is evaltrace's own work: validation, encoding,
its store layout (calls, runs, indexes), bookkeeping.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker
from evaltrace.schema import ATTR_RECORD, RECORD_FIELDS, SUMMARY_SPAN

__all__ = [
    "DATASET",
    "RUN_ATTRIBUTE",
    "DiscardExporter",
    "Floor",
    "FloorCall",
    "FloorSpan",
    "capture",
    "memory_floor",
    "replay",
    "with_run_id",
]

_ROOT = otel_context.Context()
DATASET = "bench-dataset"
RUN_ATTRIBUTE = "eval.run_id"
"""Spelled here, not imported: the floor holds no evaltrace code."""
QUEUE = 2048
"""``BatchSpanProcessor``'s default queue; the floor flushes at half of it."""

_TABLE = """
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY,
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    record TEXT NOT NULL
)
"""


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


@dataclass(frozen=True, slots=True)
class FloorCall:
    """The spans of one log call (root spans with their children), and the (result, data)
    pairs whose durable record the floor writes."""

    spans: tuple[FloorSpan, ...]
    rows: tuple[tuple[Any, Any], ...]


def with_run_id(spans: Sequence[FloorSpan], run_id: str) -> list[FloorSpan]:
    """The same spans under another run id (untimed set-up, so that two replays of one
    capture are two runs a backend can tell apart)."""

    def renamed(span: FloorSpan) -> FloorSpan:
        attributes = {**span.attributes, RUN_ATTRIBUTE: run_id}
        record = attributes.get(ATTR_RECORD)
        if isinstance(record, str):  # its run id too, so that it is read as the tracker's are
            fields = orjson.loads(record)
            fields[RECORD_FIELDS.index("run_id")] = run_id
            attributes[ATTR_RECORD] = orjson.dumps(fields).decode()
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


class _PerCall(SpanExporter):
    """Collects each export (= one log call: the tracker exports per call) as one group."""

    def __init__(self) -> None:
        self.calls: list[list[ReadableSpan]] = []

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.calls.append(list(spans))
        return SpanExportResult.SUCCESS


def capture(
    log: Callable[[OpenTelemetryExperimentTracker], None], rows: Sequence[tuple[Any, Any]]
) -> list[FloorCall]:
    """The spans ``log(tracker)`` emits, by log call, with the (result, data) pairs of
    ``rows`` assigned to the calls in order (one per result span)."""
    per_call = _PerCall()
    tracker = OpenTelemetryExperimentTracker("bench", store=False, exporters=[per_call])
    log(tracker)
    tracker.close()
    out: list[FloorCall] = []
    taken = 0
    for call_spans in per_call.calls:
        # Run-summary spans are the tracker's, not a log call's: the floor logs results only.
        spans = [s for s in call_spans if s.name != SUMMARY_SPAN]
        if not spans:
            continue
        children: dict[int, list[ReadableSpan]] = {}
        roots: list[ReadableSpan] = []
        for span in spans:
            if span.parent is None:
                roots.append(span)
            else:
                children.setdefault(span.parent.span_id, []).append(span)
        roots.sort(key=lambda s: s.start_time or 0)
        floor = tuple(
            _floor_span(root, tuple(_floor_span(c) for c in children.get(root.context.span_id, [])))
            for root in roots
        )
        results = sum(1 if not s.children else len(s.children) for s in floor)
        out.append(FloorCall(floor, tuple(rows[taken : taken + results])))
        taken += results
    assert taken == len(rows), (taken, len(rows))
    return out


class Floor:
    """A bare provider (``BatchSpanProcessor`` into ``exporter``) and, when ``durable``, a
    plain SQLite table in WAL mode at ``path``."""

    def __init__(
        self, exporter: SpanExporter, path: Path | None, resource: Resource | None = None
    ) -> None:
        self.exporter = exporter
        self.provider = TracerProvider(
            resource=resource or Resource.create({"service.name": "bench"}),
            span_limits=SpanLimits(
                max_span_attributes=120,  # as a default tracker: 96 metrics + 24 reserved
                max_attribute_length=SpanLimits.UNSET,
                max_span_attribute_length=SpanLimits.UNSET,
            ),
        )
        self.provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=QUEUE))
        self.tracer = self.provider.get_tracer("evaltrace")
        self.conn: sqlite3.Connection | None = None
        if path is not None:
            self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute(_TABLE)

    def shutdown(self) -> None:
        """Close the provider and the database."""
        self.provider.shutdown()
        if self.conn is not None:
            self.conn.close()


def _emit(
    tracer: trace.Tracer,
    span: FloorSpan,
    parent: otel_context.Context,
    out: list[trace.SpanContext],
) -> None:
    live = tracer.start_span(
        span.name, context=parent, start_time=span.start_ns, attributes=span.attributes
    )
    if span.children:
        inner = trace.set_span_in_context(live, _ROOT)
        for child in span.children:
            _emit(tracer, child, inner, out)
    else:
        out.append(live.get_span_context())
    for name, attributes, timestamp in span.events:
        live.add_event(name, attributes, timestamp=timestamp)
    live.end(end_time=span.end_ns)


_DUMPS = orjson.dumps


def replay(floor: Floor, calls: Sequence[FloorCall]) -> None:
    """The floor's timed section: every call's spans, then (``durable``) its records in one
    transaction; force-flushes as described in the module docstring."""
    tracer = floor.tracer
    conn = floor.conn
    pending = 0
    flush_every = QUEUE // 2
    for call in calls:
        contexts: list[trace.SpanContext] = []
        for span in call.spans:
            _emit(tracer, span, _ROOT, contexts)
            pending += 1 + len(span.children)
        if conn is not None:
            records = [
                (
                    ctx.trace_id.to_bytes(16, "big"),
                    ctx.span_id.to_bytes(8, "big"),
                    _DUMPS(
                        {
                            "trace_id": f"{ctx.trace_id:032x}",
                            "span_id": f"{ctx.span_id:016x}",
                            "result": result,
                            "data": data,
                        }
                    ).decode(),
                )
                for ctx, (result, data) in zip(contexts, call.rows, strict=True)
            ]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT INTO records (trace_id, span_id, record) VALUES (?,?,?)", records
            )
            conn.execute("COMMIT")
        if pending >= flush_every:
            pending = 0
            floor.provider.force_flush()
    floor.provider.force_flush()


def memory_floor(durable: Path | None) -> tuple[Floor, InMemorySpanExporter]:
    """A floor into an ``InMemorySpanExporter`` (durable when given a database path)."""
    exporter = InMemorySpanExporter()
    return Floor(exporter, durable), exporter
