"""Run-summary spans: sent at flush, close and every EVALTRACE_SUMMARY_EVERY results; merged
per (run, writer) by their latest seq; derived again from the store after a crash or outage;
and history over them reads the same as the store's."""

from __future__ import annotations

import json
import math
import signal
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id

from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace import SQLiteQueryAdapter
from evaltrace.cli import main
from evaltrace.query import HistoryFilter, SpanView
from evaltrace.query._history_rows import merge_summaries
from evaltrace.query._search import SearchQueryAdapter
from evaltrace.schema import ATTR_SUMMARY_KIND, SUMMARY_SPAN, decode_summary

from .support.otlp_receiver import Receiver, receiver
from .support.spans import summary_spans
from .support.wait import wait_for

CHILD = Path(__file__).parent / "support" / "child.py"


class Spans(SearchQueryAdapter):
    """A search backend over spans in memory that matches nothing itself (as Jaeger's HTTP
    gateway): what ``SearchQueryAdapter`` does with what a backend returns, offline."""

    def __init__(self, views: list[SpanView]) -> None:
        self.views = views
        self.lookback = timedelta(days=7)
        self.summary_lookback = timedelta(days=365)
        self.searched: list[dict[str, str]] = []

    def _spans(self, terms: dict[str, str], start: object, end: object) -> list[SpanView]:
        self.searched.append(terms)
        return list(self.views)


def views(spans: list[ReadableSpan] | tuple[ReadableSpan, ...]) -> list[SpanView]:
    """SDK spans as a backend returns them."""
    out = []
    for span in spans:
        ctx = span.get_span_context()
        assert ctx is not None
        out.append(
            SpanView(
                span.name,
                format_trace_id(ctx.trace_id),
                format_span_id(ctx.span_id),
                span.start_time or 0,
                dict(span.attributes or {}),
            )
        )
    return out


def received(rx: Receiver) -> list[SpanView]:
    """Spans an OTLP receiver got, as a backend returns them (duplicates kept)."""
    return [SpanView(name, t, s, 0, a) for t, s, name, a in rx.spans()]


def _results(n: int, offset: int = 0) -> list[dict[str, object]]:
    values: list[float] = [(i * 7 % 13) / 13 for i in range(offset, offset + n)]
    if n > 3:
        values[3] = math.nan  # counted as non-finite, left out of the statistics
    return [
        {"qa": {"score": v, "passed": i % 3 == 0}, "judge": {"threshold": 0.5}}
        for i, v in enumerate(values, offset)
    ]


def _log_runs(tracker: Tracker, tag: str) -> None:
    """Three runs: one batch, one of single logs, one batch of another dataset."""
    tracker.log_batch_sync(
        _results(700), "qa", [{"id": i} for i in range(700)], run_id=f"{tag}-a", metadata={"m": 1}
    )
    for i, result in enumerate(_results(12)):
        tracker.log(result, "qa", {"id": i}, run_id=f"{tag}-b", metadata={"m": 2})
    tracker.log_batch_sync(_results(5), "other", [{"id": i} for i in range(5)], run_id=f"{tag}-c")


def test_history_from_summary_spans_is_the_stores(
    store_path: Path, memory: InMemorySpanExporter
) -> None:
    """Summaries sent from a store read, through a search backend, exactly as the store's own
    history (same keys, same numbers), and history asks the backend for summary spans only."""
    with Tracker("p", store=store_path, exporters=[memory]) as tracker:
        _log_runs(tracker, "h")
    backend = Spans(views(memory.get_finished_spans()))
    for filters in (
        HistoryFilter(project_name="p"),
        HistoryFilter(project_name="p", dataset_name="qa"),
        HistoryFilter(project_name="p", metadata={"m": 2}),
        HistoryFilter(project_name="p", limit=1),
    ):
        remote = backend.history(filters)
        assert remote == SQLiteQueryAdapter(store_path).history(filters)
        assert remote
    assert all(terms.get(ATTR_SUMMARY_KIND) == "run_summary" for terms in backend.searched)
    (row,) = backend.history(HistoryFilter(project_name="p", dataset_name="other"))
    assert row["num_results"] == 5 and row["metrics"]["qa.score"]["non_finite"] == 1
    assert "judge.threshold" not in row["metrics"]  # config leaves stay out, as on the store


def test_a_summary_every_n_results_then_at_close(
    monkeypatch: pytest.MonkeyPatch, memory: InMemorySpanExporter
) -> None:
    """EVALTRACE_SUMMARY_EVERY=10: a 25-result run sends summaries at 10 and 20 results, at
    flush (only when something is new) and at close; each is cumulative, with a rising seq,
    from one writer."""
    monkeypatch.setenv("EVALTRACE_SUMMARY_EVERY", "10")
    with Tracker("p", store=False, spool=False, exporters=[memory]) as tracker:
        for result in _results(25):
            tracker.log(result, "qa", {"q": 1}, run_id="every")
        tracker.flush()
        tracker.flush()  # nothing new since the last: no summary
        tracker.log(_results(1)[0], "qa", {"q": 1}, run_id="every")
    records = [decode_summary(s.name, s.attributes or {}) for s in summary_spans(memory)]
    assert [(r.seq, r.num_results) for r in records if r] == [(1, 10), (2, 20), (3, 25), (4, 26)]
    assert len({r.writer for r in records if r}) == 1
    assert all(r and r.writer.startswith("process:") for r in records)


def test_duplicated_and_late_summaries_change_nothing(
    store_path: Path, memory: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At-least-once delivery: every summary twice, the oldest last; history is unchanged
    (the latest seq per run and writer wins, whatever the order)."""
    monkeypatch.setenv("EVALTRACE_SUMMARY_EVERY", "3")
    with Tracker("p", store=store_path, exporters=[memory]) as tracker:
        _log_runs(tracker, "dup")
    spans = views(memory.get_finished_spans())
    summaries = [v for v in spans if v.name == SUMMARY_SPAN]
    assert len(summaries) > 3
    expected = SQLiteQueryAdapter(store_path).history(HistoryFilter(project_name="p"))
    shuffled = Spans(list(reversed(spans)) + spans)
    assert shuffled.history(HistoryFilter(project_name="p")) == expected


def test_writers_of_one_run_add_up(tmp_path: Path) -> None:
    """Two trackers without a store log one run: two writers, whose summaries add up to what
    one store holding both halves says (counts exact; the mean up to rounding)."""
    halves = (_results(40), _results(60, offset=40))
    spans: list[ReadableSpan] = []
    for half in halves:
        memory = InMemorySpanExporter()
        with Tracker("p", store=False, spool=False, exporters=[memory]) as tracker:
            tracker.log_batch_sync(half, "qa", [{"id": i} for i in range(len(half))], run_id="two")
        spans += memory.get_finished_spans()
    (merged,) = Spans(views(spans)).history(HistoryFilter("p"))
    store = tmp_path / "both.db"
    with Tracker("p", store=store) as tracker:
        for half in halves:
            tracker.log_batch_sync(half, "qa", [{"id": i} for i in range(len(half))], run_id="two")
    (one,) = SQLiteQueryAdapter(store).history(HistoryFilter("p"))
    assert merged["num_results"] == one["num_results"] == 100
    assert merged["metrics"].keys() == one["metrics"].keys()
    for path, stats in one["metrics"].items():
        got = merged["metrics"][path]
        assert {k: v for k, v in got.items() if k != "mean"} == {
            k: v for k, v in stats.items() if k != "mean"
        }
        assert got.get("mean", 0) == pytest.approx(stats.get("mean", 0), rel=1e-12)


def test_trackers_sharing_a_store_are_one_writer(store_path: Path) -> None:
    """Two trackers on one store send summaries of one writer (the store's): the latest
    covers both, so nothing is counted twice."""
    spans: list[ReadableSpan] = []
    for offset in (0, 30):
        memory = InMemorySpanExporter()
        with Tracker("p", store=store_path, exporters=[memory]) as tracker:
            tracker.log_batch_sync(
                _results(30, offset), "qa", [{"id": i} for i in range(30)], run_id="shared"
            )
        spans += memory.get_finished_spans()
    records = [decode_summary(s.name, s.attributes or {}) for s in spans]
    assert len({r.writer for r in records if r}) == 1
    backend = Spans(views(spans))
    (row,) = backend.history(HistoryFilter("p"))
    assert row == SQLiteQueryAdapter(store_path).history(HistoryFilter("p"))[0]
    assert row["num_results"] == 60


def _sent_upto(store: Path) -> dict[str, int]:
    with sqlite3.connect(store) as conn:
        return dict(conn.execute("SELECT run_id, sent_upto FROM run_summaries").fetchall())


def test_a_summary_undelivered_at_close_is_sent_by_the_next_tracker(store_path: Path) -> None:
    """Closed during an outage: the store knows the summary was not delivered; the next
    tracker on it derives it from the rows and sends it, once."""
    rx = Receiver()
    rx.stop()
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        _log_runs(tracker, "late")
        tracker.close(timeout=0.3)
    assert set(_sent_upto(store_path).values()) == {0}
    rx.start()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as again:
            assert again.flush(timeout=30)
        backend = Spans(received(rx))
        assert backend.history(HistoryFilter("p")) == SQLiteQueryAdapter(store_path).history(
            HistoryFilter("p")
        )
        assert 0 not in _sent_upto(store_path).values()
        before = len(rx.spans())
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as third:
            assert third.flush(timeout=30)
        assert len(rx.spans()) == before  # delivered ones are not sent again
    finally:
        rx.stop()


def test_evaltrace_sync_sends_the_missing_summaries(store_path: Path) -> None:
    """`evaltrace sync` sends the outbox and the summaries no delivered one covers."""
    rx = Receiver()
    rx.stop()
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        _log_runs(tracker, "sync")
        tracker.close(timeout=0.3)
    rx.start()
    try:
        done = CliRunner().invoke(
            main, ["sync", "--store", str(store_path), "--endpoint", rx.endpoint]
        )
        assert done.exit_code == 0, done.output
        assert Spans(received(rx)).history(HistoryFilter("p")) == SQLiteQueryAdapter(
            store_path
        ).history(HistoryFilter("p"))
        assert 0 not in _sent_upto(store_path).values()
    finally:
        rx.stop()


def test_a_writer_killed_before_its_summary_is_summarised_from_the_store(
    store_path: Path,
) -> None:
    """SIGKILL before any summary was sent (fewer results than EVALTRACE_SUMMARY_EVERY): the
    next tracker on the store sends a summary of everything the store holds of the run."""
    with receiver() as rx:
        proc = subprocess.Popen(
            [sys.executable, str(CHILD), str(store_path), "killed", "log", "0", rx.endpoint],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("returned") and int(line.split()[1]) >= 40:
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        assert not [s for s in rx.spans() if s[2] == SUMMARY_SPAN]
        # The killed child's traces stay leased for a minute (LEASE_NS); its summary is not
        # in the outbox but derived from the rows, so it goes at once.
        with Tracker("child", store=store_path, otlp_endpoint=rx.endpoint):
            wait_for(lambda: any(s[2] == SUMMARY_SPAN for s in rx.spans()), 30, "a summary")
        (row,) = Spans(received(rx)).history(HistoryFilter("child"))
        assert row == SQLiteQueryAdapter(store_path).history(HistoryFilter("child"))[0]
        assert row["num_results"] >= 40


def test_runs_never_forwarded_get_no_summary(store_path: Path) -> None:
    """A run logged to the store only is not announced later by a forwarding tracker: the
    backend holds none of its results."""
    with Tracker("p", store=store_path) as local:
        local.log(_results(1)[0], "qa", {"q": 1}, run_id="local-only")
    with receiver() as rx:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log(_results(1)[0], "qa", {"q": 1}, run_id="forwarded")
            assert tracker.flush(timeout=30)
        runs = {r["run_id"] for r in Spans(received(rx)).history(HistoryFilter("p"))}
    assert runs == {"forwarded"}


def test_merge_ignores_what_is_not_a_summary() -> None:
    """Spans that are not summaries, or lack a field, are skipped, never fatal."""
    good = {
        "eval.kind": "run_summary",
        "eval.summary.run_id": "r",
        "eval.project": "p",
        "eval.dataset": "d",
        "eval.metadata": "{}",
        "eval.summary.writer": "w",
        "eval.summary.seq": "2",  # OTLP/JSON ints are strings
        "eval.summary.num_results": 3,
        "eval.summary.started_ns": 10**18,
        "eval.summary.ended_ns": 10**18 + 5,
        "eval.summary.aggregates": "[]",
    }
    broken = {k: v for k, v in good.items() if k != "eval.summary.seq"}
    records = [
        decode_summary(SUMMARY_SPAN, good),
        decode_summary(SUMMARY_SPAN, broken),
        decode_summary("evaltrace.result", good),
    ]
    (row,) = merge_summaries(r for r in records if r is not None)
    assert (row["num_results"], row["metrics"]) == (3, {})


def test_a_summary_span_written_before_intervals_still_reads() -> None:
    """A summary span from an older evaltrace (aggregate entries of 9 fields: no M2, no exact
    map) gives its count, mean and pass rate; se/ci are null and p50/p90 say they are the
    sketch's, as Jaeger and Tempo keep such spans for months."""
    old_entries = [
        ["qa.score", 4, 0.5, 0.0, 1.0, 0, 0, 0, [[0, 2], [1, 2]]],
        ["qa.passed", 0, 0.0, None, None, 0, 4, 3, []],
    ]
    span = {
        "eval.kind": "run_summary",
        "eval.summary.run_id": "r",
        "eval.project": "p",
        "eval.dataset": "d",
        "eval.metadata": "{}",
        "eval.summary.writer": "w",
        "eval.summary.seq": 1,
        "eval.summary.num_results": 4,
        "eval.summary.started_ns": 10**18,
        "eval.summary.ended_ns": 10**18 + 5,
        "eval.summary.aggregates": json.dumps(old_entries),
    }
    record = decode_summary(SUMMARY_SPAN, span)
    assert record is not None
    (row,) = merge_summaries([record])
    score, passed = row["metrics"]["qa.score"], row["metrics"]["qa.passed"]
    assert (score["count"], score["mean"]) == (4, 0.5)
    assert (score["se"], score["ci_low"], score["ci_high"]) == (None, None, None)
    assert score["quantiles_exact"] is False and score["relative_accuracy"] == 0.01
    assert passed["pass_rate"] == 0.75 and passed["pass_ci_low"] is not None
