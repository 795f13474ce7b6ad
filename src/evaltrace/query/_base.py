"""The query-adapter interface: how a tracker reads results back from a span backend.

An adapter finds the result spans (by run, or all of a project) and hands them to
``decode_spans``; decoding, ordering and run summaries are shared, so every backend returns the
same shapes and values. Delivery to a backend is at-least-once (a collector re-sends after a
restart, the outbox after an outage), so spans are de-duplicated by (trace id, span id) before
anything is counted; completeness is checked on the traces of the run asked for only.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._exceptions import IncompleteResultsError
from .._types import MetricStats, ResultRecord, ReviewRecord, RunCompleteness, RunSummary
from ..schema import ATTR_BATCH_ID, ATTR_RUN_ID, ATTR_SEQ, RESULT_SPAN, decode_result, is_result
from ..schema._columns import RunScores, from_results
from ..schema._decode import chunk_size, sort_key
from ..schema._fingerprint import SampleFingerprints, fingerprints_by_sample, sample_fingerprint
from ..schema._review import decode_review, ordered
from ._filter import HistoryFilter
from ._history_rows import metrics_of, summarize_runs

__all__ = ["QueryAdapter", "SpanView", "decode_reviews", "decode_spans", "read_results", "unique"]


@dataclass(slots=True)  # not frozen: readers build one per span, and frozen costs a setattr each
class SpanView:
    """The parts of a stored span that decoding needs, whatever the backend's format."""

    name: str
    trace_id: str
    span_id: str
    start_ns: int
    attributes: Mapping[str, Any]
    result: ResultRecord | None = None
    """A result span's result dict when the reader decoded it already (from its record)."""


def unique(spans: Iterable[SpanView]) -> list[SpanView]:
    """Each (trace id, span id) once: a re-sent span is the same span."""
    seen: dict[tuple[str, str], SpanView] = {}
    for span in spans:
        seen.setdefault((span.trace_id, span.span_id), span)
    return list(seen.values())


def decode_spans(spans: Iterable[SpanView]) -> list[ResultRecord]:
    """Result dicts of the result spans among ``spans``, in logging order."""
    kept = [s for s in spans if is_result(s.name, s.attributes)]
    kept.sort(key=lambda s: sort_key(s.attributes, s.start_ns))
    return [
        s.result
        if s.result is not None
        else decode_result(
            s.attributes, trace_id=s.trace_id, span_id=s.span_id, start_ns=s.start_ns
        )
        for s in kept
    ]


def decode_reviews(spans: Iterable[SpanView], run_id: str) -> list[ReviewRecord]:
    """The reviews of ``run_id`` among ``spans`` (each review span once), oldest first.
    Backends match loosely (Jaeger v2.13's HTTP gateway not at all; Tempo returns whole
    traces), so the run is matched again here, exactly."""
    return ordered(
        review
        for s in spans
        if (
            review := decode_review(
                s.name, s.attributes, trace_id=s.trace_id, span_id=s.span_id, start_ns=s.start_ns
            )
        )
        is not None
        and review["run_id"] == run_id
    )


def read_results(
    spans: Iterable[SpanView], terms: Mapping[str, str], what: str
) -> list[ResultRecord]:
    """The result dicts of the result spans among ``spans`` (de-duplicated) whose attributes
    equal every term, in logging order; raises ``IncompleteResultsError`` unless every batch
    trace holding a span that matches (results, roots) holds its root and exactly the result
    spans it announces.

    Backends match loosely (as strings, or not at all), so the terms are matched again here,
    exactly; completeness is judged on the traces asked for only, so a broken trace of another
    run (or of another service's run) never fails this read. Backends ingest spans one by
    one, so a trace can be seen half-stored: never return that. One pass over the spans, the
    attributes read inline: a 20,000-result read spent ~70 ms in the five helper calls a span
    this replaces (``is_result`` twice, ``batch_id_of``, ``chunk_size``, ``sort_key``).
    """
    keys, values = tuple(terms), tuple(terms.values())
    announced: dict[str, int] = {}
    found: dict[str, int] = {}
    traces: set[str] = set()
    kept: list[SpanView] = []
    order: list[tuple[int, int]] = []
    for span in spans:
        attributes = span.attributes
        trace_id = span.trace_id
        matched = tuple(map(attributes.get, keys)) == values
        if span.name == RESULT_SPAN and isinstance(attributes.get(ATTR_RUN_ID), str):
            batch_id = attributes.get(ATTR_BATCH_ID)
            if batch_id and isinstance(batch_id, str):
                found[trace_id] = found.get(trace_id, 0) + 1
            if matched:
                traces.add(trace_id)
                kept.append(span)
                seq = attributes.get(ATTR_SEQ)
                order.append(
                    (span.start_ns, seq)
                    if type(seq) is int
                    else sort_key(attributes, span.start_ns)
                )
            continue
        size = chunk_size(span.name, attributes)
        if size is not None:
            announced[trace_id] = size
        if matched:
            traces.add(trace_id)
    for trace_id in traces & (announced.keys() | found.keys()):
        if trace_id not in announced or found.get(trace_id, 0) != announced[trace_id]:
            raise IncompleteResultsError(
                f"{what}: trace {trace_id} holds {found.get(trace_id, 0)} results but its batch "
                f"span announces {announced.get(trace_id, 'an unknown number (root not stored)')}"
            )
    return [
        span.result
        if span.result is not None
        else decode_result(
            span.attributes, trace_id=span.trace_id, span_id=span.span_id, start_ns=span.start_ns
        )
        for span in map(kept.__getitem__, sorted(range(len(kept)), key=order.__getitem__))
    ]


class QueryAdapter(ABC):
    """Reads evaltrace results back from one backend."""

    keeps_columns: bool = False
    """True when ``run_scores``, ``results_at`` and ``run_stats`` read no whole run (the
    embedded store): a large run's page is then built from them."""

    @abstractmethod
    def run_results(self, run_id: str) -> list[ResultRecord]:
        """Every result of ``run_id`` in logging order; ``[]`` for an unknown run.

        Raises ``IncompleteResultsError`` rather than return part of a run.
        """

    def iter_run_results(self, run_id: str) -> Iterator[ResultRecord]:
        """``run_results`` as a stream; adapters that can page override it."""
        return iter(self.run_results(run_id))

    def run_scores(self, run_id: str, metrics: Sequence[str] | None = None) -> RunScores:
        """The run's numeric scores as columns (one float64 array per metric, row ``i`` the
        run's ``i``-th result, with its sample id), only the metrics matching the ``metrics``
        globs when given: what compare reads. This default builds them from ``run_results``;
        the embedded store keeps them (``SQLiteQueryAdapter``)."""
        return from_results(self.run_results(run_id)).select(metrics)

    def sample_results(
        self, run_id: str, sample_ids: Iterable[str], scores: RunScores | None = None
    ) -> list[ResultRecord]:
        """The run's results of these samples (every trial), in logging order: one sample's
        page without holding the run. This default filters ``run_results``; the embedded
        store finds them through the run's score columns (``scores``: when the caller has
        them already)."""
        wanted = set(sample_ids)
        return [r for r in self.run_results(run_id) if str(r["sample_id"]) in wanted]

    def results_at(
        self, run_id: str, positions: Sequence[int], scores: RunScores | None = None
    ) -> list[ResultRecord]:
        """The run's results at these positions (0 is its first result, in logging order),
        in the order asked: one page of a large run's table. This default indexes
        ``run_results``; the embedded store reads them by rowid (``scores.row_ids``)."""
        results = self.run_results(run_id)
        return [results[i] for i in positions if 0 <= i < len(results)]

    def text_candidates(
        self, run_id: str, text: str, scores: RunScores | None = None
    ) -> list[tuple[int, str, Any]]:
        """(position, sample id, data) of the run's results that may hold ``text`` in their
        sample id or data, case-insensitive: a superset the caller matches exactly (a large
        run's search). This default lists every result; the embedded store lets SQLite
        find the rows holding each word of it."""
        del text, scores
        return [(i, str(r["sample_id"]), r["data"]) for i, r in enumerate(self.run_results(run_id))]

    def run_stats(self, run_id: str) -> dict[str, MetricStats]:
        """Statistics per score of the run (``history``'s ``metrics``); the embedded store
        reads them from its folded aggregates, not from the results."""
        return metrics_of(r["evaluation_result"] for r in self.run_results(run_id))

    def linked_results(self, trace_id: str, span_id: str | None = None) -> list[ResultRecord]:
        """Every result (of any run) linked to the application trace ``trace_id`` (or to its
        span ``span_id``), in logging order: from an app trace to its evaluations."""
        raise NotImplementedError(f"{type(self).__name__} cannot find results by their link")

    def get_reviews(self, run_id: str) -> list[ReviewRecord]:
        """Every review of ``run_id``, oldest first (a sample's latest stands); ``[]`` when
        none. Reviews are records of their own: ``run_results`` never includes them."""
        raise NotImplementedError(f"{type(self).__name__} cannot read reviews")

    def read_run(self, run_id: str) -> tuple[list[ResultRecord], RunCompleteness | None]:
        """The run's results as found, and how complete they are (None where the adapter
        cannot say), in one read and never raising for a short writer: for pages that show
        both (``evaltrace ui``)."""
        return self.run_results(run_id), None

    def run_completeness(self, run_id: str) -> RunCompleteness:
        """How complete ``run_id`` reads: per writer, the results its latest run summary said
        against those found, whether it closed, and the writers the run declared
        (``evaltrace.shards``). Adapters of a backend many writers forward to implement it."""
        raise NotImplementedError(f"{type(self).__name__} cannot say how complete a run is")

    def run_provenance(self, run_id: str) -> dict[str, Any] | None:
        """What the run was run with (``eval.provenance``: ``evaluators`` name -> version,
        ``code_version``), None when unknown (not said, or an adapter that cannot read it)."""
        return None

    def sample_fingerprints(self, run_id: str) -> SampleFingerprints:
        """Each sample's dataset fingerprints (``schema._fingerprint``), computed from the
        run's data rows; the store reads the ones it kept."""
        return fingerprints_by_sample(
            (r["sample_id"], sample_fingerprint(r.get("data")))
            for r in self.iter_run_results(run_id)
        )

    @abstractmethod
    def project_results(self, filters: HistoryFilter) -> list[ResultRecord]:
        """Results of every run that may match ``filters`` (a superset is fine)."""

    def history(self, filters: HistoryFilter) -> list[RunSummary]:
        """Run summaries matching ``filters``, newest first."""
        return filters.apply(summarize_runs(self.project_results(filters)))

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""

    def __enter__(self) -> QueryAdapter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
