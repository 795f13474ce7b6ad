"""``InMemoryQueryAdapter``: reads spans held by OpenTelemetry's ``InMemorySpanExporter``.

For users' own tests: no files, no servers, the same result shapes as every other backend.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

from .._types import ResultRecord, ReviewRecord, RunCompleteness
from ..schema import (
    ATTR_LINK_SPAN_ID,
    ATTR_LINK_TRACE_ID,
    ATTR_PROVENANCE,
    ATTR_RUN_ID,
    ATTR_SUMMARY_KIND,
    ATTR_SUMMARY_RUN_ID,
    SUMMARY_KIND,
    decode_summary,
    query_terms,
)
from ..schema._fingerprint import merge_provenance
from ..schema._review import review_terms
from ._base import QueryAdapter, SpanView, decode_reviews, decode_spans, unique
from ._completeness import completeness, declared_writers, found_per_writer, require_complete
from ._filter import HistoryFilter

__all__ = ["InMemoryQueryAdapter"]


class InMemoryQueryAdapter(QueryAdapter):
    """Decodes the finished spans of an ``InMemorySpanExporter``."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter

    def _views(self, terms: dict[str, str]) -> list[SpanView]:
        views = []
        for span in self.exporter.get_finished_spans():
            attributes = span.attributes or {}
            if all(attributes.get(k) == v for k, v in terms.items()):
                ctx = span.get_span_context()
                if ctx is None:
                    continue
                views.append(
                    SpanView(
                        span.name,
                        format_trace_id(ctx.trace_id),
                        format_span_id(ctx.span_id),
                        span.start_time or 0,
                        attributes,
                    )
                )
        return views

    def run_provenance(self, run_id: str) -> dict[str, Any] | None:
        """From the run's result spans' ``eval.provenance`` attributes, merged."""
        return merge_provenance(
            dict.fromkeys(
                v.attributes.get(ATTR_PROVENANCE) for v in self._views({ATTR_RUN_ID: run_id})
            )
        )

    def run_results(self, run_id: str) -> list[ResultRecord]:
        """Decode the run's spans from memory; a run that declares its writers
        (``evaltrace.shards``) raises ``IncompleteResultsError`` unless they all are there."""
        spans = unique(self._views(query_terms(run_id=run_id)))
        results = decode_spans(spans)
        if declared_writers(results) is not None:
            require_complete(self._completeness(run_id, spans, results))
        return results

    def read_run(self, run_id: str) -> tuple[list[ResultRecord], RunCompleteness | None]:
        """The run's results as held and their completeness, in one pass."""
        spans = unique(self._views(query_terms(run_id=run_id)))
        results = decode_spans(spans)
        return results, self._completeness(run_id, spans, results) if results else None

    def run_completeness(self, run_id: str) -> RunCompleteness:
        """Each writer's latest run summary against its result spans held in memory."""
        spans = unique(self._views(query_terms(run_id=run_id)))
        return self._completeness(run_id, spans, decode_spans(spans))

    def _completeness(
        self, run_id: str, spans: list[SpanView], results: list[ResultRecord]
    ) -> RunCompleteness:
        terms = {ATTR_SUMMARY_KIND: SUMMARY_KIND, ATTR_SUMMARY_RUN_ID: run_id}
        summaries = [
            record
            for span in unique(self._views(terms))
            if (record := decode_summary(span.name, span.attributes)) is not None
        ]
        return completeness(
            run_id,
            found_per_writer(spans, run_id),
            summaries,
            declared_writers(results, summaries),
        )

    def get_reviews(self, run_id: str) -> list[ReviewRecord]:
        """Decode the run's review spans from memory."""
        return decode_reviews(self._views(review_terms(run_id)), run_id)

    def linked_results(self, trace_id: str, span_id: str | None = None) -> list[ResultRecord]:
        """Decode the result spans whose ``eval.link.*`` names the app span."""
        terms = {ATTR_LINK_TRACE_ID: trace_id.lower()}
        if span_id is not None:
            terms[ATTR_LINK_SPAN_ID] = span_id.lower()
        return decode_spans(unique(self._views(terms)))

    def project_results(self, filters: HistoryFilter) -> list[ResultRecord]:
        """Decode every result span of the project."""
        return decode_spans(unique(self._views(query_terms(project_name=filters.project_name))))
