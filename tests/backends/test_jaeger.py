"""End to end: tracker -> collector (collector-config.yaml) -> Jaeger v2 -> JaegerQueryAdapter."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import format_span_id, format_trace_id

import evaltrace
from evaltrace import JaegerQueryAdapter
from evaltrace import OpenTelemetryExperimentTracker as Tracker

from .conftest import ROOT, Backends

pytestmark = pytest.mark.backends


def _tracker(
    backends: Backends, store: Path | bool = False, http: bool = False, **kwargs: Any
) -> Tracker:
    """A tracker sending through the collector and reading Jaeger (gRPC API v3 by default)."""
    url = backends.jaeger_url if http else backends.jaeger_grpc
    return Tracker(
        "e2e",
        store=store,
        otlp_endpoint=backends.collector_grpc,
        otlp_protocol="grpc",
        query=JaegerQueryAdapter(url, **kwargs),
    )


def _run_id(name: str) -> str:
    """Jaeger's memory store outlives a test session: every run id is new."""
    return f"e2e-{name}-{uuid.uuid4().hex[:8]}"


def test_collector_config_validates(backends: Backends) -> None:
    """The shipped collector-config.yaml passes the built collector's own validate."""
    done = subprocess.run(
        [str(backends.collector_bin), "validate", f"--config={ROOT / 'collector-config.yaml'}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_jaeger_returns_what_the_store_returns(backends: Backends, tmp_path: Path) -> None:
    """Results and history read from Jaeger equal those read from the embedded store, exactly."""
    store = tmp_path / "e2e.db"
    with _tracker(backends, store=store) as tracker:
        run_id = _run_id("equal")
        tracker.log(
            {"judge": {"score": 1, "explanation": "é🚀", "success": True}},
            "qa",
            {"id": "s0", "q": "x" * 5000},
            run_id=run_id,
            metadata={"model": "m"},
        )
        asyncio.run(
            tracker.log_batch(
                [[{"geval": {"score": i / 10}}, {"exact": {"score": i % 2}}] for i in range(25)],
                "qa",
                [{"id": f"s{i + 1}", "n": None, "nan": float("nan")} for i in range(25)],
                run_id=run_id,
                metadata={"model": "m"},
            )
        )
        from_jaeger = tracker.get_run_results(run_id)
        history = tracker.get_experiment_history(dataset_name="qa")
    from_store = evaltrace.SQLiteQueryAdapter(store).run_results(run_id)
    from_http = JaegerQueryAdapter(backends.jaeger_url).run_results(run_id)
    assert len(from_jaeger) == 26
    assert repr(from_http) == repr(from_store)
    assert repr(from_jaeger) == repr(from_store)  # repr: NaN-tolerant, type-exact equality
    (run,) = [r for r in history if r["run_id"] == run_id]
    assert run["num_results"] == 26 and run["metrics"]["geval.score"]["max"] == pytest.approx(2.4)


def test_twenty_thousand_results_come_back_complete(backends: Backends) -> None:
    """A 20,000-result run logged through the collector reads back complete and exact."""
    n = 20_000
    results = [{"em": float(i % 3 == 0), "f1": i / n, "i": i} for i in range(n)]
    with _tracker(backends) as tracker:
        run_id = tracker.log_batch_sync(
            results, "big", [{"id": i} for i in range(n)], run_id=_run_id("20k")
        )
        rows = tracker.get_run_results(run_id)
    assert [r["evaluation_result"] for r in rows] == results


def test_paging_past_search_depth(backends: Backends) -> None:
    """Single-result traces beyond search_depth are fetched by splitting the time window."""
    run_id = _run_id("paging")
    adapter = JaegerQueryAdapter(backends.jaeger_grpc, search_depth=40)
    with Tracker(
        "e2e",
        store=False,
        otlp_endpoint=backends.collector_grpc,
        otlp_protocol="grpc",
        query=adapter,
    ) as tracker:
        for i in range(300):
            tracker.log({"i": i}, "paging", {"id": i}, run_id=run_id)
        rows = tracker.get_run_results(run_id)
    assert [r["evaluation_result"]["i"] for r in rows] == list(range(300))
    assert adapter.searches > 1


NASTY_RUN_IDS = ('q"uote', "back\\slash", "{brace}", "new\nline", "run", "run-1", "run-10")


def test_run_ids_cannot_break_or_widen_a_query(backends: Backends) -> None:
    """Run ids with quotes, backslashes, braces, newlines or prefixes match only their own."""
    prefix = _run_id("inj") + "-"
    with _tracker(backends) as tracker:
        for nasty in NASTY_RUN_IDS:
            tracker.log({"for": nasty}, "inj", {"id": 1}, run_id=prefix + nasty)
        found = {nasty: tracker.get_run_results(prefix + nasty) for nasty in NASTY_RUN_IDS}
    for nasty, rows in found.items():
        assert [r["evaluation_result"] for r in rows] == [{"for": nasty}], nasty


def test_log_context_links_to_the_app_trace(backends: Backends) -> None:
    """A result logged under an app span links to it, and Jaeger stores both traces and the link."""
    app_provider = TracerProvider(resource=Resource({"service.name": "e2e-app"}))
    app_provider.add_span_processor(
        SimpleSpanProcessor(OTLPSpanExporter(endpoint=backends.collector_grpc, insecure=True))
    )
    run_id = _run_id("ctx")
    with _tracker(backends) as tracker:
        with app_provider.get_tracer("app").start_as_current_span("answer-question") as app_span:
            app = app_span.get_span_context()
            traceparent = f"00-{format_trace_id(app.trace_id)}-{format_span_id(app.span_id)}-01"

        async def later() -> str:
            await tracker.log_context(traceparent=traceparent, user="u1")
            return await tracker.alog({"judge": {"score": 0.5}}, "ctx", {"id": 1}, run_id=run_id)

        asyncio.run(later())
        (row,) = tracker.get_run_results(run_id)
    app_provider.shutdown()
    assert row["context"] == {"user": "u1"}
    assert row["link"] == {
        "trace_id": format_trace_id(app.trace_id),
        "span_id": format_span_id(app.span_id),
    }
    stored = httpx.get(f"{backends.jaeger_url}/api/v3/traces/{row['trace_id']}", timeout=10).json()
    (span,) = stored["result"]["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert [link["traceId"] for link in span["links"]] == [format_trace_id(app.trace_id)]
    app_trace = httpx.get(
        f"{backends.jaeger_url}/api/v3/traces/{format_trace_id(app.trace_id)}", timeout=10
    )
    assert app_trace.status_code == 200


def test_backend_errors_are_translated(backends: Backends) -> None:
    """An unreachable Jaeger and an error answer become the library's own exceptions."""
    with pytest.raises(evaltrace.BackendUnavailableError):
        JaegerQueryAdapter("http://127.0.0.1:9", timeout=2).run_results("x")
    with pytest.raises(evaltrace.BackendUnavailableError):
        JaegerQueryAdapter("grpc://127.0.0.1:9", timeout=2).run_results("x")
    for url in (backends.jaeger_url, backends.jaeger_grpc):
        with pytest.raises(evaltrace.BackendResponseError, match="search depth") as info:
            JaegerQueryAdapter(url, search_depth=10**9).run_results("x")
        assert info.value.message
