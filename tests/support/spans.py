"""What an ``InMemorySpanExporter`` got of the logged calls: the run-summary spans left out."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace.schema import SUMMARY_SPAN


def logged_spans(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, ...]:
    """The result and batch spans the exporter holds (a tracker also sends it run summaries
    at flush and close)."""
    return tuple(s for s in exporter.get_finished_spans() if s.name != SUMMARY_SPAN)


def summary_spans(exporter: InMemorySpanExporter) -> tuple[ReadableSpan, ...]:
    """The run-summary spans the exporter holds."""
    return tuple(s for s in exporter.get_finished_spans() if s.name == SUMMARY_SPAN)
