"""``OpenTelemetryExperimentTracker``: every logged result becomes an OpenTelemetry span."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.trace import Link, format_span_id, format_trace_id

from . import _context, _schema
from ._base import BaseExperimentTracker, EvaluationOutput, MetricInput
from ._config import Settings
from ._exceptions import (
    IncompleteResultsError,
    InvalidInputError,
    InvalidInputTypeError,
    TrackerClosedError,
)
from ._history import HistoryFilter
from ._pipeline import Pipeline
from ._records import dumps
from ._validate import check_batch, check_single, text_arg
from .query.base import QueryAdapter
from .query.sqlite import SQLiteQueryAdapter

__all__ = ["OpenTelemetryExperimentTracker", "TrackerStats"]

_log = logging.getLogger("evaltrace")
_SEQ = itertools.count(1)
_WARNED: set[str] = set()
_ROOT = otel_context.Context()
_INSTANT_NS = 1_000
"""Result spans last 1 µs: Jaeger flags zero-duration spans as 'negative duration'."""


@dataclass
class TrackerStats:
    """What the tracker logged, and everything it had to leave out (never silently)."""

    results_logged: int = 0
    spans_emitted: int = 0
    metric_attributes_omitted: int = 0
    events_omitted: int = 0
    attributes_dropped_by_sdk: int = 0
    flushes_for_backpressure: int = 0
    spans_failed_to_export: int = 0


@dataclass(slots=True)  # not frozen: that costs an object.__setattr__ per field
class _Row:
    encoded: _schema.EncodedResult
    start_ns: int


@dataclass(slots=True)  # not frozen: that costs an object.__setattr__ per field
class _Plan:
    """A validated, encoded log call, ready to become spans; nothing is emitted before this."""

    run_id: str
    dataset_name: str
    rows: list[_Row]
    links: list[Link]
    batch_id: str | None
    metadata_json: str


def _warn_ignored(kwargs: Mapping[str, Any]) -> None:
    unknown = set(kwargs) - _WARNED
    if unknown:
        _WARNED.update(unknown)
        _log.warning("evaltrace: ignoring keyword arguments %s (said once)", sorted(unknown))


class OpenTelemetryExperimentTracker(BaseExperimentTracker):
    """An experiment tracker whose results are OpenTelemetry spans.

    Spans go to the embedded SQLite store (``store=PATH``, ``EVALTRACE_STORE``, default
    ``./.evaltrace/evaltrace.db``; ``store=False`` turns it off) and, given ``otlp_endpoint`` or
    the ``OTEL_EXPORTER_OTLP_*`` variables, over OTLP too. Reads go through ``query`` (default:
    the store). Pass ``tracer_provider`` to use an application's provider: then the tracker adds
    only what is explicitly asked for (``store=``, ``otlp_endpoint=``, ``exporters=``).
    """

    def __init__(
        self,
        project_name: str,
        *,
        store: str | os.PathLike[str] | bool | None = None,
        otlp_endpoint: str | None = None,
        otlp_protocol: str | None = None,
        otlp_headers: Mapping[str, str] | None = None,
        tracer_provider: TracerProvider | None = None,
        exporters: Sequence[SpanExporter] = (),
        query: QueryAdapter | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        text_arg("project_name", project_name)
        super().__init__(project_name, **kwargs)
        if tracer_provider is not None and store is None:
            store = False
        reader_only = (
            query is not None and store is None and otlp_endpoint is None and not exporters
        )
        self._settings = Settings.from_env(
            store=False if reader_only else store,
            otlp_endpoint=otlp_endpoint,
            otlp_protocol=otlp_protocol,
        )
        self._pipeline = Pipeline.build(
            self._settings,
            tracer_provider=tracer_provider,
            exporters=exporters,
            otlp_explicit=otlp_endpoint is not None,
            otlp_headers=otlp_headers,
            resource_attributes=resource_attributes,
        )
        if query is None and self._settings.store:
            query = SQLiteQueryAdapter(self._settings.store)
        self._query = query
        self._runs: dict[str, str] = {}
        self._logged: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._chunk = max(1, min(self._settings.results_per_trace, self._pipeline.flush_every - 1))
        self.stats = TrackerStats()
        self._closed = False

    # -- run ids ---------------------------------------------------------------------------

    def current_run_id(self, dataset_name: str) -> str:
        """The run id used for ``dataset_name`` when ``log`` gets ``run_id=None``.

        Generated once per tracker and dataset, in gllm-evals' form ``{project}_{dataset}_{8 hex}``.
        """
        known = self._runs.get(dataset_name)  # the usual case, read without the lock
        if known is not None:
            return known
        with self._lock:
            run_id = self._runs.get(dataset_name)
            if run_id is None:
                run_id = f"{self.project_name}_{dataset_name}_{uuid.uuid4().hex[:8]}"
                self._runs[dataset_name] = run_id
            return run_id

    # -- planning (validation and encoding: pure, shared by sync and async) -----------------

    def _plan(
        self,
        results: Sequence[Any],
        dataset_name: object,
        data: Sequence[Any],
        run_id: object,
        metadata: object,
        kwargs: Mapping[str, Any],
        batch: bool,
    ) -> _Plan:
        if self._closed:
            raise TrackerClosedError(f"tracker {self.project_name!r} is closed: nothing was logged")
        if type(dataset_name) is not str or not dataset_name:
            text_arg("dataset_name", dataset_name)
        assert isinstance(dataset_name, str)
        if run_id is not None:
            text_arg("run_id", run_id)
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInputTypeError(
                f"metadata: expected a mapping, got {type(metadata).__name__}"
            )
        if kwargs:
            _warn_ignored(kwargs)
        resolved_run = run_id if isinstance(run_id, str) else self.current_run_id(dataset_name)
        context_json, link = _context.snapshot()
        link_ids = (format_trace_id(link.trace_id), format_span_id(link.span_id)) if link else None
        batch_id = uuid.uuid4().hex if batch else None
        metadata_json = dumps(metadata, "metadata", None) if metadata else "{}"
        shared = _schema.call_attributes(
            project_name=self.project_name,
            run_id=resolved_run,
            dataset_name=dataset_name,
            metadata_json=metadata_json,
            context_json=context_json,
            link=link_ids,
            batch_id=batch_id,
        )
        encode, limits = _schema.encode_result, self._pipeline.limits
        if not batch:
            (result,), (row_data,) = results, data
            encoded = encode(
                result, row_data, shared=shared, seq=next(_SEQ), row=None, limits=limits
            )
            rows = [_Row(encoded, time.time_ns())]
        else:
            rows = [
                _Row(
                    encode(result, row_data, shared=shared, seq=next(_SEQ), row=i, limits=limits),
                    time.time_ns(),
                )
                for i, (result, row_data) in enumerate(zip(results, data, strict=True))
            ]
        links = [Link(link)] if link else []
        return _Plan(resolved_run, dataset_name, rows, links, batch_id, metadata_json)

    # -- emitting (spans; yields True when a backpressure flush is due) ----------------------

    def _emit_one(self, plan: _Plan) -> bool:
        """``log``'s one span (its own trace); True when a backpressure flush is due."""
        self._emit_result(plan.rows[0], _ROOT, plan.links)
        self._account(plan, 1)
        return self._pipeline.note_spans(1)

    def _emit(self, plan: _Plan) -> Iterator[bool]:
        """A batch's traces, one chunk at a time; yields True when a flush is due."""
        tracer = self._pipeline.tracer
        total = len(plan.rows)
        assert plan.batch_id is not None
        for start in range(0, total, self._chunk):
            chunk = plan.rows[start : start + self._chunk]
            root = tracer.start_span(
                _schema.BATCH_SPAN,
                context=_ROOT,
                links=plan.links,
                start_time=chunk[0].start_ns,
                attributes=_schema.batch_attributes(
                    project_name=self.project_name,
                    run_id=plan.run_id,
                    dataset_name=plan.dataset_name,
                    batch_id=plan.batch_id,
                    batch_size=total,
                    chunk_start=start,
                    chunk_size=len(chunk),
                    metadata_json=plan.metadata_json,
                ),
            )
            parent = trace.set_span_in_context(root, _ROOT)
            for row in chunk:
                self._emit_result(row, parent, ())
            root.end(end_time=max(time.time_ns(), chunk[-1].start_ns))
            self._account(plan, len(chunk))
            yield self._pipeline.note_spans(len(chunk) + 1)

    def _emit_result(self, row: _Row, parent: otel_context.Context, links: Sequence[Link]) -> None:
        span = self._pipeline.tracer.start_span(
            _schema.RESULT_SPAN,
            context=parent,
            links=links,
            start_time=row.start_ns,
            attributes=row.encoded.attributes,
        )
        for event in row.encoded.events:
            span.add_event(_schema.EVALUATION_EVENT, event, timestamp=row.start_ns)
        span.end(end_time=row.start_ns + _INSTANT_NS)
        dropped = getattr(span, "dropped_attributes", 0)
        stats = self.stats
        if row.encoded.omitted_attributes or row.encoded.omitted_events:
            stats.metric_attributes_omitted += row.encoded.omitted_attributes
            stats.events_omitted += row.encoded.omitted_events
        if dropped:
            stats.attributes_dropped_by_sdk += dropped
            _log.warning("evaltrace: the SDK dropped %d attributes of a result span", dropped)

    def _account(self, plan: _Plan, count: int) -> None:
        with self._lock:
            self._logged[plan.run_id] += count
            self.stats.results_logged += count
            self.stats.spans_emitted += count + (1 if plan.batch_id else 0)

    def _emissions(self, plan: _Plan) -> Iterable[bool]:
        """Emit the plan's spans; one bool per step: whether a backpressure flush is due."""
        return (self._emit_one(plan),) if plan.batch_id is None else self._emit(plan)

    def _run_sync(self, plan: _Plan) -> str:
        for flush_due in self._emissions(plan):
            if flush_due:
                self.stats.flushes_for_backpressure += 1
                self._pipeline.flush()
        return plan.run_id

    async def _run_async(self, plan: _Plan) -> str:
        for flush_due in self._emissions(plan):
            if flush_due:
                self.stats.flushes_for_backpressure += 1
                await asyncio.to_thread(self._pipeline.flush)
        return plan.run_id

    # -- the seed interface ----------------------------------------------------------------

    def log(
        self,
        evaluation_result: EvaluationOutput,
        dataset_name: str,
        data: MetricInput,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> str:
        """Log one result as one span (its own trace); returns the run id."""
        check_single(evaluation_result, data)
        plan = self._plan(
            [evaluation_result], dataset_name, [data], run_id, metadata, kwargs, False
        )
        return self._run_sync(plan)

    async def alog(
        self,
        evaluation_result: EvaluationOutput,
        dataset_name: str,
        data: MetricInput,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> str:
        """``log`` for async code: a due backpressure flush runs off the event loop."""
        check_single(evaluation_result, data)
        plan = self._plan(
            [evaluation_result], dataset_name, [data], run_id, metadata, kwargs, False
        )
        return await self._run_async(plan)

    async def log_batch(
        self,
        evaluation_results: Sequence[EvaluationOutput] | Sequence[Sequence[EvaluationOutput]],
        dataset_name: str,
        data: Sequence[MetricInput],
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> str:
        """Log rows as traces of up to ``results_per_trace`` result spans under a batch span.

        Accepts a flat list (one result per row) or a row-grouped ``list[list[result]]``. The
        whole batch is validated before the first span: a rejected batch stores nothing.
        """
        check_batch(evaluation_results, data)
        plan = self._plan(evaluation_results, dataset_name, data, run_id, metadata, kwargs, True)
        return await self._run_async(plan)

    def log_batch_sync(
        self,
        evaluation_results: Sequence[EvaluationOutput] | Sequence[Sequence[EvaluationOutput]],
        dataset_name: str,
        data: Sequence[MetricInput],
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> str:
        """``log_batch`` for code without an event loop."""
        check_batch(evaluation_results, data)
        plan = self._plan(evaluation_results, dataset_name, data, run_id, metadata, kwargs, True)
        return self._run_sync(plan)

    async def log_context(self, **kwargs: Any) -> None:
        """Set values (and, with ``traceparent``, the app span to link) for what is logged next.

        Stays in force for the rest of the calling task or thread, never in others. For a
        scoped form, use ``with tracker.context(**kwargs):``.
        """
        otel_context.attach(_context.with_values(otel_context.get_current(), kwargs))

    def context(self, **kwargs: Any) -> AbstractContextManager[None]:
        """``log_context`` for one ``with`` block, in sync or async code."""
        return _context.scoped(kwargs)

    # -- reading back ------------------------------------------------------------------------

    def _reader(self) -> QueryAdapter:
        if self._query is None:
            raise InvalidInputError(
                "this tracker has no query adapter: pass query=... (or keep the embedded store)"
            )
        return self._query

    def _until_complete(
        self,
        read: Callable[[], list[dict[str, Any]]],
        complete: Callable[[list[dict[str, Any]]], bool],
        what: str,
    ) -> list[dict[str, Any]]:
        """Re-read until the backend holds all this tracker logged, or raise: never partial."""
        self.flush()
        deadline = time.monotonic() + self._settings.read_timeout
        delay = 0.05
        while True:
            try:
                rows = read()
            except IncompleteResultsError:
                if time.monotonic() >= deadline:
                    raise
            else:
                if complete(rows):
                    return rows
                if time.monotonic() >= deadline:
                    raise IncompleteResultsError(
                        f"{what}: the backend still lacks results this tracker logged after "
                        f"{self._settings.read_timeout:g}s (EVALTRACE_READ_TIMEOUT)"
                    )
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    def get_run_results(self, run_id: str, **kwargs: Any) -> list[dict[str, Any]]:
        """Every result of ``run_id`` in logging order, exactly as logged."""
        text_arg("run_id", run_id)
        reader = self._reader()
        expected = self._logged.get(run_id, 0)
        return self._until_complete(
            lambda: reader.run_results(run_id),
            lambda rows: len(rows) >= expected,
            f"run {run_id!r}",
        )

    def get_experiment_history(self, **kwargs: Any) -> list[dict[str, Any]]:
        """One summary per run, newest first.

        Filters: dataset_name, since, until (ISO 8601 or datetime), metadata, limit, project_name.
        """
        filters = HistoryFilter.from_kwargs(self.project_name, kwargs)
        reader = self._reader()
        logged = dict(self._logged)

        def complete(runs: list[dict[str, Any]]) -> bool:
            return all(run["num_results"] >= logged.get(run["run_id"], 0) for run in runs)

        return self._until_complete(lambda: reader.history(filters), complete, "history")

    # -- lifecycle -----------------------------------------------------------------------------

    def flush(self) -> bool:
        """Export everything logged so far; reads call this first."""
        done = self._pipeline.flush()
        failed = self._pipeline.export_failures()
        if failed > self.stats.spans_failed_to_export:
            _log.error("evaltrace: %d spans could not be exported (see errors above)", failed)
        self.stats.spans_failed_to_export = failed
        return done

    def close(self) -> None:
        """Flush, then release the provider (if the tracker owns it) and the reader; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._pipeline.shutdown()
        self.stats.spans_failed_to_export = self._pipeline.export_failures()
        if self._query is not None:
            self._query.close()

    def __enter__(self) -> OpenTelemetryExperimentTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
