"""Plans become OpenTelemetry spans; stored traces become spans again for the outbox.

Live spans are made by the SDK tracer (ids from ``OsRandomIdGenerator``, the instrumentation
scope ``evaltrace``); a trace re-read from the store is rebuilt as ``ReadableSpan``s with the
same ids, times, attributes, events and links, so a re-send is indistinguishable from the
first send (which is what lets readers de-duplicate).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, TraceFlags, format_span_id, format_trace_id

from . import _capture
from ._codec import loads
from ._plan import Content, Plan, encode_row
from .schema import (
    ATTR_DATA,
    ATTR_LINK_SPAN_ID,
    ATTR_LINK_TRACE_ID,
    ATTR_RESULT,
    BATCH_SPAN,
    EVALUATION_EVENT,
    RESULT_SPAN,
    SCOPE_NAME,
    Limits,
    batch_attributes,
    call_attributes,
)
from .store import BatchRoot, CallRecord, ResultRow, StoredTrace

__all__ = ["Emitted", "Rebuilder", "emit"]

INSTANT_NS = 1_000
"""Result spans last 1 µs: Jaeger flags zero-duration spans as 'negative duration'."""
_ROOT = otel_context.Context()
_SCOPE = InstrumentationScope(SCOPE_NAME)


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


def _result_span(
    tracer: trace.Tracer, plan: Plan, index: int, parent: otel_context.Context, out: Emitted
) -> ReadableSpan:
    """One result span, linked (every one, not only a batch's root) to its row's app span."""
    row = plan.rows[index]
    links = [Link(row.link)] if row.link else []
    span = tracer.start_span(
        RESULT_SPAN,
        context=parent,
        links=links,
        start_time=row.start_ns,
        attributes=row.encoded.attributes,
    )
    for event in row.encoded.events:
        span.add_event(EVALUATION_EVENT, event, timestamp=row.start_ns)
    span.end(end_time=row.start_ns + INSTANT_NS)
    ctx = span.get_span_context()
    parent_ctx = trace.get_current_span(parent).get_span_context()
    out.results.append(
        ResultRow(
            ctx.trace_id,
            ctx.span_id,
            parent_ctx.span_id if parent_ctx.is_valid else None,
            row.start_ns,
            row.start_ns + INSTANT_NS,
            row.seq,
            row.row,
            row.encoded.sample_id,
            row.result_json,
            row.data_json,
            (format_trace_id(row.link.trace_id), format_span_id(row.link.span_id))
            if row.link
            else None,
            row.scores_json,
        )
    )
    out.omitted_attributes += row.encoded.omitted_attributes
    out.omitted_events += row.encoded.omitted_events
    out.dropped_by_sdk += getattr(span, "dropped_attributes", 0)
    out.traces.setdefault(ctx.trace_id, []).append(span)  # type: ignore[arg-type]
    return span  # type: ignore[return-value]


def emit(tracer: trace.Tracer, plan: Plan, *, chunk: int, resource_json: str) -> Emitted:
    """End every span of the plan (result spans of ``log`` are their own trace; a batch is
    cut into traces of ``chunk`` results under an ``evaltrace.batch`` root)."""
    links = [Link(plan.link)] if plan.link else []
    link_ids = (
        (format_trace_id(plan.link.trace_id), format_span_id(plan.link.span_id))
        if plan.link
        else None
    )
    total = len(plan.rows)
    out = Emitted(
        CallRecord(
            plan.run_id,
            plan.project_name,
            plan.dataset_name,
            plan.metadata_json,
            plan.context_json,
            link_ids,
            plan.batch_id,
            total if plan.batch_id else None,
            resource_json,
        ),
    )
    if plan.batch_id is None:
        _result_span(tracer, plan, 0, _ROOT, out)
        return out
    for start in range(0, total, chunk):
        size = min(chunk, total - start)
        first = plan.rows[start]
        root = tracer.start_span(
            BATCH_SPAN,
            context=_ROOT,
            links=links,
            start_time=first.start_ns,
            attributes=batch_attributes(
                project_name=plan.project_name,
                run_id=plan.run_id,
                dataset_name=plan.dataset_name,
                batch_id=plan.batch_id,
                batch_size=total,
                chunk_start=start,
                chunk_size=size,
                metadata_json=plan.metadata_json,
            ),
        )
        parent = trace.set_span_in_context(root, _ROOT)
        for index in range(start, start + size):
            _result_span(tracer, plan, index, parent, out)
        end_ns = max(plan.rows[start + size - 1].start_ns + INSTANT_NS, first.start_ns)
        root.end(end_time=end_ns)
        ctx = root.get_span_context()
        out.roots.append(BatchRoot(ctx.trace_id, ctx.span_id, start, size, first.start_ns, end_ns))
        out.traces[ctx.trace_id].insert(0, root)  # type: ignore[arg-type]
    return out


def _context(trace_id: int, span_id: int) -> SpanContext:
    return SpanContext(
        trace_id, span_id, is_remote=False, trace_flags=TraceFlags(TraceFlags.SAMPLED)
    )


class Rebuilder:
    """Stored traces back into spans, for the outbox (one per tracker: caches resources)."""

    def __init__(self, limits: Limits, content: Content) -> None:
        self._limits = limits
        # A stored row is already redacted; re-encoding applies only the capture mode.
        self._content = Content(content.mode, None)
        self._resources: dict[str, Resource] = {}

    def _resource(self, attributes: str) -> Resource:
        known = self._resources.get(attributes)
        if known is None:
            known = self._resources[attributes] = Resource(loads(attributes))
        return known

    def __call__(self, stored: StoredTrace) -> list[ReadableSpan]:
        """The trace's spans as first sent: root first, then results in logging order."""
        call = stored.call
        resource = self._resource(call.resource_json)
        link_ctx = _context(int(call.link[0], 16), int(call.link[1], 16)) if call.link else None
        links = [Link(link_ctx)] if link_ctx else []
        shared = call_attributes(
            project_name=call.project_name,
            run_id=call.run_id,
            dataset_name=call.dataset_name,
            metadata_json=call.metadata_json,
            context_json=call.context_json,
            link=call.link,
            batch_id=call.batch_id,
        )
        spans: list[ReadableSpan] = []
        parent = None
        if stored.root is not None and call.batch_id is not None:
            root = stored.root
            parent = _context(root.trace_id, root.span_id)
            spans.append(
                ReadableSpan(
                    BATCH_SPAN,
                    context=parent,
                    resource=resource,
                    attributes=batch_attributes(
                        project_name=call.project_name,
                        run_id=call.run_id,
                        dataset_name=call.dataset_name,
                        batch_id=call.batch_id,
                        batch_size=call.batch_size or 0,
                        chunk_start=root.chunk_start,
                        chunk_size=root.chunk_size,
                        metadata_json=call.metadata_json,
                    ),
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
                content=self._content,
            )
            if self._content.mode == _capture.ALL:  # the stored text, byte for byte
                encoded.attributes[ATTR_RESULT] = row.result_json
                encoded.attributes[ATTR_DATA] = row.data_json
            if row.link and row.link != call.link:
                encoded.attributes[ATTR_LINK_TRACE_ID], encoded.attributes[ATTR_LINK_SPAN_ID] = (
                    row.link
                )
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
