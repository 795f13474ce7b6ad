"""The Jaeger benchmark rows run against the real servers and measure what they say."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Backends

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.backends


def test_quick_jaeger_rows_are_measured(backends: Backends, tmp_path: Path) -> None:
    """Read-back over gRPC and HTTP, the collector throughput (arrival, and until readable)
    and history on Jaeger all come back measured (not skipped), with every result read back
    on both sides."""
    out = tmp_path / "results.json"
    env = {
        **os.environ,
        "EVALTRACE_TEST_JAEGER_URL": backends.jaeger_url,
        "EVALTRACE_TEST_JAEGER_GRPC": backends.jaeger_grpc.removeprefix("grpc://"),
        "EVALTRACE_TEST_COLLECTOR_OTLP": backends.collector_grpc,
        "EVALTRACE_BACKENDS_RUN": str(backends.run_dir),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "jaeger", "--out", str(out)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["skipped"] == []
    rows = {row["id"]: row for row in doc["rows"]}
    assert set(rows) == {
        "readback.jaeger.grpc",
        "readback.jaeger.grpc.floor",
        "readback.jaeger.http",
        "throughput.collector_jaeger",
        "throughput.collector_jaeger.readable",
        "throughput.collector_jaeger.cpu",
        "history.jaeger",
    }
    for row in rows.values():
        assert all(math.isfinite(row[k]) and row[k] > 0 for k in ("value", "baseline", "ratio"))
    n = rows["throughput.collector_jaeger"]["n"]
    for row in ("throughput.collector_jaeger", "throughput.collector_jaeger.readable"):
        assert rows[row]["notes"] == f"read back: evaltrace {n}, floor {n}"
    # Every process of the path is charged on both sides (the servers' in /proc clock ticks:
    # a quick run of 200 results may use under one tick of the collector's).
    used = rows["throughput.collector_jaeger.cpu"]["extra"]["us_per_result"]
    for side in ("evaltrace", "floor"):
        assert set(used[side]) == {"client", "collector", "jaeger"}, used
        assert used[side]["client"] > 0 and min(used[side].values()) >= 0, used
    assert rows["readback.jaeger.grpc"]["notes"].startswith(f"results {n}, ")
    assert rows["readback.jaeger.grpc.floor"]["notes"].endswith(f"floor results {n}")
