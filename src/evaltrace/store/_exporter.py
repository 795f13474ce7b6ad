"""``SQLiteSpanExporter``: the zero-infrastructure default destination of spans."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import format_span_id, format_trace_id

from .._schema import ResultIndex, result_index, stored_record
from ._db import atomic, connect

__all__ = ["SQLiteSpanExporter"]

_log = logging.getLogger("evaltrace")

_INSERT_SPAN = """
INSERT OR REPLACE INTO spans (trace_id, span_id, parent_span_id, name, kind, start_ns, end_ns,
    status, attributes, events, links, resource, run_id, seq, record)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
"""
_UPSERT_RUN = """
INSERT INTO runs (run_id, project_name, dataset_name, started_ns, ended_ns, num_results, metadata)
VALUES (?,?,?,?,?,?,?)
ON CONFLICT (run_id) DO UPDATE SET
    started_ns = min(started_ns, excluded.started_ns),
    ended_ns = max(ended_ns, excluded.ended_ns),
    num_results = num_results + excluded.num_results
"""


_ATTRIBUTES_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_EVENTS_JSON = json.JSONEncoder(ensure_ascii=False)


_PROXIED = ReadableSpan.attributes
"""The SDK's property: a read-only proxy of ``span._attributes``."""


def _plain(attributes: Any) -> dict[str, Any]:
    """The attributes as a dict; an SDK ``BoundedAttributes`` hands over its own dict, without a
    Python-level ``__getitem__`` call per key (the export's hot spot). Never mutated."""
    if type(attributes) is dict:
        return attributes
    inner = getattr(attributes, "_dict", None)
    return inner if type(inner) is dict else dict(attributes or {})


def _span_attributes(span: ReadableSpan) -> dict[str, Any]:
    """``span.attributes`` as a dict, read behind the SDK's proxy when the property is the SDK's."""
    if type(span).attributes is _PROXIED:
        return _plain(span._attributes)
    return _plain(span.attributes)


def _attrs(attributes: Any) -> str:
    return _ATTRIBUTES_JSON.encode(_plain(attributes))


class SQLiteSpanExporter(SpanExporter):
    """Writes each export batch in one transaction; failures are counted, never raised."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._conn = connect(self.path)
        self._lock = threading.Lock()
        self.spans_written = 0
        self.spans_failed = 0
        self._resource: tuple[object, str] = (None, "")

    def _resource_json(self, span: ReadableSpan) -> str:
        """A provider's spans share one resource: encode it once, not once per span."""
        resource, text = self._resource
        if span.resource is not resource:
            resource, text = span.resource, _attrs(span.resource.attributes)
            self._resource = (resource, text)
        return text

    def _row(
        self, span: ReadableSpan, attributes: dict[str, Any], index: ResultIndex | None
    ) -> tuple[Any, ...]:
        ctx = span.get_span_context()
        assert ctx is not None
        return (
            format_trace_id(ctx.trace_id),
            format_span_id(ctx.span_id),
            format_span_id(span.parent.span_id) if span.parent else None,
            span.name,
            span.kind.name,
            span.start_time or 0,
            span.end_time or 0,
            span.status.status_code.name,
            _ATTRIBUTES_JSON.encode(attributes),
            _EVENTS_JSON.encode(
                [
                    {"name": e.name, "time_ns": e.timestamp, "attributes": _plain(e.attributes)}
                    for e in span.events
                ]
            ),
            json.dumps(
                [
                    {
                        "trace_id": format_trace_id(link.context.trace_id),
                        "span_id": format_span_id(link.context.span_id),
                        "attributes": dict(link.attributes or {}),
                    }
                    for link in span.links
                ]
            ),
            self._resource_json(span),
            index.run_id if index else None,
            index.seq if index else None,
            stored_record(attributes) if index else None,
        )

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Store a batch atomically and fold its results into the per-run rows."""
        try:
            attributes = [_span_attributes(span) for span in spans]
            indexes = [
                result_index(span.name, attrs)
                for span, attrs in zip(spans, attributes, strict=True)
            ]
            rows = [
                self._row(span, attrs, index)
                for span, attrs, index in zip(spans, attributes, indexes, strict=True)
            ]
            runs: dict[str, list[Any]] = {}
            for index, row in zip(indexes, rows, strict=True):
                if index is None:
                    continue
                run = runs.get(index.run_id)
                if run is None:
                    runs[index.run_id] = [
                        index.run_id,
                        index.project_name,
                        index.dataset_name,
                        row[5],
                        row[5],
                        1,
                        index.metadata_json,
                    ]
                else:
                    run[3], run[4], run[5] = min(run[3], row[5]), max(run[4], row[5]), run[5] + 1
            with self._lock, atomic(self._conn) as conn:
                conn.executemany(_INSERT_SPAN, rows)
                conn.executemany(_UPSERT_RUN, list(runs.values()))
        except (sqlite3.Error, TypeError, ValueError) as exc:
            self.spans_failed += len(spans)
            _log.error("evaltrace: could not store %d spans in %s: %s", len(spans), self.path, exc)
            return SpanExportResult.FAILURE
        self.spans_written += len(spans)
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every export is already committed when it returns."""
        return True

    def shutdown(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()
