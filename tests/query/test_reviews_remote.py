"""get_reviews on Jaeger (HTTP) and Tempo, offline (tests/query/fakes.py): the review spans of
a run, found by kind and run, read exactly as from memory."""

from __future__ import annotations

import json
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace

from ..support.spans import logged_spans
from .fakes import FakeJaeger, FakeTempo, reference, traces


def _reviewed(store: Path) -> list[object]:
    """A run of two results (a log and a batch), one reviewed twice, one by another run."""
    memory = InMemorySpanExporter()
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store, exporters=[memory]) as t:
        t.log({"m": 0.1}, "qa", {"id": "a"}, run_id="r")
        t.log_batch_sync([{"m": 0.9}], "qa", [{"id": "b"}], run_id="r")
        t.log({"m": 0.5}, "qa", {"id": "a"}, run_id="r2")
        t.review("r", "a", "fail", 'says "no"\nthen yes')
        t.review("r", "a", "pass", None, reviewer="ana")
        t.review("r", "b", "fail", "off")
        t.review("r2", "a", "pass", "other run")
    return list(logged_spans(memory))


def test_jaeger_reads_a_runs_reviews_by_kind_and_span_name(tmp_path: Path) -> None:
    """The HTTP search names the review span (v2.13 honours it) and its terms; exact read."""
    spans = _reviewed(tmp_path / "s.db")
    fake = FakeJaeger(traces(spans))  # type: ignore[arg-type]
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=0, backoff=0)
    adapter = evaltrace.JaegerQueryAdapter("http://jaeger:16686", options=options)
    reviews = adapter.get_reviews("r")
    assert reviews == reference(spans).get_reviews("r")  # type: ignore[arg-type]
    assert [(r["sample_id"], r["verdict"]) for r in reviews] == [
        ("a", "fail"),
        ("a", "pass"),
        ("b", "fail"),
    ]
    assert reviews[0]["note"] == 'says "no"\nthen yes' and reviews[1]["reviewer"] == "ana"
    params = fake.requests[0].url.params
    assert params["query.operation_name"] == "evaltrace.review"
    assert json.loads(params["query.attributes"]) == {
        "eval.kind": "review",
        "eval.review.run_id": "r",
    }


def test_tempo_reads_a_runs_reviews(tmp_path: Path) -> None:
    """TraceQL on kind and run, then each trace by id: the same reviews as from memory."""
    spans = _reviewed(tmp_path / "s.db")
    fake = FakeTempo(traces(spans))  # type: ignore[arg-type]
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=0, backoff=0)
    adapter = evaltrace.TempoQueryAdapter("http://tempo:3200", options=options)
    assert adapter.get_reviews("r2") == reference(spans).get_reviews("r2")  # type: ignore[arg-type]
    assert [r["note"] for r in adapter.get_reviews("r2")] == ["other run"]
