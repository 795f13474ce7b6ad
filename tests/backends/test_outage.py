"""The collector's persistent queue: a Jaeger outage loses no result (runs after test_jaeger)."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid

import pytest

from evaltrace import JaegerQueryAdapter
from evaltrace import OpenTelemetryExperimentTracker as Tracker

from ..support.wait import wait_for
from .conftest import SCRIPTS, Backends

pytestmark = pytest.mark.backends


def test_results_logged_while_jaeger_is_down_arrive_after_restart(backends: Backends) -> None:
    """Stop Jaeger, log through the collector, restart Jaeger: every result is there, exact."""
    pid_file = backends.run_dir / "jaeger" / "pid"
    pid = int(pid_file.read_text().strip())
    os.kill(pid, signal.SIGTERM)

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(gone, 30, "Jaeger to stop")
    run_id = f"e2e-outage-{uuid.uuid4().hex[:8]}"
    results = [{"judge": {"score": i / 100, "success": i % 2 == 0}} for i in range(200)]
    with Tracker(
        "e2e",
        store=False,
        otlp_endpoint=backends.collector_http,
        otlp_protocol="http/protobuf",
        query=JaegerQueryAdapter(backends.jaeger_grpc),
    ) as tracker:
        tracker.log_batch_sync(results, "outage", [{"id": i} for i in range(200)], run_id=run_id)
        tracker.flush()  # accepted by the collector while Jaeger is down
        started = subprocess.run(
            ["bash", str(SCRIPTS / "backends-up.sh")], capture_output=True, text=True, timeout=600
        )
        assert started.returncode == 0, started.stderr[-2000:]
        rows = tracker.get_run_results(run_id)  # waits for the collector's retry
    assert [r["evaluation_result"] for r in rows] == results
