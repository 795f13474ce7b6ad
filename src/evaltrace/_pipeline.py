"""The tracker's OpenTelemetry pipeline: its own TracerProvider, processors and exporters.

The tracker never touches the global TracerProvider: an application's tracing stays the
application's. Its batch processor is flushed synchronously before its queue can fill (see
``Pipeline.note_spans``), so a 20,000-row ``log_batch`` loses nothing to the SDK's
drop-oldest queue.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from ._config import Settings
from ._schema import Limits
from .store import SQLiteSpanExporter

__all__ = ["CountingExporter", "Pipeline"]

_RESERVED_ATTRIBUTES = 24
"""Identifier and payload attributes a result span carries besides flat metrics."""


def _otlp_exporter(
    settings: Settings, explicit: bool, headers: Mapping[str, str] | None
) -> SpanExporter:
    kwargs: dict[str, Any] = {"headers": dict(headers)} if headers else {}
    if settings.otlp_protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        if explicit and settings.otlp_endpoint:
            kwargs["endpoint"] = settings.otlp_endpoint
            kwargs["insecure"] = urlparse(settings.otlp_endpoint).scheme == "http"
        return Grpc(**kwargs)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    if explicit and settings.otlp_endpoint:
        url = settings.otlp_endpoint.rstrip("/")
        kwargs["endpoint"] = url if urlparse(url).path else url + "/v1/traces"
    return Http(**kwargs)


def _resource(extra: Mapping[str, Any] | None) -> Resource:
    resource = Resource.create(dict(extra or {}))
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "evaltrace"}))
    return resource


class CountingExporter(SpanExporter):
    """Counts what an exporter accepted and refused: the SDK only logs a failed export."""

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter
        self.exported = 0
        self.failed = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Delegate, then count by outcome."""
        result = self.exporter.export(spans)
        if result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self.failed += len(spans)
        return result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Delegate."""
        return self.exporter.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Delegate."""
        self.exporter.shutdown()


@dataclass
class Pipeline:
    """Provider, tracer and the exporters the tracker installed."""

    provider: TracerProvider
    tracer: trace.Tracer
    limits: Limits
    owns_provider: bool
    flush_every: int
    store: SQLiteSpanExporter | None = None
    exporters: list[CountingExporter] = field(default_factory=list)
    _pending: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        tracer_provider: TracerProvider | None,
        exporters: Sequence[SpanExporter],
        otlp_explicit: bool,
        otlp_headers: Mapping[str, str] | None,
        resource_attributes: Mapping[str, Any] | None,
    ) -> Pipeline:
        """Assemble the pipeline; see the tracker's docstring for what goes where."""
        owns = tracer_provider is None
        if tracer_provider is None:
            tracer_provider = TracerProvider(
                resource=_resource(resource_attributes),
                span_limits=SpanLimits(
                    max_span_attributes=settings.max_metric_attributes + _RESERVED_ATTRIBUTES,
                    max_attribute_length=SpanLimits.UNSET,
                    max_span_attribute_length=SpanLimits.UNSET,
                ),
            )
        span_limits = getattr(tracer_provider, "_span_limits", None)
        max_attrs = getattr(span_limits, "max_span_attributes", None) or 128
        max_events = getattr(span_limits, "max_events", None) or 128
        limits = Limits(
            max_metric_attributes=max(
                0, min(settings.max_metric_attributes, max_attrs - _RESERVED_ATTRIBUTES)
            ),
            max_metric_string=settings.max_metric_string,
            max_events=max_events,
        )
        store = SQLiteSpanExporter(settings.store) if settings.store else None
        installed: list[SpanExporter] = [store] if store else []
        if settings.otlp_endpoint and (owns or otlp_explicit):
            installed.append(_otlp_exporter(settings, otlp_explicit, otlp_headers))
        installed.extend(exporters)
        counted = [CountingExporter(exporter) for exporter in installed]
        for exporter in counted:
            tracer_provider.add_span_processor(
                BatchSpanProcessor(
                    exporter,
                    max_queue_size=settings.queue_size,
                    max_export_batch_size=min(512, settings.queue_size),
                    schedule_delay_millis=1000,
                )
            )
        return cls(
            provider=tracer_provider,
            tracer=tracer_provider.get_tracer("evaltrace"),
            limits=limits,
            owns_provider=owns,
            flush_every=max(1, settings.queue_size // 2),
            store=store,
            exporters=counted,
        )

    def note_spans(self, count: int) -> bool:
        """Count ended spans; True when a flush is due before the queue could fill."""
        with self._lock:
            self._pending += count
            if self._pending < self.flush_every:
                return False
            self._pending = 0
            return True

    def flush(self) -> bool:
        """Export everything queued, on the calling thread."""
        with self._lock:
            self._pending = 0
        return self.provider.force_flush()

    def export_failures(self) -> int:
        """Spans an installed exporter refused (the SDK logs these, nothing else counts them)."""
        return sum(exporter.failed for exporter in self.exporters)

    def shutdown(self) -> None:
        """Flush and stop what the tracker owns."""
        self.flush()
        if self.owns_provider:
            self.provider.shutdown()
