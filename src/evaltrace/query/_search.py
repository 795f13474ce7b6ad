"""What the remote adapters share: find spans by attribute terms in a time window, then decode."""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime, timedelta

from .._types import ResultRecord, ReviewRecord, RunCompleteness, RunSummary
from ..schema import (
    ATTR_LINK_SPAN_ID,
    ATTR_LINK_TRACE_ID,
    ATTR_SUMMARY_KIND,
    ATTR_SUMMARY_RUN_ID,
    SUMMARY_KIND,
    SummaryRecord,
    decode_summary,
    query_terms,
    summary_terms,
)
from ..schema._review import review_terms
from ._base import QueryAdapter, SpanView, decode_reviews, read_results, unique
from ._bulk import gc_paused
from ._completeness import completeness, declared_writers, found_per_writer, require_complete
from ._filter import HistoryFilter
from ._history_rows import merge_summaries

__all__ = ["SearchQueryAdapter"]

_SKEW = timedelta(hours=1)
"""How far before ``since`` summaries are searched: a writer's clock may be behind."""


class SearchQueryAdapter(QueryAdapter):
    """A backend searched by attribute equality over ``[start, end]``: Jaeger and Tempo."""

    lookback: timedelta
    """How far back results are searched (``run_results``, ``linked_results``)."""
    summary_lookback: timedelta
    """How far back run-summary spans are searched (``history`` without ``since``)."""

    @abstractmethod
    def _spans(self, terms: dict[str, str], start: datetime, end: datetime) -> list[SpanView]:
        """Every span of every trace that holds a span matching all ``terms``; complete or raise."""

    @staticmethod
    def _end(until: datetime | None = None) -> datetime:
        # A whole second, so the default window is exactly ``lookback`` in Tempo's unit too.
        return until or (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0)

    def _results(
        self, terms: dict[str, str], since: datetime | None, until: datetime | None, what: str
    ) -> list[ResultRecord]:
        end = self._end(until)
        with gc_paused():
            return read_results(
                unique(self._spans(terms, since or end - self.lookback, end)), terms, what
            )

    def _run(self, run_id: str) -> tuple[list[SpanView], list[ResultRecord]]:
        """The run's spans (each once) within ``lookback``, and its results."""
        terms = query_terms(run_id=run_id)
        end = self._end()
        with gc_paused():
            spans = unique(self._spans(terms, end - self.lookback, end))
            return spans, read_results(spans, terms, f"run {run_id!r}")

    def run_results(self, run_id: str) -> list[ResultRecord]:
        """Every result of the run within ``lookback``; for a run that declares its writers
        (``evaltrace.shards``), ``IncompleteResultsError`` naming each missing or short one
        unless all of them closed and are found exactly as they said."""
        spans, results = self._run(run_id)
        if declared_writers(results) is not None:
            require_complete(self._completeness(run_id, spans, results))
        return results

    def read_run(self, run_id: str) -> tuple[list[ResultRecord], RunCompleteness | None]:
        """The run's results as found and their completeness, in one read of its spans."""
        spans, results = self._run(run_id)
        return results, self._completeness(run_id, spans, results) if results else None

    def get_reviews(self, run_id: str) -> list[ReviewRecord]:
        """The run's review spans within ``lookback``, oldest first."""
        end = self._end()
        return decode_reviews(
            unique(self._spans(review_terms(run_id), end - self.lookback, end)), run_id
        )

    def run_completeness(self, run_id: str) -> RunCompleteness:
        """Each writer's word (its latest run summary) against the result spans found."""
        spans, results = self._run(run_id)
        return self._completeness(run_id, spans, results)

    def _completeness(
        self, run_id: str, spans: list[SpanView], results: list[ResultRecord]
    ) -> RunCompleteness:
        summaries = self.run_summaries(run_id, min((s.start_ns for s in spans), default=None))
        return completeness(
            run_id,
            found_per_writer(spans, run_id),
            summaries,
            declared_writers(results, summaries),
        )

    def run_summaries(self, run_id: str, first_ns: int | None = None) -> list[SummaryRecord]:
        """The run's summary spans: sent after its first result (``first_ns``, less an hour
        for writers' clock skew), else searched over ``summary_lookback``."""
        end = self._end()
        start = (
            datetime.fromtimestamp(first_ns / 1e9, UTC) - _SKEW
            if first_ns
            else end - self.summary_lookback
        )
        terms = {ATTR_SUMMARY_KIND: SUMMARY_KIND, ATTR_SUMMARY_RUN_ID: run_id}
        records = []
        for span in unique(self._spans(terms, start, end)):
            record = decode_summary(span.name, span.attributes)
            if record is not None and record.run_id == run_id:
                records.append(record)
        return records

    def linked_results(self, trace_id: str, span_id: str | None = None) -> list[ResultRecord]:
        """Results whose ``eval.link.*`` names the app trace (and span), within ``lookback``."""
        terms = {ATTR_LINK_TRACE_ID: trace_id.lower()}
        if span_id is not None:
            terms[ATTR_LINK_SPAN_ID] = span_id.lower()
        return self._results(terms, None, None, f"trace {trace_id}")

    def project_results(self, filters: HistoryFilter) -> list[ResultRecord]:
        """Every result of the project (and dataset) in the filter's time window."""
        terms = query_terms(project_name=filters.project_name, dataset_name=filters.dataset_name)
        return self._results(terms, filters.since, filters.until, "history")

    def summaries(self, filters: HistoryFilter) -> list[SummaryRecord]:
        """Every run-summary span of the project (and dataset) that history may need: sent
        since ``filters.since`` (an hour earlier, for writers' clock skew; a run's summaries
        are sent after its first result), else within ``summary_lookback``."""
        end = self._end()
        start = filters.since - _SKEW if filters.since else end - self.summary_lookback
        terms = summary_terms(project_name=filters.project_name, dataset_name=filters.dataset_name)
        records = []
        for span in unique(self._spans(terms, start, end)):
            record = decode_summary(span.name, span.attributes)
            if record is not None and all(span.attributes.get(k) == v for k, v in terms.items()):
                records.append(record)
        return records

    def history(self, filters: HistoryFilter) -> list[RunSummary]:
        """Run summaries from the run-summary spans alone: never a result span, so it costs
        runs, not results, and finds runs older than ``lookback``. Eventually consistent: a
        run's row is what its writers' latest delivered summaries say (docs/schema.md)."""
        return filters.apply(merge_summaries(self.summaries(filters)))
