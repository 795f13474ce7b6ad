"""History on the real Jaeger (memory storage) from run-summary spans: the same rows as the
store's for the same runs, over gRPC and HTTP, and a run older than the results' lookback."""

from __future__ import annotations

import os
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import JaegerQueryAdapter, SQLiteQueryAdapter
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.query import HistoryFilter
from evaltrace.schema import SUMMARY_SPAN

from ..support.wait import wait_for
from .conftest import Backends

pytestmark = pytest.mark.backends

JAEGER_OTLP = os.environ.get("EVALTRACE_TEST_JAEGER_OTLP", "http://127.0.0.1:14317")
"""Jaeger's own OTLP receiver: this is a test of history, not of the collector (which other
tests kill and restart)."""
MONTH_NS = 30 * 86400 * 10**9


def _log_runs(tracker: Tracker, tag: str) -> None:
    results = [{"qa": {"score": (i * 7 % 13) / 13, "passed": i % 3 == 0}} for i in range(1200)]
    tracker.log_batch_sync(results, "qa", [{"id": i} for i in range(1200)], run_id=f"{tag}-a")
    for i in range(15):
        tracker.log(results[i], "qa", {"id": i}, run_id=f"{tag}-b", metadata={"model": "m2"})
    tracker.log_batch_sync(results[:7], "other", [{"id": i} for i in range(7)], run_id=f"{tag}-c")


def test_history_over_jaeger_is_the_stores(backends: Backends, tmp_path: Path) -> None:
    """Three runs logged to a store and through Jaeger: history over Jaeger (gRPC, HTTP)
    returns the store's rows, same keys, same numbers; the tracker's own read waits for its
    summaries."""
    service, tag = f"evaltrace-hist-{uuid.uuid4().hex[:8]}", f"hist-{uuid.uuid4().hex[:6]}"
    store = tmp_path / "s.db"
    grpc = JaegerQueryAdapter(backends.jaeger_grpc, service_name=service)
    with Tracker(
        "hist",
        store=store,
        otlp_endpoint=JAEGER_OTLP,
        otlp_protocol="grpc",
        resource_attributes={"service.name": service},
        query=grpc,
    ) as tracker:
        _log_runs(tracker, tag)
        remote = tracker.get_experiment_history()
    expected = SQLiteQueryAdapter(store).history(HistoryFilter("hist"))
    assert [r["run_id"] for r in expected] == [f"{tag}-c", f"{tag}-b", f"{tag}-a"]
    # The tracker's read waited until every run it logged was there, in full; after close the
    # last summaries (nothing new) leave the rows as they were.
    assert remote == expected
    http = JaegerQueryAdapter(backends.jaeger_url, service_name=service)
    for adapter in (JaegerQueryAdapter(backends.jaeger_grpc, service_name=service), http):
        wait_for(lambda a=adapter: a.history(HistoryFilter("hist")) == expected, 60, "history")
        for filters in (
            HistoryFilter("hist", dataset_name="qa"),
            HistoryFilter("hist", metadata={"model": "m2"}),
        ):
            assert adapter.history(filters) == SQLiteQueryAdapter(store).history(filters)
        adapter.close()


def _shifted(span: ReadableSpan, by_ns: int) -> ReadableSpan:
    """The same span, ``by_ns`` earlier (its events too)."""
    return ReadableSpan(
        span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=span.attributes,
        events=[Event(e.name, e.attributes, (e.timestamp or 0) - by_ns) for e in span.events],
        links=span.links,
        kind=span.kind,
        status=span.status,
        start_time=(span.start_time or 0) - by_ns,
        end_time=(span.end_time or 0) - by_ns,
        instrumentation_scope=span.instrumentation_scope,
    )


def test_a_run_older_than_the_results_lookback_is_in_history(
    backends: Backends, tmp_path: Path
) -> None:
    """A run whose results and summaries are 30 days old: past the 7-day results lookback
    (get_run_results finds nothing), inside the 365-day summary lookback (history finds it,
    as the store has it)."""
    service, run_id = f"evaltrace-old-{uuid.uuid4().hex[:8]}", f"old-{uuid.uuid4().hex[:6]}"
    store = tmp_path / "s.db"
    memory = InMemorySpanExporter()
    with Tracker(
        "old", store=store, exporters=[memory], resource_attributes={"service.name": service}
    ) as tracker:
        results = [{"qa": {"score": i / 9}} for i in range(40)]
        tracker.log_batch_sync(results, "qa", [{"id": i} for i in range(40)], run_id=run_id)
    spans = [_shifted(s, MONTH_NS) for s in memory.get_finished_spans()]
    assert any(s.name == SUMMARY_SPAN for s in spans)
    exporter = OTLPSpanExporter(endpoint=JAEGER_OTLP, insecure=True)
    try:
        assert exporter.export(spans) is SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()
    adapter = JaegerQueryAdapter(backends.jaeger_grpc, service_name=service)
    expected = SQLiteQueryAdapter(store).history(HistoryFilter("old"))
    wait_for(lambda: adapter.history(HistoryFilter("old")) == expected, 60, "the old run")
    assert adapter.run_results(run_id) == []
    assert adapter.history(HistoryFilter("old"))[0]["num_results"] == 40
    short = JaegerQueryAdapter(
        backends.jaeger_grpc, service_name=service, summary_lookback=timedelta(days=7)
    )
    assert short.history(HistoryFilter("old")) == []
    for a in (adapter, short):
        a.close()
