"""Plans become OpenTelemetry spans; stored traces become spans again for the outbox.

Live spans are made by the SDK tracer (ids from ``OsRandomIdGenerator``, the instrumentation
scope ``evaltrace``); a trace re-read from the store is rebuilt as ``ReadableSpan``s with the
same ids, times, attributes, events and links, so a re-send is indistinguishable from the
first send (which is what lets readers de-duplicate).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, TraceFlags, format_span_id, format_trace_id

from . import _capture
from ._codec import loads
from ._ids import OsRandomIdGenerator
from ._plan import CapturePolicy, Plan, PlannedRow, encode_row
from .schema import (
    ATTR_CAPTURE,
    ATTR_DATA,
    ATTR_RESULT,
    ATTR_SAMPLE_FINGERPRINT,
    BATCH_SPAN,
    EVALUATION_EVENT,
    RESULT_SPAN,
    REVIEW_SPAN,
    SCOPE_NAME,
    SUMMARY_SPAN,
    SummaryRecord,
)
from .schema._encode import batch_attributes, call_attributes
from .schema._review import review_attributes
from .schema._summary_span import summary_attributes
from .schema._walk import Limits
from .store import BatchRoot, CallRecord, ResultRow, ReviewRow, StoredTrace

__all__ = [
    "Emitted",
    "FinishedSpanMaker",
    "Rebuilder",
    "emit",
    "resource_of",
    "review_span",
    "summary_span",
]

INSTANT_NS = 1_000
"""Result spans last 1 µs: Jaeger flags zero-duration spans as 'negative duration'."""
_ROOT = otel_context.Context()
_SCOPE = InstrumentationScope(SCOPE_NAME)
_IDS = OsRandomIdGenerator()
_ALL = CapturePolicy(_capture.ALL)
_LOCAL = CapturePolicy(_capture.LOCAL)


@dataclass(slots=True)
class Emitted:
    """One call's spans (by trace, in order) and the rows that commit them."""

    call: CallRecord
    results: list[ResultRow] = field(default_factory=list)
    roots: list[BatchRoot] = field(default_factory=list)
    traces: dict[int, list[ReadableSpan]] = field(default_factory=dict)
    omitted_attributes: int = 0
    omitted_events: int = 0
    dropped_by_sdk: int = 0
    sampled_out: int = 0
    """Spans an application's sampler did not record: its processors never see them, so
    evaltrace's own destinations get a copy built here instead of a ``NonRecordingSpan``."""


class FinishedSpanMaker:
    """Spans of a provider the tracker owns: no span processor is registered on it, so each
    span is a finished ``ReadableSpan`` straight away, with ids from ``OsRandomIdGenerator``.
    The SDK's ``Span`` would re-check and copy every attribute the schema has already typed
    and bounded (``Limits``): about a quarter of a ``log()`` call, measured."""

    __slots__ = ("ids", "resource")

    def __init__(self, resource: Resource) -> None:
        self.resource = resource
        self.ids = OsRandomIdGenerator()


def _result_span(
    maker: trace.Tracer | FinishedSpanMaker,
    plan: Plan,
    index: int,
    parent: SpanContext | None,
    out: Emitted,
) -> None:
    """One result span, linked (every one, not only a batch's root) to its row's app span."""
    row = plan.rows[index]
    links = [Link(row.link)] if row.link else []
    end_ns = row.start_ns + INSTANT_NS
    span: ReadableSpan
    if type(maker) is FinishedSpanMaker:
        ids = maker.ids
        ctx = _context(
            parent.trace_id if parent is not None else ids.generate_trace_id(),
            ids.generate_span_id(),
        )
        span = _readable(ctx, parent, maker.resource, row, links, end_ns)
    else:
        live = maker.start_span(  # type: ignore[union-attr]
            RESULT_SPAN,
            context=_ROOT
            if parent is None
            else trace.set_span_in_context(trace.NonRecordingSpan(parent), _ROOT),
            links=links,
            start_time=row.start_ns,
            attributes=row.encoded.attributes,
        )
        ctx = live.get_span_context()
        if live.is_recording():  # (until it ends)
            for event in row.encoded.events:
                live.add_event(EVALUATION_EVENT, event, timestamp=row.start_ns)
            live.end(end_time=end_ns)
            out.dropped_by_sdk += getattr(live, "dropped_attributes", 0)
            span = live  # type: ignore[assignment]
        else:
            out.sampled_out += 1
            ctx = _context(ctx.trace_id, ctx.span_id)
            span = _readable(ctx, parent, resource_of(out.call.resource_json), row, links, end_ns)
    out.results.append(
        ResultRow(
            ctx.trace_id,
            ctx.span_id,
            parent.span_id if parent is not None else None,
            row.start_ns,
            end_ns,
            row.seq,
            row.batch_row,
            row.encoded.sample_id,
            row.result_json,
            row.data_json,
            (format_trace_id(row.link.trace_id), format_span_id(row.link.span_id))
            if row.link
            else None,
            row.scores_json,
            row.encoded.attributes.get(ATTR_SAMPLE_FINGERPRINT),  # type: ignore[arg-type]
        )
    )
    out.omitted_attributes += row.encoded.omitted_attributes
    out.omitted_events += row.encoded.omitted_events
    traces = out.traces
    if ctx.trace_id in traces:
        traces[ctx.trace_id].append(span)
    else:
        traces[ctx.trace_id] = [span]


def _root_span(
    maker: trace.Tracer | FinishedSpanMaker,
    plan: Plan,
    links: list[Link],
    start: int,
    size: int,
    start_ns: int,
    out: Emitted,
) -> tuple[SpanContext, Callable[[int], ReadableSpan]]:
    """A batch chunk's root: its context (for the children), and what ends it at a time."""
    attributes = batch_attributes(
        project_name=plan.project_name,
        run_id=plan.run_id,
        dataset_name=plan.dataset_name,
        batch_id=plan.batch_id or "",
        batch_size=plan.batch_size or len(plan.rows),
        chunk_start=start,
        chunk_size=size,
        metadata_json=plan.sent_metadata_json,
        writer=plan.writer,
    )
    if type(maker) is FinishedSpanMaker:
        ctx = _context(maker.ids.generate_trace_id(), maker.ids.generate_span_id())
        resource = maker.resource
    else:
        live = maker.start_span(  # type: ignore[union-attr]
            BATCH_SPAN, context=_ROOT, links=links, start_time=start_ns, attributes=attributes
        )
        ctx = live.get_span_context()
        if live.is_recording():

            def ended(end_ns: int) -> ReadableSpan:
                live.end(end_time=end_ns)
                return live  # type: ignore[return-value]

            return ctx, ended
        # Sampled out: the children keep the unsampled context (the application's sampler
        # decides them alike); evaltrace's destinations get a recorded copy of the root.
        out.sampled_out += 1
        resource = resource_of(out.call.resource_json)

    def finished(end_ns: int) -> ReadableSpan:
        return ReadableSpan(
            BATCH_SPAN,
            context=_context(ctx.trace_id, ctx.span_id),
            resource=resource,
            attributes=attributes,
            links=links,
            start_time=start_ns,
            end_time=end_ns,
            instrumentation_scope=_SCOPE,
        )

    return ctx, finished


def _readable(
    ctx: SpanContext,
    parent: SpanContext | None,
    resource: Resource,
    row: PlannedRow,
    links: list[Link],
    end_ns: int,
) -> ReadableSpan:
    """A finished result span built here: the ``FinishedSpanMaker`` path, and the copy of a span an
    application's sampler did not record."""
    return ReadableSpan(
        RESULT_SPAN,
        context=ctx,
        parent=parent,
        resource=resource,
        attributes=row.encoded.attributes,
        events=[Event(EVALUATION_EVENT, e, row.start_ns) for e in row.encoded.events],
        links=links,
        start_time=row.start_ns,
        end_time=end_ns,
        instrumentation_scope=_SCOPE,
    )


def emit(
    maker: trace.Tracer | FinishedSpanMaker, plan: Plan, *, chunk: int, resource_json: str
) -> Emitted:
    """End every span of the plan (result spans of ``log`` are their own trace; a batch is
    cut into traces of ``chunk`` results under an ``evaltrace.batch`` root). ``maker`` is an
    application's tracer (its processors see every span) or ``FinishedSpanMaker``."""
    links = [Link(plan.link)] if plan.link else []
    link_ids = (
        (format_trace_id(plan.link.trace_id), format_span_id(plan.link.span_id))
        if plan.link
        else None
    )
    total = len(plan.rows)
    whole = plan.batch_size or total
    out = Emitted(
        CallRecord(
            plan.run_id,
            plan.project_name,
            plan.dataset_name,
            plan.metadata_json,
            plan.context_json,
            link_ids,
            plan.batch_id,
            whole if plan.batch_id else None,
            resource_json,
            plan.capture,
            plan.provenance_json,
        ),
    )
    if plan.batch_id is None:
        _result_span(maker, plan, 0, None, out)
        return out
    for start in range(0, total, chunk):
        size = min(chunk, total - start)
        first = plan.rows[start]
        ctx, end = _root_span(maker, plan, links, plan.offset + start, size, first.start_ns, out)
        for index in range(start, start + size):
            _result_span(maker, plan, index, ctx, out)
        end_ns = max(plan.rows[start + size - 1].start_ns + INSTANT_NS, first.start_ns)
        root = end(end_ns)
        out.roots.append(
            BatchRoot(ctx.trace_id, ctx.span_id, plan.offset + start, size, first.start_ns, end_ns)
        )
        out.traces[ctx.trace_id].insert(0, root)
    return out


def summary_span(record: SummaryRecord, resource: Resource) -> ReadableSpan:
    """One run summary as a span of its own trace, timed now (history searches by send time)."""
    now = time.time_ns()
    return ReadableSpan(
        SUMMARY_SPAN,
        context=_context(_IDS.generate_trace_id(), _IDS.generate_span_id()),
        resource=resource,
        attributes=summary_attributes(record),
        start_time=now,
        end_time=now + INSTANT_NS,
        instrumentation_scope=_SCOPE,
    )


def review_span(review: ReviewRow) -> ReadableSpan:
    """A stored review as its span, a child of the reviewed result span; its note leaves the
    process only under capture ``all`` (stored masked already under ``none``; masked here
    under ``local``, as a result's text is)."""
    note = review.note
    if note is not None and review.capture != _capture.ALL:
        note = _capture.mask_result(note)
    return ReadableSpan(
        REVIEW_SPAN,
        context=_context(review.result_trace_id, review.span_id),
        parent=_context(review.result_trace_id, review.result_span_id),
        resource=resource_of(review.resource_json),
        attributes=review_attributes(
            project_name=review.project_name,
            run_id=review.run_id,
            sample_id=review.sample_id,
            result_span_id=format_span_id(review.result_span_id),
            verdict=review.verdict,
            note=note,
            reviewer=review.reviewer,
            seq=review.seq,
        ),
        start_time=review.created_ns,
        end_time=review.created_ns + INSTANT_NS,
        instrumentation_scope=_SCOPE,
    )


@functools.lru_cache(maxsize=64)
def resource_of(attributes_json: str) -> Resource:
    """The resource a stored (or summarised) trace was logged with, from its JSON; one object
    per distinct resource, as the SDK shares one per provider."""
    return Resource(loads(attributes_json))


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(
        trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )


class Rebuilder:
    """Stored traces back into spans, for the outbox (one per tracker: caches resources)."""

    def __init__(
        self, limits: Limits, writer: str | None = None, *, keep_text: bool = False
    ) -> None:
        self._limits = limits
        self._writer = writer
        """The store's writer id: a re-sent span says who wrote it, as the first send did."""
        self._keep_text = keep_text
        """Spans for the user's own file (``evaltrace export --format otlp``): the store's
        text unmasked, whatever the call's mode, which each span names (``ATTR_CAPTURE``)."""

    @staticmethod
    def _content(mode: str | None) -> CapturePolicy:
        """How a stored call's rows are encoded again: a stored row is already redacted, and
        masked already under ``none``; ``local`` (and a call of unknown mode) is masked now.
        The re-sending tracker's own mode plays no part: the mode belongs to the record."""
        if mode in (_capture.ALL, _capture.NONE):
            return _ALL
        return _LOCAL

    def __call__(self, stored: StoredTrace) -> list[ReadableSpan]:
        """The trace's spans as first sent: root first, then results in logging order."""
        if stored.review is not None:
            return [review_span(stored.review)]
        call = stored.call
        keep = self._keep_text
        content = _ALL if keep else self._content(call.capture)
        metadata_json = (
            call.metadata_json if keep else _capture.outgoing(call.capture, call.metadata_json)
        )
        resource = resource_of(call.resource_json)
        link_ctx = _context(int(call.link[0], 16), int(call.link[1], 16)) if call.link else None
        links = [Link(link_ctx)] if link_ctx else []
        shared = call_attributes(
            project_name=call.project_name,
            run_id=call.run_id,
            dataset_name=call.dataset_name,
            metadata_json=metadata_json,
            context_json=call.context_json
            if keep
            else _capture.outgoing(call.capture, call.context_json),
            link=call.link,
            batch_id=call.batch_id,
            writer=self._writer,
            provenance_json=call.provenance,
        )
        if keep:
            shared[ATTR_CAPTURE] = call.capture or _capture.LEGACY
        spans: list[ReadableSpan] = []
        parent = None
        if stored.root is not None and call.batch_id is not None:
            root = stored.root
            parent = _context(root.trace_id, root.span_id)
            root_attributes = batch_attributes(
                project_name=call.project_name,
                run_id=call.run_id,
                dataset_name=call.dataset_name,
                batch_id=call.batch_id,
                batch_size=call.batch_size or 0,
                chunk_start=root.chunk_start,
                chunk_size=root.chunk_size,
                metadata_json=metadata_json,
                writer=self._writer,
            )
            if keep:
                root_attributes[ATTR_CAPTURE] = shared[ATTR_CAPTURE]
            spans.append(
                ReadableSpan(
                    BATCH_SPAN,
                    context=parent,
                    resource=resource,
                    attributes=root_attributes,
                    links=links,
                    start_time=root.start_ns,
                    end_time=root.end_ns,
                    instrumentation_scope=_SCOPE,
                )
            )
        for row in stored.results:
            row_link = (
                [Link(_context(int(row.link[0], 16), int(row.link[1], 16)))] if row.link else []
            )
            encoded, _, _ = encode_row(
                loads(row.result_json),
                loads(row.data_json),
                shared=shared,
                seq=row.seq,
                row=row.row,
                limits=self._limits,
                content=content,
                link=row.link if row.link and row.link != call.link else None,
                stored_fingerprint=(row.fingerprint,),
            )
            if content is _ALL:  # the stored text, byte for byte
                encoded.attributes[ATTR_RESULT] = row.result_json
                encoded.attributes[ATTR_DATA] = row.data_json
            spans.append(
                ReadableSpan(
                    RESULT_SPAN,
                    context=_context(row.trace_id, row.span_id),
                    parent=parent,
                    resource=resource,
                    attributes=encoded.attributes,
                    events=[
                        Event(EVALUATION_EVENT, event, row.start_ns) for event in encoded.events
                    ],
                    links=row_link,
                    start_time=row.start_ns,
                    end_time=row.end_ns,
                    instrumentation_scope=_SCOPE,
                )
            )
        return spans
