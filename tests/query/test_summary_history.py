"""History on Jaeger (HTTP) and Tempo from run-summary spans only, offline (tests/query/fakes.py):
the same rows as the store's, no result trace read, runs older than the results' lookback."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import HistoryFilter, JaegerQueryAdapter, SQLiteQueryAdapter, TempoQueryAdapter
from evaltrace.schema import SUMMARY_SPAN

from .fakes import FakeJaeger, FakeTempo, Trace, traces

DAY = 86400


def _logged(store: Path) -> list[ReadableSpan]:
    """Two runs logged to ``store`` with a copy of every span (summaries included)."""
    memory = InMemorySpanExporter()
    with evaltrace.OpenTelemetryExperimentTracker("p", store=store, exporters=[memory]) as tracker:
        results = [{"qa": {"score": i / 7, "passed": i % 2 == 0}} for i in range(30)]
        tracker.log_batch_sync(results, "qa", [{"id": i} for i in range(30)], run_id="old")
        tracker.log_batch_sync(results[:9], "qa", [{"id": i} for i in range(9)], run_id="new")
    return list(memory.get_finished_spans())


def _aged(spans: list[ReadableSpan], old_at: int) -> list[Trace]:
    """Every trace of run ``old`` (results and summaries) moved to ``old_at``."""
    out = []
    for trace in traces(spans):
        run = {
            kv["value"].get("stringValue")
            for span in trace.spans
            for kv in span["attributes"]
            if kv["key"] in ("eval.run_id", "eval.summary.run_id")
        }
        if run == {"old"}:
            shift = old_at * 10**9 - trace.start_ns
            for span in trace.spans:
                for key in ("startTimeUnixNano", "endTimeUnixNano"):
                    span[key] = str(int(span[key]) + shift)
        out.append(trace)
    return out


def _summary_traces(fake: FakeJaeger | FakeTempo) -> set[str]:
    return {t.hex_id for t in fake.stored.values() if t.spans[0]["name"] == SUMMARY_SPAN}


def test_jaeger_history_reads_summary_spans_only_and_equals_the_store(tmp_path: Path) -> None:
    """Over Jaeger's HTTP API the summary search names the span (v2.13 honours that, not the
    attributes), so only summary traces come back; rows equal the store's, and a run 30 days
    old (past the 7-day results lookback) is there."""
    store = tmp_path / "s.db"
    fake = FakeJaeger(_aged(_logged(store), int(time.time()) - 30 * DAY))
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=0, backoff=0)
    adapter = JaegerQueryAdapter("http://jaeger:16686", options=options)
    rows = adapter.history(HistoryFilter("p"))
    assert rows == SQLiteQueryAdapter(store).history(HistoryFilter("p"))
    assert [r["run_id"] for r in rows] == ["new", "old"]
    assert all(r.url.params["query.operation_name"] == SUMMARY_SPAN for r in fake.requests)
    start = min(datetime.fromisoformat(r.url.params["query.start_time_min"]) for r in fake.requests)
    assert datetime.now(UTC) - start > timedelta(days=364)
    assert adapter.run_results("old") == []  # the results are past ``lookback``


def test_tempo_history_fetches_summary_traces_only(tmp_path: Path) -> None:
    """TraceQL selects summary spans; only their traces are fetched; rows equal the store's."""
    store = tmp_path / "s.db"
    fake = FakeTempo(_aged(_logged(store), int(time.time()) - 30 * DAY))
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=0, backoff=0)
    rows = TempoQueryAdapter("http://tempo:3200", options=options).history(HistoryFilter("p"))
    assert rows == SQLiteQueryAdapter(store).history(HistoryFilter("p"))
    searches = [r for r in fake.requests if r.url.path == "/api/search"]
    assert all('span.eval.kind = "run_summary"' in r.url.params["q"] for r in searches)
    fetched = {r.url.path.rsplit("/", 1)[1] for r in fake.requests if "/traces/" in r.url.path}
    assert fetched and fetched <= _summary_traces(fake)


def test_summary_lookback_bounds_history_and_since_widens_it(tmp_path: Path) -> None:
    """A summary older than ``summary_lookback`` is not searched; ``since`` reaches back."""
    store = tmp_path / "s.db"
    fake = FakeJaeger(_aged(_logged(store), int(time.time()) - 400 * DAY))
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=0, backoff=0)
    adapter = JaegerQueryAdapter("http://jaeger:16686", options=options)
    assert [r["run_id"] for r in adapter.history(HistoryFilter("p"))] == ["new"]
    longer = JaegerQueryAdapter(
        "http://jaeger:16686", options=options, summary_lookback=timedelta(days=500)
    )
    assert [r["run_id"] for r in longer.history(HistoryFilter("p"))] == ["new", "old"]
    since = datetime.now(UTC) - timedelta(days=450)
    assert len(adapter.history(HistoryFilter("p", since=since))) == 2


def test_a_year_of_history_is_searched_in_windows_opensearch_accepts(tmp_path: Path) -> None:
    """Jaeger's OpenSearch reader names every daily index of a search's window in one request
    line, which OpenSearch refuses past 4 kB: a year is searched in windows of <= 60 days,
    contiguous, and finds what the whole year holds."""
    store = tmp_path / "s.db"
    fake = FakeJaeger(_aged(_logged(store), int(time.time()) - 300 * DAY))
    options = evaltrace.ClientOptions(transport=fake.transport(), retries=0, backoff=0)
    adapter = JaegerQueryAdapter("http://jaeger:16686", options=options)
    assert [r["run_id"] for r in adapter.history(HistoryFilter("p"))] == ["new", "old"]
    windows = [
        (
            datetime.fromisoformat(r.url.params["query.start_time_min"]),
            datetime.fromisoformat(r.url.params["query.start_time_max"]),
        )
        for r in fake.requests
    ]
    assert len(windows) >= 365 // 60
    assert all(end - start <= timedelta(days=60) for start, end in windows)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(sorted(windows)))
    assert min(w[0] for w in windows) <= datetime.now(UTC) - timedelta(days=364)
