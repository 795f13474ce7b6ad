"""Evaluation events as OTLP log records through the real collector into OpenSearch
(``backends-up.sh`` with STORAGE=opensearch), read back with ``query.OpenSearchEvents``: each
record parented to the evaluated application span, each once after a re-send."""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest

import evaltrace
from evaltrace.delivery._resend import sync
from evaltrace.query import EvaluationEvent, OpenSearchEvents

from .conftest import Backends

pytestmark = pytest.mark.backends

N = 20
APP_TRACE = "0af7651916cd43dd8448eb211c80319c"


def _traceparent(i: int) -> str:
    return f"00-{APP_TRACE}-{i + 1:016x}-01"


def _rows(tag: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    results = [
        {
            "faithfulness": {"score": i / N, "success": i % 2 == 0, "explanation": f"{tag} {i}"},
            "relevancy": {"score": 1.0, "label": "relevant"},
        }
        for i in range(N)
    ]
    data: list[dict[str, object]] = [{"id": f"{tag}{i}", "q": "x"} for i in range(N)]
    for i in range(0, N, 2):  # every other row names the application span it evaluated
        data[i]["traceparent"] = _traceparent(i)
    return results, data


def _events(run_id: str, expected: int, timeout: float = 120) -> list[EvaluationEvent]:
    """The run's events once OpenSearch holds ``expected`` of them (it indexes asynchronously)."""
    reader = OpenSearchEvents("http://127.0.0.1:9200")
    deadline = time.monotonic() + timeout
    try:
        while True:
            events = reader.get_evaluation_events(run_id)
            if len(events) >= expected or time.monotonic() > deadline:
                return events
            time.sleep(0.5)
    finally:
        reader.close()


def test_log_records_reach_opensearch_parented_to_the_evaluated_spans(
    opensearch: Backends, tmp_path: Path
) -> None:
    """20 results with two metrics each, half of the rows carrying a traceparent: 40 records
    in OpenSearch; a row's records carry the application span's trace and span id, the others
    their result span's, whose ids Jaeger returns for the same rows."""
    run_id = f"logs-{uuid.uuid4().hex[:8]}"
    results, data = _rows("a")
    with evaltrace.OpenTelemetryExperimentTracker(
        "e2e-logs",
        store=tmp_path / "a.db",
        otlp_endpoint=opensearch.collector_grpc,
        otlp_protocol="grpc",
        query=evaltrace.JaegerQueryAdapter(opensearch.jaeger_grpc),
    ) as tracker:
        tracker.log_batch_sync(results, "qa", data, run_id=run_id)
        assert tracker.flush(timeout=60)
        assert tracker.stats.log_records_exported == 2 * N
        spans = {r["sample_id"]: r for r in tracker.get_run_results(run_id)}
    events = _events(run_id, 2 * N)
    assert len(events) == 2 * N
    for event in events:
        i = int(str(event.sample_id)[1:])
        result = spans[str(event.sample_id)]
        assert (event.result_trace_id, event.result_span_id) == (
            result["trace_id"],
            result["span_id"],
        )
        if i % 2 == 0:
            assert (event.trace_id, event.span_id) == (APP_TRACE, f"{i + 1:016x}")
        else:
            assert (event.trace_id, event.span_id) == (result["trace_id"], result["span_id"])
    faithfulness = {e.sample_id: e for e in events if e.name == "faithfulness"}
    assert faithfulness["a3"].score_value == 3 / N
    assert faithfulness["a3"].score_label == "fail" and faithfulness["a3"].explanation == "a 3"


def test_a_store_sent_twice_is_indexed_once(opensearch: Backends, tmp_path: Path) -> None:
    """A store whose outbox was sent, then sent again from a copy (what a crash between the
    collector's acknowledgement and the outbox's commit does): each event is in OpenSearch
    once, with the same id."""
    run_id = f"logs-{uuid.uuid4().hex[:8]}"
    results, data = _rows("b")
    store = tmp_path / "b.db"
    with evaltrace.OpenTelemetryExperimentTracker(
        "e2e-logs", store=store, otlp_endpoint="http://127.0.0.1:9"
    ) as tracker:  # nothing listens: every trace stays in the outbox
        tracker.log_batch_sync(results, "qa", data, run_id=run_id)
        tracker.close(timeout=0.5)
    for suffix in ("-wal", "-shm", ""):
        if Path(f"{store}{suffix}").exists():
            shutil.copy(f"{store}{suffix}", f"{tmp_path / 'copy.db'}{suffix}")
    first = sync(str(store), endpoint=opensearch.collector_grpc, protocol="grpc", timeout=60)
    again = sync(
        str(tmp_path / "copy.db"), endpoint=opensearch.collector_grpc, protocol="grpc", timeout=60
    )
    assert first.log_records == again.log_records == 2 * N
    assert first.pending_after == again.pending_after == 0
    events = _events(run_id, 2 * N)
    assert len(events) == 2 * N
    # The reader de-duplicates; the index itself must hold each record once too. The second
    # send may still sit in the collector's queue: nothing to await but its absence, so give
    # it a few seconds, then count the documents themselves.
    time.sleep(5)
    httpx.post("http://127.0.0.1:9200/otel-logs/_refresh", timeout=30).raise_for_status()
    count = httpx.get(
        "http://127.0.0.1:9200/otel-logs/_count",
        params={"q": f'attributes.eval.run_id:"{run_id}"'},
        timeout=30,
    ).json()["count"]
    assert count == 2 * N
