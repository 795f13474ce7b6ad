"""A human review through the real collector and Jaeger: the review span arrives as a child
of the reviewed result span, and ``get_reviews`` reads it back on Jaeger (HTTP and gRPC)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from evaltrace import JaegerQueryAdapter
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.query import QueryAdapter

from ..support.wait import wait_for
from .conftest import Backends

pytestmark = pytest.mark.backends


def test_a_review_reaches_jaeger_under_its_result_span(backends: Backends, tmp_path: Path) -> None:
    """Reviewed twice (pass, then fail): Jaeger gives both, the latest last, each a child of
    the result span the store holds; the results read back unchanged beside them."""
    run_id = f"e2e-review-{uuid.uuid4().hex[:8]}"
    store = tmp_path / "s.db"
    with Tracker(
        "e2e",
        store=store,
        otlp_endpoint=backends.collector_grpc,
        otlp_protocol="grpc",
    ) as tracker:
        tracker.log_batch_sync(
            [{"qa": {"score": s}} for s in (1.0, 0.0, 0.5)],
            "ds",
            [{"id": f"q{i}", "question": f"question {i}"} for i in range(3)],
            run_id=run_id,
        )
        tracker.review(run_id, "q1", "pass", "looked fine at first")
        tracker.review(run_id, "q1", "fail", "the answer names the wrong year", reviewer="ana")
        assert tracker.flush(30)
        stored = tracker.get_reviews(run_id)
        results = tracker.get_run_results(run_id)
    result_span = next(r for r in results if r["sample_id"] == "q1")
    for url in (backends.jaeger_url, backends.jaeger_grpc):
        with JaegerQueryAdapter(url) as jaeger:

            def both_arrived(reader: QueryAdapter = jaeger) -> bool:
                return len(reader.get_reviews(run_id)) == 2

            wait_for(both_arrived, 60, f"reviews on {url}")
            read = jaeger.get_reviews(run_id)
            assert [(r["verdict"], r["note"], r["reviewer"]) for r in read] == [
                ("pass", "looked fine at first", None),
                ("fail", "the answer names the wrong year", "ana"),
            ]
            assert {(r["trace_id"], r["span_id"]) for r in read} == {
                (result_span["trace_id"], result_span["span_id"])
            }
            assert [r["review_span_id"] for r in read] == [r["review_span_id"] for r in stored]
            assert sorted(jaeger.run_results(run_id), key=lambda r: str(r["sample_id"])) == sorted(
                results, key=lambda r: str(r["sample_id"])
            )
