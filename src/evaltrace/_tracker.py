"""``OpenTelemetryExperimentTracker``: every logged result becomes an OpenTelemetry span,
committed to the local store before the call returns, then forwarded over OTLP.

Longer than 450 lines: the public class's ~20 methods and their docstrings (the API reference)
live here; the decisions are elsewhere (``_wiring``, ``_provider``, ``_plan``, ``_spans``,
``store``, ``delivery``). The read methods are the next to move out (issue 24).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Tracer

from . import _context, _exit
from ._base import BaseExperimentTracker, EvaluationOutput, MetricInput
from ._capture import MODES, Redact
from ._exceptions import (
    ConfigurationError,
    IncompleteResultsError,
    StoreWriteError,
    TrackerClosedError,
)
from ._metrics import quality_metrics
from ._plan import CapturePolicy, plan_call
from ._provenance import Provenance
from ._provider import limits_of, own_provider, resource_json_of, tracer_of
from ._reviewing import as_record, commit_review, refusal_of, refuse
from ._spans import Emitted, FinishedSpanMaker, Rebuilder, emit, review_span
from ._types import ReviewRecord
from ._validate import (
    check_batch,
    check_single,
    metadata_arg,
    text_arg,
    warn_unknown,
)
from ._wiring import resolve
from .delivery._forward import Forwarder
from .delivery._log_records import build_log_exporter
from .delivery._otlp import build_exporter, describe, port_hint
from .delivery._summary_sender import Summaries, to_forwarder, writer_id
from .query import (
    HistoryFilter,
    QueryAdapter,
    ResultRecord,
    RunCompleteness,
    RunSummary,
    SQLiteQueryAdapter,
)
from .schema import SHARDS_KEY
from .store import BatchRoot, ResultRow, StoreWriter, read_only_store

__all__ = ["OpenTelemetryExperimentTracker", "TrackerStats"]

_log = logging.getLogger("evaltrace")


@dataclass
class TrackerStats:
    """What the tracker logged, stored and delivered, and everything it had to leave out
    (never silently): a snapshot, taken when ``tracker.stats`` is read."""

    results_logged: int = 0
    """Results of calls that returned."""
    results_stored: int = 0
    """Of those, committed to the local store (or spool) before the call returned."""
    spans_emitted: int = 0
    spans_exported: int = 0
    """Spans the OTLP collector acknowledged."""
    spans_pending: int = 0
    """Spans committed but not yet acknowledged (in memory or in the outbox)."""
    spans_resent: int = 0
    """Spans delivered from the outbox rather than from memory (after a failure, a restart)."""
    spans_rejected: int = 0
    """Spans the collector accepted the request of but rejected (OTLP ``partial_success``):
    logged with its message, not re-sent (the store keeps their results)."""
    export_attempts_failed: int = 0
    spans_dropped: dict[str, int] = field(default_factory=dict)
    """Spans given up on, by reason (``outbox_full``, ``outbox_expired``, ``queue_full``,
    ``shutdown``; ``too_large``: over ``EVALTRACE_OTLP_MAX_REQUEST_BYTES`` alone or answered
    413 alone; ``bad_request``: answered 400)."""
    metric_attributes_omitted: int = 0
    events_omitted: int = 0
    attributes_dropped_by_sdk: int = 0
    spans_failed_to_export: int = 0
    """Spans an ``exporters=`` exporter refused."""
    spans_sampled_out: int = 0
    """Spans the application's sampler (``tracer_provider=``) did not record: its processors
    never saw them; the store, ``otlp_endpoint`` and ``exporters=`` still got them."""
    log_records_exported: int = 0
    """``gen_ai.evaluation.result`` OTLP log records the collector acknowledged (re-sends
    included; ``EVALTRACE_OTLP_LOGS``)."""
    log_records_rejected: int = 0
    """Log records the collector rejected (OTLP ``partial_success``), not re-sent."""
    log_records_dropped: dict[str, int] = field(default_factory=dict)
    """Log records given up on, by reason (``not_accepted``: the collector has no logs
    pipeline; ``too_large``, ``bad_request`` as for spans)."""


_CONSTRUCTOR = "OpenTelemetryExperimentTracker()"
_EVALUATORS = "evaluators"
"""The key under which a log method hands ``evaluators=`` on to ``_prepare``."""


def _said(kwargs: dict[str, Any], evaluators: Mapping[str, str] | None) -> dict[str, Any]:
    """The call's other keyword arguments, and the evaluators it said (if it did)."""
    return kwargs if evaluators is None else {**kwargs, _EVALUATORS: evaluators}


PART_ROWS = 4096
"""Rows of a ``log_batch`` planned and inserted at a time (rounded to whole traces) when the
batch is larger: its one transaction then holds one part in memory at a time (issue 23)."""


class OpenTelemetryExperimentTracker(BaseExperimentTracker):
    """An experiment tracker whose results are OpenTelemetry spans.

    Every ``log`` / ``alog`` / ``log_batch`` call returns once its results are committed, in
    one transaction, to the embedded SQLite store (``store=PATH``, ``EVALTRACE_STORE``, default
    ``./.evaltrace/evaltrace.db``; ``store=False`` turns it off). Given ``otlp_endpoint`` or the
    ``OTEL_EXPORTER_OTLP_*`` variables, committed spans are forwarded over OTLP and marked
    delivered only when the collector acknowledges them; without a store they wait in a spool
    file (``spool=``, ``EVALTRACE_SPOOL``; ``spool=False``: memory only). Reads go through
    ``query`` (default: the store). Pass ``tracer_provider`` to log through an application's
    provider: the tracker then takes a tracer of its own from it (with evaltrace's id
    generator) and adds only what is explicitly asked for (``store=``, ``otlp_endpoint=``,
    ``exporters=``).
    """

    _summarises = True
    """Whether this tracker sends run summaries (``ReviewWriter``'s does not: it logs no run,
    and a closed summary from it would tell readers the store's writer is done)."""

    def __init__(
        self,
        project_name: str,
        *,
        store: str | os.PathLike[str] | bool | None = None,
        spool: str | os.PathLike[str] | bool | None = None,
        otlp_endpoint: str | None = None,
        otlp_protocol: str | None = None,
        otlp_headers: Mapping[str, str] | None = None,
        tracer_provider: TracerProvider | None = None,
        exporters: Sequence[SpanExporter] = (),
        query: QueryAdapter | None = None,
        resource_attributes: Mapping[str, Any] | None = None,
        capture_content: str | None = None,
        redact: Redact | None = None,
        **kwargs: Any,
    ) -> None:
        text_arg("project_name", project_name)
        warn_unknown(_CONSTRUCTOR, kwargs)
        super().__init__(project_name)
        if capture_content is not None and capture_content not in MODES:
            raise ConfigurationError(
                f"capture_content={capture_content!r}: expected one of {MODES}"
            )
        if redact is not None and not callable(redact):
            raise ConfigurationError("redact: expected a callable redact(field, value) -> value")
        wiring = resolve(
            project_name,
            store=store,
            spool=spool,
            otlp_endpoint=otlp_endpoint,
            otlp_protocol=otlp_protocol,
            capture_content=capture_content,
            has_provider=tracer_provider is not None,
            has_exporters=bool(exporters),
            has_query=query is not None,
        )
        if wiring.refusal and not wiring.reader_only:
            raise ConfigurationError(wiring.refusal)
        self._settings = settings = wiring.settings
        forward = wiring.forward
        self.exit_timeout = settings.exit_timeout
        self._content = CapturePolicy(settings.capture_content, redact)
        self._owns_provider = wiring.owns_provider
        if tracer_provider is None:
            tracer_provider = own_provider(settings, resource_attributes)
        self._provider = tracer_provider
        self._tracer = tracer_of(tracer_provider)
        # Through an application's provider its processors must see each span; ours has none.
        self._maker: Tracer | FinishedSpanMaker = (
            FinishedSpanMaker(tracer_provider.resource) if self._owns_provider else self._tracer
        )
        self._limits = limits_of(tracer_provider, settings)
        self._resource_json = resource_json_of(tracer_provider)
        self._chunk = max(1, settings.results_per_trace)
        self._writer: StoreWriter | None = None
        self._unwritable: StoreWriteError | None = None
        """Why the store cannot be written (a read-only one): history reads, log() raises."""
        if wiring.store:
            try:
                self._writer = StoreWriter(wiring.store, destination=wiring.destination)
            except StoreWriteError as exc:
                self._unwritable = read_only_store(wiring.store, exc)
        elif wiring.spool:
            self._writer = StoreWriter(
                wiring.spool, keep_delivered=False, destination=wiring.destination
            )
        # Who this tracker writes as: result spans and run summaries say it, so a reader of a
        # run written by many processes counts, per writer, what it said against what it found.
        self._writer_id = writer_id(self._writer)
        self._provenance = Provenance()
        self._forwarder: Forwarder | None = None
        if forward:
            hint = port_hint(settings.otlp_endpoint, settings.otlp_protocol)
            if hint:
                _log.warning(
                    "evaltrace: otlp_endpoint %s with protocol %s: %s",
                    describe(settings.otlp_endpoint, settings.otlp_protocol),
                    settings.otlp_protocol,
                    hint,
                )
            writer = self._writer
            if writer is not None and (elsewhere := writer.outbox.pending_elsewhere()):
                _log.warning(
                    "evaltrace: the outbox of %s holds %d spans for another collector; this "
                    "tracker sends only its own. `evaltrace sync --store %s --endpoint URL` "
                    "sends them",
                    writer.path,
                    elsewhere,
                    writer.path,
                )
            self._forwarder = Forwarder(
                build_exporter(otlp_endpoint or None, settings.otlp_protocol, otlp_headers),
                destination=describe(settings.otlp_endpoint, settings.otlp_protocol),
                hint=hint,
                outbox=self._writer.outbox if self._writer is not None else None,
                rebuild=Rebuilder(
                    self._limits,
                    self._writer_id
                    if self._writer is not None and self._writer.keep_delivered
                    else None,
                ),
                memory_spans=settings.queue_size,
                max_spans=settings.outbox_max_spans,
                max_age_s=settings.outbox_max_age,
                max_request_bytes=settings.max_request_bytes,
                log_exporter=build_log_exporter(
                    otlp_endpoint or None, settings.otlp_protocol, otlp_headers
                )
                if settings.logs
                else None,
            )
        self._metrics = quality_metrics(  # beside the spans (docs/metrics.md)
            wiring.metrics,
            tracer_provider.resource,
            otlp_endpoint,
            settings,
            otlp_headers,
        )
        self._exporters = [(exporter, threading.Lock()) for exporter in exporters]
        self._keeps_nothing = wiring.refusal
        if query is None and wiring.query_store:
            query = SQLiteQueryAdapter(wiring.query_store)
        self._query = query
        self._runs: dict[str, str] = {}
        self._logged: Counter[str] = Counter()
        self._datasets: dict[str, str] = {}
        self._lock = threading.Lock()
        self._counts = TrackerStats()
        """The tracker's own counts (the forwarder keeps the delivery ones)."""
        self._closed = False
        self._pending_at_close = 0
        self._summaries: Summaries | None = None
        if wiring.summaries and self._summarises:
            # History on a remote backend reads these, never the results (docs/schema.md).
            self._summaries = Summaries(
                store=self._writer,
                resource_json=self._resource_json,
                every=settings.summary_every,
                ship=self._ship,
                writer=self._writer_id,
            )
            if wiring.recover_summaries:
                self._summaries.recover()  # what a tracker that died left unsent
        _exit.register(self)

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

    # -- one call: plan and emit (pure), then commit: on the caller's thread, or both in a
    # worker thread for alog / log_batch ------------------------------------------------

    def _plan_args(
        self,
        dataset_name: object,
        run_id: object,
        metadata: object,
        kwargs: Mapping[str, Any],
        batch: bool,
        method: str,
    ) -> dict[str, Any]:
        """What every part of one call is planned with (its arguments checked)."""
        if self._closed:
            raise TrackerClosedError(f"tracker {self.project_name!r} is closed: nothing was logged")
        if type(dataset_name) is not str or not dataset_name or not dataset_name.isascii():
            text_arg("dataset_name", dataset_name)
        if run_id is not None:
            text_arg("run_id", run_id)
        metadata_arg(metadata, SHARDS_KEY)
        evaluators = kwargs.get(_EVALUATORS)
        if evaluators is not None:
            kwargs = {k: v for k, v in kwargs.items() if k != _EVALUATORS}
        if kwargs:
            warn_unknown(method, kwargs)
        name: str = dataset_name  # type: ignore[assignment]
        context_json, link = _context.snapshot()
        return {
            "project_name": self.project_name,
            "run_id": run_id if isinstance(run_id, str) else self.current_run_id(name),
            "dataset_name": name,
            "metadata": metadata,
            "context_json": context_json,
            "link": link,
            "batch_id": uuid.uuid4().hex if batch else None,
            "limits": self._limits,
            "content": self._content,
            "writer": self._writer_id,
            "provenance_json": self._provenance.json(evaluators),
        }

    def _prepare(
        self,
        results: Sequence[Any],
        dataset_name: object,
        data: Sequence[Any],
        run_id: object,
        metadata: object,
        kwargs: Mapping[str, Any],
        batch: bool,
        method: str,
    ) -> Emitted:
        args = self._plan_args(dataset_name, run_id, metadata, kwargs, batch, method)
        plan = plan_call(results=results, data=data, **args)
        return emit(self._maker, plan, chunk=self._chunk, resource_json=self._resource_json)

    def _in_parts(self, results: Sequence[Any]) -> bool:
        """Whether a batch is planned and stored ``PART_ROWS`` rows at a time: a large one,
        into a store, when no span leaves before the commit (no ``exporters=``, no
        application's processors, the forwarder reading them back from the outbox)."""
        return (
            len(results) > PART_ROWS
            and self._writer is not None
            and self._unwritable is None
            and not self._keeps_nothing
            and not self._exporters
            and type(self._maker) is FinishedSpanMaker
        )

    def _log_in_parts(
        self,
        results: Sequence[Any],
        dataset_name: object,
        data: Sequence[Any],
        run_id: object,
        metadata: object,
        kwargs: Mapping[str, Any],
        method: str,
    ) -> str:
        """A large batch planned, made into spans and inserted ``PART_ROWS`` rows (whole
        traces) at a time inside its one transaction: stored whole or not at all (a bad row
        of a later part rolls back the earlier ones, no span having left), with one part in
        memory at a time: peak RSS growth 0.39x the batch's JSON instead of 4.84x
        (``memory.log_batch_whole``)."""
        writer = self._writer
        assert writer is not None  # _in_parts
        args = self._plan_args(dataset_name, run_id, metadata, kwargs, True, method)
        total = len(results)
        step = max(self._chunk, PART_ROWS // self._chunk * self._chunk)
        keep = self._summaries is not None or self._metrics is not None
        kept: list[ResultRow] = []
        tally: list[Emitted] = []
        spans = 0

        def part(start: int) -> Emitted:
            nonlocal spans
            plan = plan_call(
                results=results[start : start + step],
                data=data[start : start + step],
                offset=start,
                batch_size=total,
                **args,
            )
            emitted = emit(self._maker, plan, chunk=self._chunk, resource_json=self._resource_json)
            spans += sum(len(trace) for trace in emitted.traces.values())
            emitted.traces.clear()  # sent from the outbox once committed
            tally.append(
                Emitted(
                    emitted.call,
                    omitted_attributes=emitted.omitted_attributes,
                    omitted_events=emitted.omitted_events,
                    dropped_by_sdk=emitted.dropped_by_sdk,
                )
            )
            return emitted

        def parts(first: Emitted) -> Iterator[tuple[list[ResultRow], list[BatchRoot]]]:
            emitted: Emitted | None = first
            start = 0
            while emitted is not None:
                yield emitted.results, emitted.roots
                if keep:  # the scores and times are what summaries and metrics read
                    for row in emitted.results:
                        row.result_json = row.data_json = ""
                    kept.extend(emitted.results)
                start += step
                emitted = part(start) if start < total else None

        first = part(0)
        call = first.call
        writer.commit_parts(call, parts(first), forward=self._forwarder is not None, leased=False)
        if self._forwarder is not None:
            self._forwarder.wake_outbox()
        whole = Emitted(
            call,
            results=kept,
            omitted_attributes=sum(t.omitted_attributes for t in tally),
            omitted_events=sum(t.omitted_events for t in tally),
            dropped_by_sdk=sum(t.dropped_by_sdk for t in tally),
        )
        return self._committed(whole, spans, total, logged=total)

    def _commit(self, emitted: Emitted) -> str:
        """The commit point, then the hand-off to the forwarder and exporters."""
        if self._unwritable is not None:
            raise self._unwritable
        if self._keeps_nothing:
            raise ConfigurationError(self._keeps_nothing)
        call = emitted.call
        spans = sum(len(trace) for trace in emitted.traces.values())
        forwarder = self._forwarder
        stored = 0
        if self._writer is not None:
            leased = forwarder.room_for(spans) if forwarder else False
            outbox_ids = self._writer.commit(
                call,
                emitted.results,
                emitted.roots,
                forward=forwarder is not None,
                leased=leased,
            )
            stored = len(emitted.results)
            if forwarder is not None:
                if leased:
                    forwarder.submit(emitted.traces, outbox_ids)
                else:
                    forwarder.wake_outbox()
        elif forwarder is not None:
            forwarder.submit(emitted.traces, {})
        if self._exporters:
            self._export([s for trace in emitted.traces.values() for s in trace])
        return self._committed(emitted, spans, stored)

    def _committed(
        self, emitted: Emitted, spans: int, stored: int, logged: int | None = None
    ) -> str:
        """After the commit: run summaries, metrics, the counts and their warnings
        (``logged``: the results of the call when ``emitted.results`` does not hold them)."""
        call = emitted.call
        if logged is None:
            logged = len(emitted.results)
        if self._summaries is not None:
            self._summaries.committed(call, emitted.results)
        if self._metrics is not None:
            self._metrics.committed(call, emitted.results)
        with self._lock:
            self._logged[call.run_id] += logged
            self._datasets[call.run_id] = call.dataset_name
            counts = self._counts
            counts.results_logged += logged
            counts.results_stored += stored
            counts.spans_emitted += spans
            counts.metric_attributes_omitted += emitted.omitted_attributes
            counts.events_omitted += emitted.omitted_events
            counts.attributes_dropped_by_sdk += emitted.dropped_by_sdk
            first_sampled_out = emitted.sampled_out and not counts.spans_sampled_out
            counts.spans_sampled_out += emitted.sampled_out
        if first_sampled_out:
            self._sampled_out_warning(emitted.sampled_out)
        if emitted.dropped_by_sdk:
            _log.warning(
                "evaltrace: the SDK's span limits dropped %d attributes of result spans",
                emitted.dropped_by_sdk,
            )
        return call.run_id

    def _sampled_out_warning(self, spans: int) -> None:
        """Once a tracker: the application's sampler kept result spans from its processors."""
        own = [
            name
            for name, there in (
                ("the store", self._writer is not None and self._settings.store),
                ("otlp_endpoint", self._forwarder is not None),
                ("exporters=", bool(self._exporters)),
            )
            if there
        ]
        sampler = getattr(self._provider, "sampler", None)
        described = sampler.get_description() if sampler is not None else "unknown"
        if own:
            _log.warning(
                "evaltrace: the application's sampler (%s) did not record %d spans of a "
                "call: its span processors never see them; %s still got them "
                "(TrackerStats.spans_sampled_out counts them all)",
                described,
                spans,
                ", ".join(own),
            )
        else:
            _log.error(
                "evaltrace: the application's sampler (%s) did not record %d spans of a call "
                "and this tracker has no store, otlp_endpoint or exporters= of its own: those "
                "results reach no backend (TrackerStats.spans_sampled_out counts them all). "
                "Sample evaltrace's spans always, or pass store= or otlp_endpoint=",
                described,
                spans,
            )

    def _ship(self, spans: list[ReadableSpan]) -> None:
        """Run-summary spans, each its own trace: to the forwarder (from memory: a store
        derives them again if they are lost) and the exporters."""
        if self._forwarder is not None:
            to_forwarder(self._forwarder)(spans)
        if self._exporters:
            self._export(spans)

    def _export(self, spans: list[ReadableSpan]) -> None:
        """``exporters=`` get each call's spans once it is committed, on the calling thread."""
        for exporter, lock in self._exporters:
            with lock:
                try:
                    ok = exporter.export(spans) is SpanExportResult.SUCCESS
                except Exception:
                    _log.exception("evaltrace: exporter %r raised", exporter)
                    ok = False
            if not ok:
                with self._lock:
                    first = not self._counts.spans_failed_to_export
                    self._counts.spans_failed_to_export += len(spans)
                if first:
                    _log.error("evaltrace: exporter %r refused %d spans", exporter, len(spans))

    # -- the seed interface ----------------------------------------------------------------

    def log(
        self,
        evaluation_result: EvaluationOutput,
        dataset_name: str,
        data: MetricInput,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        evaluators: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> str:
        """Log one result as one span (its own trace); returns the run id once it is stored.

        ``evaluators``: the name and version of each evaluator that scored it, e.g.
        ``{"faithfulness": "1.3"}``, kept as the run's provenance (``eval.provenance``, with
        the git commit of the working directory): ``compare`` names a version change.
        """
        check_single(evaluation_result, data)
        emitted = self._prepare(
            [evaluation_result],
            dataset_name,
            [data],
            run_id,
            metadata,
            _said(kwargs, evaluators),
            False,
            "log()",
        )
        return self._commit(emitted)

    async def alog(
        self,
        evaluation_result: EvaluationOutput,
        dataset_name: str,
        data: MetricInput,
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        evaluators: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> str:
        """``log`` for async code: encoding and the commit run off the event loop."""
        check_single(evaluation_result, data)
        return await self._off_loop(
            None,
            [evaluation_result],
            dataset_name,
            [data],
            run_id,
            metadata,
            _said(kwargs, evaluators),
            "alog()",
        )

    async def log_batch(
        self,
        evaluation_results: Sequence[EvaluationOutput] | Sequence[Sequence[EvaluationOutput]],
        dataset_name: str,
        data: Sequence[MetricInput],
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        evaluators: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> str:
        """Log rows as traces of up to ``results_per_trace`` result spans under a batch span.

        Accepts a flat list (one result per row) or a row-grouped ``list[list[result]]``. The
        whole batch is validated before the first span and committed in one transaction: it is
        stored whole or not at all. Encoding and the commit run in a worker thread, so the event
        loop is never blocked (leave the rows unchanged until the call returns).
        """
        return await self._off_loop(
            check_batch,
            evaluation_results,
            dataset_name,
            data,
            run_id,
            metadata,
            _said(kwargs, evaluators),
            "log_batch()",
        )

    async def _off_loop(
        self,
        check_batch: Callable[[object, object], None] | None,
        results: Any,
        dataset_name: object,
        data: Any,
        run_id: object,
        metadata: object,
        kwargs: Mapping[str, Any],
        method: str,
    ) -> str:
        """The batch check, ``_prepare`` and ``_commit`` in one worker thread (``to_thread``
        copies the task's context, so ``log_context`` and the active span are the caller's):
        a 20k-row batch encoded on the loop stalled it 0.47 s (issue 23)."""
        batch = check_batch is not None

        def prepare_and_commit() -> str:
            if check_batch is not None:
                check_batch(results, data)
                if self._in_parts(results):
                    return self._log_in_parts(
                        results, dataset_name, data, run_id, metadata, kwargs, method
                    )
            return self._commit(
                self._prepare(results, dataset_name, data, run_id, metadata, kwargs, batch, method)
            )

        return await asyncio.to_thread(prepare_and_commit)

    def log_batch_sync(
        self,
        evaluation_results: Sequence[EvaluationOutput] | Sequence[Sequence[EvaluationOutput]],
        dataset_name: str,
        data: Sequence[MetricInput],
        run_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        *,
        evaluators: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> str:
        """``log_batch`` for code without an event loop (scripts, notebooks)."""
        check_batch(evaluation_results, data)
        if self._in_parts(evaluation_results):
            return self._log_in_parts(
                evaluation_results,
                dataset_name,
                data,
                run_id,
                metadata,
                kwargs,
                "log_batch_sync()",
            )
        emitted = self._prepare(
            evaluation_results,
            dataset_name,
            data,
            run_id,
            metadata,
            _said(kwargs, evaluators),
            True,
            "log_batch_sync()",
        )
        return self._commit(emitted)

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
            raise ConfigurationError(
                "this tracker has no query adapter: pass query=... (or keep the embedded store)"
            )
        return self._query

    def _until_complete(
        self,
        read: Callable[[], list[Any]],
        complete: Callable[[list[Any]], bool],
        what: str,
    ) -> list[Any]:
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
        warn_unknown("get_run_results()", kwargs)
        reader = self._reader()
        expected = self._logged.get(run_id, 0)
        rows: list[ResultRecord] = self._until_complete(
            lambda: reader.run_results(run_id),
            lambda rows: len(rows) >= expected,
            f"run {run_id!r}",
        )
        return rows  # type: ignore[return-value]

    def get_run_completeness(self, run_id: str) -> RunCompleteness:
        """How complete ``run_id`` reads on this tracker's backend, without waiting: per
        writer (process or store), the results its latest run summary said against those
        found, and whether it closed; ``complete`` when every writer closed and is found
        exactly (and, if the run declares ``evaltrace.shards``, that many reported).
        ``get_run_results`` of a run that declares its writers waits for exactly that."""
        text_arg("run_id", run_id)
        if self._logged.get(run_id):
            self.flush()
        return self._reader().run_completeness(run_id)

    @property
    def writer_id(self) -> str:
        """Who this tracker writes as (``store:<id>`` for every tracker on one store, else
        ``process:<id>``): the name a run's completeness report gives its results."""
        return self._writer_id

    def iter_run_results(self, run_id: str) -> Iterator[ResultRecord]:
        """``get_run_results`` as a stream: results in logging order, bounded memory."""
        text_arg("run_id", run_id)
        if self._logged.get(run_id):
            self.flush()
        return self._reader().iter_run_results(run_id)

    def results_dataframe(self, run_id: str) -> Any:
        """``iter_run_results`` as a pandas DataFrame: ids, time, one column per score, data and
        metadata (needs ``evaltrace[pandas]``)."""
        from ._frames import results_frame

        return results_frame(self.iter_run_results(run_id))

    def history_dataframe(self, **kwargs: Any) -> Any:
        """``get_experiment_history(**kwargs)`` as a pandas DataFrame, one row per run, one
        ``<metric>.<stat>`` column per statistic (needs ``evaltrace[pandas]``)."""
        from ._frames import history_frame

        return history_frame(self.get_experiment_history(**kwargs))  # type: ignore[arg-type]

    def get_linked_results(self, trace_id: str, span_id: str | None = None) -> list[ResultRecord]:
        """Every evaluation (of any run) linked to the application trace ``trace_id`` (hex), or
        to its span ``span_id``: from a request's trace to how it was judged."""
        text_arg("trace_id", trace_id)
        text_arg("span_id", span_id, optional=True)
        self.flush()
        return self._reader().linked_results(trace_id, span_id)

    # -- human review (``_reviewing``) --------------------------------------------------------

    @property
    def review_refusal(self) -> str | None:
        """Why this tracker takes no review (a read-only store, no store), else None."""
        return refusal_of(self._writer, self._unwritable)

    def review(
        self,
        run_id: str,
        sample_id: str,
        verdict: str,
        note: str | None = None,
        *,
        reviewer: str | None = None,
        result: Mapping[str, Any] | None = None,
    ) -> ReviewRecord:
        """Record a person's verdict (``pass``/``fail``) on a sample of a run, with a note:
        committed to the store (the sample's latest review stands, the earlier ones stay as
        its history) and sent as a review span, a child of the result's span. ``result``: the
        result dict of a run the store does not hold (read from Jaeger). Never changes the
        result, its scores or the gate."""
        if self._closed:
            raise TrackerClosedError("the tracker is closed: the review was not recorded")
        refusal = self.review_refusal
        if refusal is not None or self._writer is None:
            raise refuse(refusal or "no store")
        row = commit_review(
            self._writer,
            run_id=run_id,
            sample_id=sample_id,
            verdict=verdict,
            note=note,
            reviewer=reviewer,
            result=result,
            content=self._content,
            resource_json=self._resource_json,
            forward=self._forwarder is not None,
        )
        if self._forwarder is not None:
            self._forwarder.wake_outbox()  # sent from the outbox, as any stored trace
        if self._exporters:
            self._export([review_span(row)])
        return as_record(row)

    def get_reviews(self, run_id: str) -> list[ReviewRecord]:
        """Every review of ``run_id`` on this tracker's backend, oldest first (the latest of a
        sample stands); ``[]`` when it has none. ``get_run_results`` is unchanged by them."""
        text_arg("run_id", run_id)
        return self._reader().get_reviews(run_id)

    def get_experiment_history(self, **kwargs: Any) -> list[dict[str, Any]]:
        """One summary per run, newest first.

        Filters: dataset_name, since, until (ISO 8601 or datetime), metadata, limit, project_name.
        """
        filters = HistoryFilter.from_kwargs(self.project_name, kwargs)
        reader = self._reader()
        with self._lock:
            logged = dict(self._logged)
            datasets = dict(self._datasets)
        # A run this tracker logged must be there (a summary not yet ingested looks like no
        # run at all) when no filter but project and dataset could leave it out.
        plain = not (filters.since or filters.until or filters.metadata or filters.limit)
        present = (
            {run_id for run_id in logged if filters.dataset_name in (None, datasets.get(run_id))}
            if plain and filters.project_name == self.project_name
            else set()
        )

        def complete(runs: list[RunSummary]) -> bool:
            found = {run["run_id"] for run in runs}
            return present <= found and all(
                run["num_results"] >= logged.get(run["run_id"], 0) for run in runs
            )

        rows: list[RunSummary] = self._until_complete(
            lambda: reader.history(filters), complete, "history"
        )
        return rows  # type: ignore[return-value]

    # -- delivery, statistics, lifecycle -----------------------------------------------------

    @property
    def stats(self) -> TrackerStats:
        """Counts of what was logged, stored, delivered, dropped and left out."""
        with self._lock:
            out = dataclasses.replace(self._counts, spans_dropped={}, log_records_dropped={})
        forwarder = self._forwarder
        if forwarder is not None:
            out.spans_exported = forwarder.stats.exported
            out.spans_resent = forwarder.stats.resent
            out.export_attempts_failed = forwarder.stats.failed_attempts
            out.spans_rejected = forwarder.stats.rejected
            out.spans_dropped = dict(+forwarder.stats.dropped)
            out.log_records_exported = forwarder.stats.log_records_exported
            out.log_records_rejected = forwarder.stats.log_records_rejected
            out.log_records_dropped = dict(+forwarder.stats.log_records_dropped)
            out.spans_pending = self._pending_at_close if self._closed else forwarder.pending()
        return out

    def flush(self, timeout: float | None = None) -> bool:
        """Send the summaries of runs logged since their last one, then wait until the
        collector acknowledged everything committed (True), or ``timeout`` (default
        ``EVALTRACE_READ_TIMEOUT``) passes (False: it stays pending, not lost)."""
        if self._closed:
            return True
        if self._summaries is not None:
            self._summaries.send()
        if self._metrics is not None:
            self._metrics.flush(self._settings.read_timeout if timeout is None else timeout)
        if self._forwarder is None:
            return True
        return self._drain(self._settings.read_timeout if timeout is None else timeout)

    def _drain(self, timeout: float) -> bool:
        """Wait for the forwarder; once it is empty, the summaries shipped before are
        delivered: the store records it (else they are derived and sent again later)."""
        assert self._forwarder is not None
        shipped = self._summaries.unacked() if self._summaries is not None else {}
        drained = self._forwarder.drain(timeout)
        if drained and shipped and self._summaries is not None:
            self._summaries.delivered(shipped)
        return drained

    def close(self, timeout: float | None = None) -> None:
        """Send the runs' last summaries, deliver what is pending within ``timeout`` (default
        ``EVALTRACE_EXIT_TIMEOUT``), then release everything; idempotent. Undelivered spans
        stay in the outbox for next time (summaries: derived again from the store)."""
        if self._closed:
            return
        self._closed = True
        _exit.unregister(self)
        if self._summaries is not None:
            self._summaries.send(closed=True)  # the writer is done: readers may trust its count
        if self._forwarder is not None:
            deadline = time.monotonic() + (self.exit_timeout if timeout is None else timeout)
            self._drain(max(0.0, deadline - time.monotonic()))
            self._forwarder.close(max(0.0, deadline - time.monotonic()))
            self._pending_at_close = self._forwarder.pending()  # before the store closes
            if self._metrics is not None:
                self._metrics.close(max(0.0, deadline - time.monotonic()))
        for exporter, lock in self._exporters:
            with lock:
                exporter.shutdown()
        if self._query is not None:
            self._query.close()
        if self._writer is not None:  # last: the last connection checkpoints and drops the WAL
            self._writer.close()
        if self._owns_provider:
            self._provider.shutdown()

    def flush_for_signal(self, deadline: float) -> None:
        """On SIGTERM: wait (until ``deadline``) for the collector, taking no lock."""
        if self._forwarder is not None and not self._closed:
            self._forwarder.drain(max(0.0, deadline - time.monotonic()))

    def close_for_exit(self, deadline: float) -> None:
        """``close`` at interpreter exit or on SIGTERM, by ``deadline`` (``time.monotonic``)."""
        self.close(timeout=max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> OpenTelemetryExperimentTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
