"""Jaeger v2 on a 3-node OpenSearch cluster, through the collector, read back with the public
API only: a 30,000-result run comes back complete and exact, also after every server was
stopped and started again by the project's scripts, and with one OpenSearch node killed."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import evaltrace

from .conftest import Backends, lib_value, script

pytestmark = pytest.mark.backends

PROJECT = f"e2e-os-{uuid.uuid4().hex[:8]}"  # history of this session's runs only
N = 30_000
OPENSEARCH = "http://127.0.0.1:9200"  # node-0; node-1 is :9201, node-2 :9202


@dataclass(frozen=True)
class Run:
    run_id: str
    results: list[dict[str, Any]]
    write_s: float
    read_s: float


def _results(n: int, tag: str) -> list[dict[str, Any]]:
    """Every kind of value the schema keeps exact: ints, doubles, bools, None, unicode."""
    return [
        {
            "judge": {"score": i % 5, "success": i % 3 == 0, "explanation": f"{tag} é🚀 {i}"},
            "f1": i / n,
            "none": None,
        }
        for i in range(n)
    ]


def _tracker(backends: Backends, **adapter: Any) -> evaltrace.OpenTelemetryExperimentTracker:
    return evaltrace.OpenTelemetryExperimentTracker(
        PROJECT,
        store=False,
        otlp_endpoint=backends.collector_grpc,
        otlp_protocol="grpc",
        query=evaltrace.JaegerQueryAdapter(backends.jaeger_grpc, **adapter),
    )


def _log(backends: Backends, n: int, tag: str) -> Run:
    """Log a run through the collector and read it back with the same tracker, which waits
    until OpenSearch holds all of it (indexing 30,000 spans takes a while on 2 cores)."""
    results = _results(n, tag)
    with _tracker(backends) as tracker:
        start = time.monotonic()
        run_id = tracker.log_batch_sync(
            results,
            "os",
            [{"id": f"{tag}{i}", "q": "x" * 100} for i in range(n)],
            run_id=f"{PROJECT}-{tag}",
            metadata={"model": tag},
        )
        tracker.flush()
        written = time.monotonic()
        rows = tracker.get_run_results(run_id)
        read = time.monotonic()
    assert [r["evaluation_result"] for r in rows] == results
    return Run(run_id, results, written - start, read - written)


def _read(backends: Backends, run: Run) -> list[dict[str, Any]]:
    """A fresh reader (it logged nothing, so it cannot wait for anything): what is stored."""
    with _tracker(backends) as reader:
        return [r["evaluation_result"] for r in reader.get_run_results(run.run_id)]


@pytest.fixture(scope="module", autouse=True)
def _patient_reads() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EVALTRACE_READ_TIMEOUT", "300")
        yield


@pytest.fixture(scope="module")
def run_a(opensearch: Backends) -> Run:
    return _log(opensearch, N, "a")


def _health() -> dict[str, Any]:
    for port in (9200, 9201, 9202):
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/_cluster/health", timeout=5)
            return dict(answer.json())
        except httpx.HTTPError:
            continue
    raise AssertionError("no OpenSearch node answers")


def test_cluster_has_three_nodes_and_no_security_plugin(opensearch: Backends) -> None:
    """Plain http, three nodes, and the span indices keep one replica (any node can go)."""
    health = _health()
    assert health["number_of_nodes"] == 3 and health["status"] in ("green", "yellow")
    assert httpx.get(f"{OPENSEARCH}/_cat/plugins?format=json", timeout=10).json() == []


def test_thirty_thousand_results_read_back_complete_and_exact(
    opensearch: Backends, run_a: Run
) -> None:
    """30,000 results (60 traces of 501 spans) through the collector into OpenSearch-backed
    Jaeger: a fresh reader gets every one, in order, exactly as logged."""
    start = time.monotonic()
    assert _read(opensearch, run_a) == run_a.results
    cold_read_s = time.monotonic() - start
    print(  # shown with -s / -rP: the figures docs/backends.md quotes
        f"30k run: written to the collector in {run_a.write_s:.1f} s, complete in Jaeger "
        f"{run_a.read_s:.1f} s later ({N / (run_a.write_s + run_a.read_s):.0f} results/s end to "
        f"end); a fresh reader reads it in {cold_read_s:.1f} s"
    )
    indices = httpx.get(f"{OPENSEARCH}/_cat/indices/*-jaeger-span-*?format=json", timeout=10)
    assert {i["rep"] for i in indices.json()} == {"1"}


def test_search_depth_below_the_trace_count_pages_to_completeness(
    opensearch: Backends, run_a: Run
) -> None:
    """Searches capped at 25 traces (the run has 60) split the time window until complete.
    (A one-hour lookback: each full search is discarded and costs a whole fetch of 25 traces
    of 501 spans, and halving the default 7 days down to the run's seconds takes ~16 of them.)"""
    adapter = evaltrace.JaegerQueryAdapter(
        opensearch.jaeger_grpc, search_depth=25, lookback=timedelta(hours=1)
    )
    with evaltrace.OpenTelemetryExperimentTracker(PROJECT, store=False, query=adapter) as reader:
        rows = reader.get_run_results(run_a.run_id)
    assert [r["evaluation_result"] for r in rows] == run_a.results
    assert adapter.searches > 1


def test_complete_after_every_server_restarts(opensearch: Backends, run_a: Run) -> None:
    """backends-down.sh stops the collector, Jaeger and all three nodes (keeping the data);
    backends-up.sh STORAGE=opensearch starts them again: the run is all there."""
    script("backends-down.sh", timeout=300)
    pid_files = [opensearch.run_dir / "collector" / "pid", opensearch.run_dir / "jaeger" / "pid"]
    pid_files += [Path(lib_value("OPENSEARCH_DIR")) / f"node-{i}" / "pid" for i in range(3)]
    assert not any(p.exists() for p in pid_files)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{OPENSEARCH}/_cluster/health", timeout=2)
    script("backends-up.sh", storage="opensearch")
    assert _read(opensearch, run_a) == run_a.results


def test_one_node_killed_a_new_run_is_written_and_both_read_back(
    opensearch: Backends, run_a: Run
) -> None:
    """kill -9 of node-0 (the first URL Jaeger knows, and the first cluster manager): a new
    run is written and read back, the old one is still complete, history counts both."""
    pid_file = Path(lib_value("OPENSEARCH_DIR")) / "node-0" / "pid"
    os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
    try:
        deadline = time.monotonic() + 120
        while _health()["number_of_nodes"] != 2:  # the survivors notice
            assert time.monotonic() < deadline, "the cluster still counts 3 nodes after 120 s"
            time.sleep(0.5)
        run_b = _log(opensearch, 10_000, "b")
        assert _read(opensearch, run_a) == run_a.results
        assert _read(opensearch, run_b) == run_b.results
        with _tracker(opensearch) as reader:
            history = reader.get_experiment_history()
        counts = {run["run_id"]: run["num_results"] for run in history}
        assert counts == {run_a.run_id: N, run_b.run_id: 10_000}
        assert [run["run_id"] for run in history] == [run_b.run_id, run_a.run_id]  # newest first
        assert [run["metadata"] for run in history] == [{"model": "b"}, {"model": "a"}]
    finally:
        script("opensearch-up.sh")  # node-0 back, 3 nodes again
