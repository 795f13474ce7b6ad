"""Human review: a person's verdict on a result, stored with its history, sent as a span."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace import ReviewWriter
from evaltrace.cli import main
from evaltrace.query import InMemoryQueryAdapter, SpanView
from evaltrace.query._search import SearchQueryAdapter

from .support.otlp_receiver import Receiver
from .test_store import immutable_store  # noqa: F401 - a fixture

DATA = [{"id": f"q{i}", "question": f"what is {i}?"} for i in range(3)]
RESULTS = [{"qa": {"score": i / 2, "explanation": f"because {i}"}} for i in range(3)]


def _logged(store: Path, **kwargs: Any) -> None:
    with Tracker("proj", store=store, **kwargs) as tracker:
        tracker.log_batch_sync(RESULTS, "qa", DATA, run_id="run-a")


def _received(rx: Receiver, name: str) -> list[tuple[str, str, str, dict[str, object]]]:
    return [span for span in rx.spans() if span[2] == name]


def test_a_review_is_stored_with_its_history_and_the_latest_stands(store_path: Path) -> None:
    """Changing a verdict adds a review: both are read back in order, results are unchanged."""
    _logged(store_path)
    with Tracker("proj", store=store_path) as tracker:
        before = tracker.get_run_results("run-a")
        history = tracker.get_experiment_history()
    with ReviewWriter(store_path) as writer:
        first = writer.review("run-a", "q1", "fail", "wrong unit", reviewer="ana")
        second = writer.review("run-a", "q1", "pass", "unit is fine after all")
    reviews = evaltrace.SQLiteQueryAdapter(store_path).get_reviews("run-a")
    assert [(r["verdict"], r["note"], r["reviewer"]) for r in reviews] == [
        ("fail", "wrong unit", "ana"),
        ("pass", "unit is fine after all", None),
    ]
    assert reviews == [first, second] and first["seq"] < second["seq"]
    assert reviews[0]["span_id"] == before[1]["span_id"]  # the sample's result span
    with Tracker("proj", store=store_path) as tracker:
        assert tracker.get_run_results("run-a") == before  # same shape, same values
        assert tracker.get_experiment_history() == history  # scores and gate untouched
        assert tracker.get_reviews("run-a") == reviews
        assert tracker.get_reviews("run-b") == []


def test_bad_reviews_name_the_field_and_store_nothing(store_path: Path) -> None:
    """A verdict other than pass/fail, an unknown sample, a note that is not text: refused."""
    _logged(store_path)
    with ReviewWriter(store_path) as writer:
        with pytest.raises(evaltrace.InvalidInputError, match="verdict: 'maybe'"):
            writer.review("run-a", "q1", "maybe")
        with pytest.raises(evaltrace.InvalidInputError, match="no sample 'q9'"):
            writer.review("run-a", "q9", "pass")
        with pytest.raises(evaltrace.InvalidInputTypeError, match="note"):
            writer.review("run-a", "q1", "pass", 42)  # type: ignore[arg-type]
        assert writer.get_reviews("run-a") == []


def test_a_review_is_sent_as_a_child_of_its_result_span(store_path: Path) -> None:
    """Over OTLP: a review span in the result's trace, parented to the result span."""
    rx = Receiver()
    try:
        _logged(store_path)
        results = evaltrace.SQLiteQueryAdapter(store_path).run_results("run-a")
        with ReviewWriter(store_path, otlp_endpoint=rx.endpoint) as writer:
            writer.review("run-a", "q2", "fail", "cites the wrong passage")
            assert writer.flush(timeout=30)
        (review,) = _received(rx, "evaltrace.review")
        assert review[0] == results[2]["trace_id"]
        assert review[3]["eval.review.result_span_id"] == results[2]["span_id"]
        assert review[3]["eval.review.verdict"] == "fail"
        assert review[3]["eval.review.note"] == "cites the wrong passage"
        assert review[3]["eval.review.run_id"] == "run-a"
        assert "eval.run_id" not in review[3]  # never taken for a result
        with sqlite3.connect(store_path) as conn:
            assert conn.execute("SELECT count(*) FROM outbox").fetchone() == (0,)
    finally:
        rx.stop()


def test_capture_and_redact_apply_to_the_note(store_path: Path) -> None:
    """redact= rewrites the note before it is stored; capture local sends a digest only."""
    rx = Receiver()
    try:
        _logged(store_path)
        with ReviewWriter(
            store_path,
            otlp_endpoint=rx.endpoint,
            capture_content="local",
            redact=lambda field, value: (
                value.replace("ana@x.org", "[email]") if field == "note" else value
            ),
        ) as writer:
            stored = writer.review("run-a", "q0", "fail", "ask ana@x.org")
            assert writer.flush(timeout=30)
        assert stored["note"] == "ask [email]"
        (review,) = _received(rx, "evaltrace.review")
        sent = str(review[3]["eval.review.note"])
        assert sent.startswith("<sha256:") and "email" not in sent
    finally:
        rx.stop()


def test_a_review_waits_in_the_outbox_until_the_collector_is_back(store_path: Path) -> None:
    """Committed with its outbox entry: a collector that is down gets it from `evaltrace sync`."""
    rx = Receiver()
    rx.stop()
    _logged(store_path)
    writer = ReviewWriter(store_path, otlp_endpoint=rx.endpoint)
    writer.review("run-a", "q0", "pass", "fine")
    writer.close(timeout=0.2)
    rx.start()
    try:
        done = CliRunner().invoke(
            main, ["sync", "--store", str(store_path), "--endpoint", rx.endpoint]
        )
        assert done.exit_code == 0, done.output
        (review,) = _received(rx, "evaltrace.review")
        assert review[3]["eval.review.verdict"] == "pass"
    finally:
        rx.stop()


def test_the_in_memory_adapter_reads_review_spans(store_path: Path) -> None:
    """exporters= get the review span too; InMemoryQueryAdapter.get_reviews decodes it."""
    memory = InMemorySpanExporter()
    _logged(store_path)
    with Tracker("proj", store=store_path, exporters=[memory]) as tracker:
        made = tracker.review("run-a", "q1", "fail", "no")
        tracker.review("run-a", "q1", "pass", "yes")
    reviews = InMemoryQueryAdapter(memory).get_reviews("run-a")
    assert [(r["verdict"], r["note"]) for r in reviews] == [("fail", "no"), ("pass", "yes")]
    assert reviews[0]["review_span_id"] == made["review_span_id"]
    assert InMemoryQueryAdapter(memory).run_results("run-a") == []  # no result among them


class _Found(SearchQueryAdapter):
    """A search backend answering with fixed spans (Jaeger's and Tempo's shared path)."""

    lookback = summary_lookback = timedelta(days=1)

    def __init__(self, spans: list[SpanView]) -> None:
        self.spans, self.asked = spans, []

    def _spans(self, terms: dict[str, str], start: Any, end: Any) -> list[SpanView]:
        self.asked.append(terms)
        return self.spans


def test_search_adapters_read_reviews_once_each(store_path: Path) -> None:
    """Jaeger/Tempo: searched by kind and run; a re-sent review span is counted once."""
    memory = InMemorySpanExporter()
    _logged(store_path)
    with Tracker("proj", store=store_path, exporters=[memory]) as tracker:
        tracker.review("run-a", "q0", "fail", "off topic")
    views = [
        SpanView(
            s.name,
            f"{s.context.trace_id:032x}",
            f"{s.context.span_id:016x}",
            s.start_time or 0,
            s.attributes or {},
        )
        for s in memory.get_finished_spans()
        if s.context is not None
    ]
    found = _Found(views + views)
    (review,) = found.get_reviews("run-a")
    assert review["note"] == "off topic" and review["sample_id"] == "q0"
    assert found.asked == [{"eval.kind": "review", "eval.review.run_id": "run-a"}]


def test_a_store_without_the_reviews_table_reads_as_no_reviews(store_path: Path) -> None:
    """A store of this layout written before reviews: [] rather than an error."""
    _logged(store_path)
    with sqlite3.connect(store_path) as conn:
        conn.execute("DROP TABLE reviews")
    assert evaltrace.SQLiteQueryAdapter(store_path).get_reviews("run-a") == []


def test_a_read_only_store_shows_reviews_and_takes_none(immutable_store: Path) -> None:  # noqa: F811
    """Refused with the reason, before anything is written; reading still works."""
    writer = ReviewWriter(immutable_store)
    try:
        assert writer.refusal is not None and "read-only" in writer.refusal
        with pytest.raises(evaltrace.ConfigurationError, match="read-only"):
            writer.review("r", "0", "pass")
    finally:
        writer.close()
    assert evaltrace.SQLiteQueryAdapter(immutable_store).get_reviews("r") == []


def test_compare_text_names_the_reviews_beside_and_the_gate_ignores_them(store_path: Path) -> None:
    """`evaltrace compare`: a line of each run's reviews; a failed review fails no gate."""
    _logged(store_path)
    with Tracker("proj", store=store_path) as tracker:
        tracker.log_batch_sync(RESULTS, "qa", DATA, run_id="run-b")
    args = ["compare", "run-a", "run-b", "--store", str(store_path), "--fail-on-regression"]
    before = CliRunner().invoke(main, args)
    assert "human reviews" not in before.output
    with ReviewWriter(store_path) as writer:
        for sample in ("q0", "q1"):
            writer.review("run-b", sample, "fail", "wrong")
    after = CliRunner().invoke(main, args)
    assert after.exit_code == before.exit_code == 0
    assert "human reviews (not in the gate): B 2 (2 fail)" in after.output


def test_a_review_writer_never_summarises_a_run(store_path: Path) -> None:
    """Runs whose summaries are pending stay so: a closed summary from the UI's writer would
    tell readers the store's writer is done while an eval may still be logging."""
    rx = Receiver()
    rx.stop()
    logger = Tracker("proj", store=store_path, otlp_endpoint=rx.endpoint)
    logger.log_batch_sync(RESULTS, "qa", DATA, run_id="run-a")
    logger.close(timeout=0.2)  # the collector is down: the run's summary stays pending
    rx.start()
    try:
        with ReviewWriter(store_path, otlp_endpoint=rx.endpoint) as writer:
            writer.review("run-a", "q0", "pass")
            assert writer.flush(timeout=30)
        names = {span[2] for span in rx.spans()}
        assert "evaltrace.review" in names and "evaltrace.run_summary" not in names
    finally:
        rx.stop()


def test_capture_none_keeps_no_note_text_even_in_the_store(store_path: Path) -> None:
    """capture_content="none": the stored note is already a digest (equal notes stay equal)."""
    _logged(store_path)
    with ReviewWriter(store_path, capture_content="none") as writer:
        first = writer.review("run-a", "q0", "fail", "the patient's name is wrong")
        second = writer.review("run-a", "q1", "fail", "the patient's name is wrong")
    assert first["note"] is not None and first["note"].startswith("<sha256:")
    assert first["note"] == second["note"] and "patient" not in first["note"]
