"""Nothing lost through the real collector and Jaeger: seeded processes, a collector killed
mid-run, every result read back exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from evaltrace import IncompleteResultsError, JaegerQueryAdapter, SQLiteQueryAdapter
from evaltrace import OpenTelemetryExperimentTracker as Tracker

from ..support.wait import wait_for
from .conftest import SCRIPTS, Backends

pytestmark = pytest.mark.backends

CHILD = Path(__file__).parents[1] / "support" / "child.py"
OUTAGE_SECONDS = 30


def test_two_seeded_processes_through_the_collector(backends: Backends, tmp_path: Path) -> None:
    """random.seed(42) in two processes: Jaeger holds both runs apart, history reads fine."""
    runs = [f"e2e-seeded-{i}-{uuid.uuid4().hex[:6]}" for i in range(2)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(CHILD),
                str(tmp_path / f"{i}.db"),
                run,
                "seeded",
                "60",
                backends.collector_http,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, run in enumerate(runs)
    ]
    for proc in procs:
        assert proc.wait(timeout=180) == 0, proc.stderr.read() if proc.stderr else ""
    with Tracker("child", query=JaegerQueryAdapter(backends.jaeger_grpc)) as reader:

        def arrived(run: str) -> bool:  # the children's forwarders deliver after they exit
            try:
                return len(reader.get_run_results(run)) == 60
            except IncompleteResultsError:
                return False

        for run in runs:
            wait_for(lambda run=run: arrived(run), 120, f"run {run} in Jaeger")  # type: ignore[misc]
        a, b = (reader.get_run_results(run) for run in runs)
        history = {r["run_id"]: r["num_results"] for r in reader.get_experiment_history()}
    assert len(a) == len(b) == 60
    assert not {r["trace_id"] for r in a} & {r["trace_id"] for r in b}
    assert history[runs[0]] == history[runs[1]] == 60


def _pid(backends: Backends, name: str) -> int:
    return int((backends.run_dir / name / "pid").read_text().strip())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_collector_killed_mid_run_loses_and_duplicates_nothing(
    backends: Backends, tmp_path: Path
) -> None:
    """The collector is killed -9 for 30 s in the middle of a 3,000-result run and restarted by
    the project's script: afterwards Jaeger yields every result exactly once, equal to the store."""
    run_id = f"e2e-outage-{uuid.uuid4().hex[:6]}"
    store = tmp_path / "outage.db"
    tracker = Tracker(
        "e2e",
        store=store,
        otlp_endpoint=backends.collector_grpc,
        otlp_protocol="grpc",
        query=JaegerQueryAdapter(backends.jaeger_grpc),
    )
    logged = threading.Event()

    def pipeline() -> None:
        for k in range(30):
            rows = [{"id": f"{k}-{i}"} for i in range(100)]
            tracker.log_batch_sync(
                [{"f1": {"score": i / 100}} for i in range(100)], "qa", rows, run_id=run_id
            )
            if k == 9:
                logged.set()
        logged.set()

    writer = threading.Thread(target=pipeline)
    writer.start()
    assert logged.wait(timeout=120)
    collector = _pid(backends, "collector")
    os.kill(collector, signal.SIGKILL)
    wait_for(lambda: not _alive(collector), 30, "the collector to die")
    killed_at = time.monotonic()
    writer.join(timeout=300)
    assert not writer.is_alive()
    pending_during_outage = tracker.stats.spans_pending
    while time.monotonic() - killed_at < OUTAGE_SECONDS:  # the outage itself lasts 30 s
        time.sleep(1)
    up = subprocess.run(
        ["bash", str(SCRIPTS / "backends-up.sh")], capture_output=True, text=True, timeout=600
    )
    assert up.returncode == 0, up.stderr[-2000:]
    assert tracker.flush(timeout=180), tracker.stats
    stats = tracker.stats
    rows = tracker.get_run_results(run_id)
    tracker.close()
    stored = SQLiteQueryAdapter(store).run_results(run_id)
    assert len(stored) == 3000 and pending_during_outage > 0
    assert stats.spans_pending == 0 and stats.spans_dropped == {}
    assert [(r["trace_id"], r["span_id"]) for r in rows] == [
        (r["trace_id"], r["span_id"]) for r in stored
    ]
    assert [r["evaluation_result"] for r in rows] == [r["evaluation_result"] for r in stored]
