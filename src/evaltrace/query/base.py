"""The query-adapter interface: how a tracker reads results back from a span backend.

An adapter finds the result spans (by run, or all of a project) and hands them to
``decode_spans``; decoding, ordering and run summaries are shared, so every backend returns the
same shapes and values. An adapter may override ``history`` when its backend can summarise
runs more cheaply (the embedded store caches summaries per run).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._exceptions import IncompleteResultsError
from .._history import HistoryFilter, summarize_runs
from .._schema import batch_id_of, chunk_size, decode_result, is_result, sort_key

__all__ = ["QueryAdapter", "SpanView", "check_complete", "decode_spans"]


@dataclass(slots=True)  # not frozen: readers build one per span, and frozen costs a setattr each
class SpanView:
    """The parts of a stored span that decoding needs, whatever the backend's format."""

    name: str
    trace_id: str
    span_id: str
    start_ns: int
    attributes: Mapping[str, Any]


def decode_spans(spans: Iterable[SpanView]) -> list[dict[str, Any]]:
    """Result dicts of the result spans among ``spans``, in logging order."""
    kept = [s for s in spans if is_result(s.name, s.attributes)]
    kept.sort(key=lambda s: sort_key(s.attributes, s.start_ns))
    return [
        decode_result(s.attributes, trace_id=s.trace_id, span_id=s.span_id, start_ns=s.start_ns)
        for s in kept
    ]


def check_complete(spans: list[SpanView], what: str) -> None:
    """Raise unless every batch trace holds its root and exactly the result spans it announces.

    Backends ingest spans one by one, so a trace can be seen half-stored; never return that.
    """
    announced: dict[str, int] = {}
    found: dict[str, int] = {}
    for span in spans:
        size = chunk_size(span.name, span.attributes)
        if size is not None:
            announced[span.trace_id] = size
        elif batch_id_of(span.attributes) and is_result(span.name, span.attributes):
            found[span.trace_id] = found.get(span.trace_id, 0) + 1
    for trace_id in announced.keys() | found.keys():
        if trace_id not in announced or found.get(trace_id, 0) != announced[trace_id]:
            raise IncompleteResultsError(
                f"{what}: trace {trace_id} holds {found.get(trace_id, 0)} results but its batch "
                f"span announces {announced.get(trace_id, 'an unknown number (root not stored)')}"
            )


class QueryAdapter(ABC):
    """Reads evaltrace results back from one backend."""

    @abstractmethod
    def run_results(self, run_id: str) -> list[dict[str, Any]]:
        """Every result of ``run_id`` in logging order; ``[]`` for an unknown run.

        Raises ``IncompleteResultsError`` rather than return part of a run.
        """

    @abstractmethod
    def project_results(self, filters: HistoryFilter) -> list[dict[str, Any]]:
        """Results of every run that may match ``filters`` (a superset is fine)."""

    def history(self, filters: HistoryFilter) -> list[dict[str, Any]]:
        """Run summaries matching ``filters``, newest first."""
        return filters.apply(summarize_runs(self.project_results(filters)))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""

    def __enter__(self) -> QueryAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
