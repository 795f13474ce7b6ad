"""log_context: values on later results, links to app spans, no leaks across tasks/threads."""

from __future__ import annotations

import asyncio
import threading

from opentelemetry import baggage
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

from evaltrace import OpenTelemetryExperimentTracker as Tracker

from .support.spans import logged_spans

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_log_context_values_and_traceparent_link(
    tracker: Tracker, memory: InMemorySpanExporter
) -> None:
    """After log_context, results carry its values and link to the traceparent's span."""

    async def go() -> str:
        await tracker.log_context(traceparent=TRACEPARENT, experiment="exp-1", temperature=0.2)
        assert baggage.get_baggage("experiment") == "exp-1"
        return await tracker.alog({"m": 1}, "qa", {"q": 1})

    run_id = asyncio.run(go())
    (row,) = tracker.get_run_results(run_id)
    assert row["context"] == {"experiment": "exp-1", "temperature": 0.2}
    assert row["link"] == {
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
    }
    (span,) = logged_spans(memory)
    (link,) = span.links
    assert format_trace_id(link.context.trace_id) == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert span.parent is None  # linked, not parented: the eval trace stays its own


def test_active_app_span_is_linked(tracker: Tracker) -> None:
    """Logging inside an application's active span links the result to it."""
    app = TracerProvider().get_tracer("app")
    with app.start_as_current_span("handle-request") as span:
        run_id = tracker.log({"m": 1}, "qa", {"q": 1})
        ctx = span.get_span_context()
    (row,) = tracker.get_run_results(run_id)
    assert row["link"] == {
        "trace_id": format_trace_id(ctx.trace_id),
        "span_id": format_span_id(ctx.span_id),
    }


def test_context_does_not_leak_to_sibling_tasks(tracker: Tracker) -> None:
    """A task's log_context is invisible to a concurrently running sibling task."""

    async def main() -> None:
        context_set, sibling_logged = asyncio.Event(), asyncio.Event()

        async def with_context() -> str:
            await tracker.log_context(user="a")
            context_set.set()
            await sibling_logged.wait()  # the sibling logs while this context is in force
            return await tracker.alog({"m": 1}, "qa", {"q": "a"}, run_id="ra")

        async def without_context() -> str:
            await context_set.wait()
            try:
                return await tracker.alog({"m": 2}, "qa", {"q": "b"}, run_id="rb")
            finally:
                sibling_logged.set()

        await asyncio.gather(with_context(), without_context())
        assert baggage.get_baggage("user") is None  # nor did the parent task

    asyncio.run(main())
    assert tracker.get_run_results("ra")[0]["context"] == {"user": "a"}
    assert tracker.get_run_results("rb")[0]["context"] == {}


def test_context_does_not_leak_to_threads(tracker: Tracker) -> None:
    """A scoped context in one thread is not seen by another, and ends with its block."""

    def other() -> None:
        tracker.log({"m": 2}, "qa", {"q": 2}, run_id="thread")

    with tracker.context(stage="inside"):
        worker = threading.Thread(target=other)
        worker.start()
        worker.join()
        tracker.log({"m": 1}, "qa", {"q": 1}, run_id="main")
    tracker.log({"m": 3}, "qa", {"q": 3}, run_id="after")
    seen = {
        r["run_id"]: r["context"]
        for run in ("main", "thread", "after")
        for r in tracker.get_run_results(run)
    }
    assert seen == {"main": {"stage": "inside"}, "thread": {}, "after": {}}


def test_invalid_traceparent_is_rejected(tracker: Tracker) -> None:
    """A malformed traceparent is a ValueError naming the field."""
    import pytest

    with (
        pytest.raises(ValueError, match=r"context\.traceparent"),
        tracker.context(traceparent="nope"),
    ):
        pass
