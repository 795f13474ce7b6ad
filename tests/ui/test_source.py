"""The UI's source: any query adapter, every project, and a bounded run cache."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import InMemoryQueryAdapter, OpenTelemetryExperimentTracker, SQLiteQueryAdapter
from evaltrace.query import HistoryFilter, ResultRecord, RunCompleteness
from evaltrace.ui import Source, open_source
from evaltrace.ui._source import CACHED_RUNS, TTL


class CountingAdapter(InMemoryQueryAdapter):
    """Counts run reads, to see the cache at work."""

    reads = 0

    def read_run(self, run_id: str) -> tuple[list[ResultRecord], RunCompleteness | None]:
        self.reads += 1
        return super().read_run(run_id)


def logged(exporter: InMemorySpanExporter) -> None:
    """Two projects, one run each, plus runs r0..r4 in the first."""
    p1 = OpenTelemetryExperimentTracker("p1", store=False, exporters=[exporter])
    p2 = OpenTelemetryExperimentTracker("p2", store=False, exporters=[exporter])
    for tracker, run_ids in ((p1, ["a", *(f"r{i}" for i in range(5))]), (p2, ["b"])):
        for run_id in run_ids:
            tracker.log({"m": {"score": 1.0}}, "d", {"id": "x"}, run_id=run_id)
    p1.flush(), p2.flush()  # both exported before either closes (closing shuts the exporter)
    p1.close(), p2.close()


def test_history_spans_every_project_through_a_search_adapter() -> None:
    """A reader-less source (as for Jaeger or Tempo) lists the runs of every project."""
    exporter = InMemorySpanExporter()
    logged(exporter)
    source = Source(InMemoryQueryAdapter(exporter), "memory")
    runs = source.history(HistoryFilter())
    assert {r["project_name"] for r in runs} == {"p1", "p2"} and len(runs) == 7


def test_remote_history_is_reused_for_its_ttl() -> None:
    """A source with history_ttl answers the same filter from memory until it expires."""
    exporter = InMemorySpanExporter()
    logged(exporter)
    now = [0.0]
    source = Source(InMemoryQueryAdapter(exporter), "memory", history_ttl=30, clock=lambda: now[0])
    first = source.history(HistoryFilter())
    assert source.history(HistoryFilter()) is first
    now[0] = 31
    assert source.history(HistoryFilter()) is not first


def test_run_results_are_cached_for_ttl_and_bounded() -> None:
    """A run is read once per TTL; at most CACHED_RUNS runs are kept."""
    exporter = InMemorySpanExporter()
    logged(exporter)
    now = [0.0]
    adapter = CountingAdapter(exporter)
    source = Source(adapter, "memory", clock=lambda: now[0])
    assert source.table("a") is not None and source.table("a") is not None
    assert adapter.reads == 1
    now[0] = TTL + 1
    source.results("a")
    assert adapter.reads == 2
    for i in range(5):
        source.results(f"r{i}")
    assert len(source._cache) == CACHED_RUNS
    assert source.table("missing") is None


def test_open_source_names_the_backend(tmp_path: object) -> None:
    """The header label says which backend pages read from."""
    path = f"{tmp_path}/e.db"
    with OpenTelemetryExperimentTracker("p", store=path) as t:
        t.log({"m": 1.0}, "d", {"id": "x"}, run_id="r")
    source = open_source(store=path)
    assert isinstance(source.adapter, SQLiteQueryAdapter) and source.label.endswith(path)
    source.close()
    assert open_source(jaeger="grpc://127.0.0.1:1").label == "Jaeger grpc://127.0.0.1:1"
    assert open_source(tempo="http://127.0.0.1:1").label == "Tempo http://127.0.0.1:1"


class GatedAdapter(CountingAdapter):
    """Holds the read of run ``a`` until ``gate`` is set, as a 450k-result read does."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        super().__init__(exporter)
        self.gate = threading.Event()
        self.reading = threading.Event()

    def read_run(self, run_id: str) -> tuple[list[ResultRecord], RunCompleteness | None]:
        if run_id == "a":
            self.reading.set()
            assert self.gate.wait(30), "the gate was never opened"
        return super().read_run(run_id)


def test_a_long_run_read_blocks_no_other_page() -> None:
    """While run a is read, history and another run are answered; a second request for run a
    waits for the first read instead of reading again."""
    exporter = InMemorySpanExporter()
    logged(exporter)
    adapter = GatedAdapter(exporter)
    source = Source(adapter, "memory")
    pool = ThreadPoolExecutor(4)
    try:
        first = pool.submit(source.table, "a")
        assert adapter.reading.wait(30)
        second = pool.submit(source.table, "a")
        others = pool.submit(lambda: (source.history(HistoryFilter()), source.results("r1")))
        runs, results = others.result(timeout=10)  # before the gate opens
        assert not first.done() and len(runs) == 7 and len(results) == 1
        adapter.gate.set()
        assert first.result(timeout=30) is second.result(timeout=30)
        assert adapter.reads == 2  # a once, r1 once
    finally:
        adapter.gate.set()
        pool.shutdown()
