"""``SQLiteSpanExporter``: evaltrace result spans from any ``TracerProvider`` into a store.

For applications that log through their own provider and want the embedded store as one of
its exporters. Unlike the tracker's own commit point, spans arrive here when the provider's
processor exports them (a ``BatchSpanProcessor`` may still drop or delay them).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from .._codec import dumps, loads
from .._exceptions import EvalTraceError
from ..schema import (
    ATTR_BATCH_CHUNK_START,
    ATTR_BATCH_ID,
    ATTR_BATCH_ROW,
    ATTR_BATCH_SIZE,
    ATTR_CONTEXT,
    ATTR_DATA,
    ATTR_DATASET,
    ATTR_LINK_SPAN_ID,
    ATTR_LINK_TRACE_ID,
    ATTR_METADATA,
    ATTR_PROJECT,
    ATTR_PROVENANCE,
    ATTR_RESULT,
    ATTR_RUN_ID,
    ATTR_SAMPLE_FINGERPRINT,
    ATTR_SAMPLE_ID,
    ATTR_SEQ,
    is_result,
)
from ..schema._decode import chunk_size
from ..schema._scores import score_list
from ..store._records import BatchRoot, CallRecord, ResultRow
from ..store._writer import StoreWriter

__all__ = ["SQLiteSpanExporter"]

_log = logging.getLogger("evaltrace")


def _text(attributes: Mapping[str, Any], key: str, default: str = "") -> str:
    value = attributes.get(key)
    return value if isinstance(value, str) else default


def _scores_json(result_json: str) -> str:
    """A received result's ``score_list`` as JSON: what the store keeps beside it."""
    return dumps(score_list(loads(result_json)), "result", None)


def _int(attributes: Mapping[str, Any], key: str) -> int | None:
    value = attributes.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _call(attributes: Mapping[str, Any], resource_json: str) -> CallRecord:
    trace_id, span_id = attributes.get(ATTR_LINK_TRACE_ID), attributes.get(ATTR_LINK_SPAN_ID)
    return CallRecord(
        _text(attributes, ATTR_RUN_ID),
        _text(attributes, ATTR_PROJECT),
        _text(attributes, ATTR_DATASET),
        _text(attributes, ATTR_METADATA, "{}"),
        _text(attributes, ATTR_CONTEXT, "{}"),
        (trace_id, span_id) if isinstance(trace_id, str) and isinstance(span_id, str) else None,
        attributes.get(ATTR_BATCH_ID) if isinstance(attributes.get(ATTR_BATCH_ID), str) else None,
        _int(attributes, ATTR_BATCH_SIZE),
        resource_json,
        provenance=_text(attributes, ATTR_PROVENANCE) or None,
    )


class SQLiteSpanExporter(SpanExporter):
    """Writes the evaltrace spans of each export in one transaction per log call; other
    spans are skipped and counted (``spans_skipped``). Failures are counted, never raised."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(Path(path).expanduser())
        self._writer = StoreWriter(self.path)
        self.spans_written = 0
        self.spans_failed = 0
        self.spans_skipped = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Group the result spans by log call and commit each group whole."""
        groups: dict[tuple[Any, ...], tuple[CallRecord, list[ResultRow], list[BatchRoot]]] = {}
        skipped = 0
        for span in spans:
            attributes = dict(span.attributes or {})
            ctx = span.get_span_context()
            if ctx is None:
                skipped += 1
                continue
            resource_json = dumps(dict(span.resource.attributes), "resource", None)
            call = _call(attributes, resource_json)
            key = (
                call.run_id,
                call.batch_id or f"trace:{ctx.trace_id}",
                call.metadata_json,
                call.context_json,
            )
            group = groups.setdefault(key, (call, [], []))
            size = chunk_size(span.name, attributes)
            if size is not None:
                group[2].append(
                    BatchRoot(
                        ctx.trace_id,
                        ctx.span_id,
                        _int(attributes, ATTR_BATCH_CHUNK_START) or 0,
                        size,
                        span.start_time or 0,
                        span.end_time or 0,
                    )
                )
            elif is_result(span.name, attributes):
                group[1].append(
                    ResultRow(
                        ctx.trace_id,
                        ctx.span_id,
                        span.parent.span_id if span.parent else None,
                        span.start_time or 0,
                        span.end_time or 0,
                        _int(attributes, ATTR_SEQ) or 0,
                        _int(attributes, ATTR_BATCH_ROW),
                        _text(attributes, ATTR_SAMPLE_ID),
                        _text(attributes, ATTR_RESULT, "null"),
                        _text(attributes, ATTR_DATA, "null"),
                        None,
                        _scores_json(_text(attributes, ATTR_RESULT, "null")),
                        _text(attributes, ATTR_SAMPLE_FINGERPRINT) or None,
                    )
                )
            else:
                skipped += 1
        self.spans_skipped += skipped
        result = SpanExportResult.SUCCESS
        for call, results, roots in groups.values():
            if not results and not roots:
                continue
            try:
                self._writer.commit(call, results, roots, forward=False)
                self.spans_written += len(results) + len(roots)
            except EvalTraceError as exc:
                self.spans_failed += len(results) + len(roots)
                _log.error("evaltrace: %s", exc)
                result = SpanExportResult.FAILURE
        return result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every export is already committed when it returns."""
        return True

    def shutdown(self) -> None:
        """Close the connection."""
        self._writer.close()
