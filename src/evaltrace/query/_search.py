"""What the remote adapters share: find spans by attribute terms in a time window, then decode."""

from __future__ import annotations

from abc import abstractmethod
from datetime import UTC, datetime, timedelta

from .._types import ResultRecord
from ..schema import ATTR_LINK_SPAN_ID, ATTR_LINK_TRACE_ID, query_terms
from ._base import QueryAdapter, SpanView, check_complete, decode_spans, unique
from ._bulk import gc_paused
from ._filter import HistoryFilter

__all__ = ["SearchQueryAdapter"]


class SearchQueryAdapter(QueryAdapter):
    """A backend searched by attribute equality over ``[start, end]``: Jaeger and Tempo."""

    lookback: timedelta

    @abstractmethod
    def _spans(self, terms: dict[str, str], start: datetime, end: datetime) -> list[SpanView]:
        """Every span of every trace that holds a span matching all ``terms``; complete or raise."""

    def _results(
        self, terms: dict[str, str], since: datetime | None, until: datetime | None, what: str
    ) -> list[ResultRecord]:
        # A whole second, so the default window is exactly ``lookback`` in Tempo's unit too.
        end = until or (datetime.now(UTC) + timedelta(minutes=1)).replace(microsecond=0)
        with gc_paused():
            spans = unique(self._spans(terms, since or end - self.lookback, end))
            # Backends match loosely (as strings, or not at all): match again, exactly, here,
            # and judge completeness on the traces asked for only: a broken trace of another
            # run (or of another service's run) never fails this read.
            wanted = [s for s in spans if all(s.attributes.get(k) == v for k, v in terms.items())]
            traces = {s.trace_id for s in wanted}
            check_complete([s for s in spans if s.trace_id in traces], what)
            return decode_spans(wanted)

    def run_results(self, run_id: str) -> list[ResultRecord]:
        """Every result of the run within ``lookback``."""
        return self._results(query_terms(run_id=run_id), None, None, f"run {run_id!r}")

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
