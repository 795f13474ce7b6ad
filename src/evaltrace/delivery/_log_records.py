"""Evaluation events as OTLP log records: the one module that touches OpenTelemetry's logs SDK.

The Python logs SDK is still private in name (``opentelemetry.sdk._logs``, and the OTLP log
exporters' ``_log_exporter`` modules, as of 1.45) though it is the official one: evaltrace
pins the version it is tested with (pyproject.toml) and imports it here only, so a rename
touches one file. Records are made from result spans (``schema._log_encode``), at send time,
on the forwarder's thread: a span rebuilt from the store gives the same records again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlparse

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from ..schema import EVALUATION_EVENT, RESULT_SPAN
from ..schema._log_encode import event_records
from ._otlp_answer import (
    GRPC_RETRIED,
    AnsweringSession,
    answered_by,
    answering_grpc,
    quiet_exporter_logs,
)
from ._requests import attributes_bound

__all__ = [
    "LOG_EXPORTER_LOGGERS",
    "LogRecordExporter",
    "ReadableLogRecord",
    "build_log_exporter",
    "exported",
    "record_bytes",
    "record_size",
    "records_of",
]

LOG_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http._log_exporter",
    "opentelemetry.exporter.otlp.proto.grpc._log_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
)
_ROOT = otel_context.Context()
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


def _parent(trace_id: int, span_id: int) -> otel_context.Context:
    """A context whose current span is ``trace_id/span_id``: how a log record is parented."""
    span = NonRecordingSpan(SpanContext(trace_id, span_id, is_remote=True, trace_flags=_SAMPLED))
    return trace.set_span_in_context(span, _ROOT)


def records_of(spans: Sequence[ReadableSpan]) -> list[ReadableLogRecord]:
    """The ``gen_ai.evaluation.result`` log records of the result spans among ``spans`` (batch
    roots and run summaries have none), one per evaluation event, in order."""
    out: list[ReadableLogRecord] = []
    for span in spans:
        if span.name != RESULT_SPAN or span.context is None or not span.events:
            continue
        events = [e.attributes or {} for e in span.events if e.name == EVALUATION_EVENT]
        if not events:
            continue
        evaluated = None
        if span.links:
            linked = span.links[0].context
            evaluated = (linked.trace_id, linked.span_id)
        timestamp = span.start_time or 0
        for made in event_records(
            span.attributes or {},
            events,
            trace_id=span.context.trace_id,
            span_id=span.context.span_id,
            timestamp_ns=timestamp,
            evaluated=evaluated,
        ):
            out.append(
                ReadableLogRecord(
                    LogRecord(
                        timestamp=made.timestamp_ns,
                        # The result's time, not now: a re-send is the same record.
                        observed_timestamp=made.timestamp_ns,
                        context=_parent(made.trace_id, made.span_id),
                        attributes=made.attributes,
                        event_name=EVALUATION_EVENT,
                    ),
                    resource=span.resource,
                    instrumentation_scope=span.instrumentation_scope,
                )
            )
    return out


def record_bytes(record: ReadableLogRecord) -> int:
    """The bytes of a request holding this record alone."""
    return int(encode_logs([record]).ByteSize())


_RECORD = 200
"""Most bytes of a record's fixed fields (times, ids, flags, severity, counts) and of the
request's wrappers (ResourceLogs, ScopeLogs), with their tags and lengths."""


def record_size(record: ReadableLogRecord, limit: int) -> int:
    """What a record counts for against ``limit``: a cheap upper bound of ``record_bytes``
    (encoding each record alone cost more than encoding the whole request again), or its
    exact bytes when the bound cannot tell or is over the limit."""
    log = record.log_record
    scope = record.instrumentation_scope
    parts = [
        attributes_bound(log.attributes),
        attributes_bound(record.resource.attributes),
        len((log.event_name or "").encode()) + 12,
        len((log.severity_text or "").encode()) + 12,
        (len(scope.name.encode()) + len((scope.version or "").encode()) + 24) if scope else 0,
        len((record.resource.schema_url or "").encode()) + 24,
    ]
    if log.body is not None:
        parts.append(None if not isinstance(log.body, str) else len(log.body.encode()) + 24)
    total = _RECORD
    for part in parts:
        if part is None:
            return record_bytes(record)
        total += part
    return total if total <= limit else record_bytes(record)


def exported(result: LogRecordExportResult) -> bool:
    """Whether an export succeeded."""
    return result is LogRecordExportResult.SUCCESS


def build_log_exporter(
    endpoint: str | None, protocol: str, headers: Mapping[str, str] | None
) -> LogRecordExporter:
    """OpenTelemetry's OTLP log exporter for ``protocol``, to the collector the spans go to
    (``endpoint`` None: the standard ``OTEL_EXPORTER_OTLP_*`` variables)."""
    kwargs: dict[str, Any] = {"headers": dict(headers)} if headers else {}
    quiet_exporter_logs(LOG_EXPORTER_LOGGERS)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
            OTLPLogExporter as Grpc,
        )

        if endpoint:
            kwargs["endpoint"] = endpoint
            kwargs["insecure"] = urlparse(endpoint).scheme == "http"
        grpc_exporter = Grpc(retryable_error_codes=GRPC_RETRIED, **kwargs)
        answering_grpc(grpc_exporter)  # UNIMPLEMENTED, 400/413 and partial success
        return grpc_exporter
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as Http

    if endpoint:
        url = endpoint.rstrip("/")
        # A traces URL given whole (what the span exporter posts to as is): its logs sibling.
        base = url[: -len("/v1/traces")] if url.endswith("/v1/traces") else url
        kwargs["endpoint"] = base + "/v1/logs"
    session = AnsweringSession()
    exporter = Http(session=session, **kwargs)
    answered_by(exporter, session)
    return exporter
