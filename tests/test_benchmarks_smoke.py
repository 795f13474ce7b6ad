"""Smoke test of the benchmark suite: ``python -m benchmarks --quick`` runs and reports every row.

No timing is asserted: the machine is noisy and the figures are for ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
PEER_PYTHON = REPO / "benchmarks" / ".venv-peers" / "bin" / "python"
LOCAL_GROUPS = "log,store,readback,memory,history,wire,scale,peers"
"""Every group but ``jaeger``, which tests/backends/test_bench_jaeger.py runs with its servers."""
QUICK_ROWS = {
    "log.floor",
    "log.bare_span",
    "store.bytes.log_batch",
    "store.bytes.log",
    "stream.iter_run_results",
    "stream.rss",
    "readback.get_run_results",
    "memory.log_batch",
    "memory.log_batch_whole",
    "history.cold",
    "wire.log",
    "wire.log_batch",
    "scale.compare",
    "scale.compare.rss",
    "scale.run_page",
    "scale.sample_page",
    "scale.compare_page",
    "scale.index_during_compare",
}


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The results document of one ``--quick`` run, written to a temp file."""
    out = tmp_path_factory.mktemp("bench") / "results.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", LOCAL_GROUPS, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        # its own fixture cache: never the one a `make bench` beside it is building
        env={**os.environ, "EVALTRACE_BENCH_CACHE": str(out.parent / "cache")},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "ratio" in proc.stdout  # the table was printed
    return dict(json.loads(out.read_text()))


def test_quick_run_has_every_row_with_a_numeric_ratio(quick: dict[str, Any]) -> None:
    """Every measured row of --quick carries finite numbers, and all expected rows are there."""
    ids = [row["id"] for row in quick["rows"]]
    assert len(ids) == len(set(ids))
    assert set(ids) >= QUICK_ROWS
    assert any(i.startswith("log_batch[") for i in ids)
    for row in quick["rows"]:
        for key in ("value", "baseline", "ratio"):
            assert isinstance(row[key], int | float) and not isinstance(row[key], bool), row
            assert math.isfinite(row[key]), row
        assert row["unit"] and row["target"] and row["baseline_name"]
        assert row["met"] in (True, False, None)


def test_quick_run_leaves_peers_out(quick: dict[str, Any]) -> None:
    """Peer rows are not part of --quick (they have their own runner tests below)."""
    assert not [r for r in quick["rows"] if r["group"] == "peers"]
    assert quick["meta"]["quick"] is True


def test_quick_run_reports_the_unselected_jaeger_rows(quick: dict[str, Any]) -> None:
    """The jaeger rows are listed as not measured when their group is not selected."""
    skipped = {s["id"]: s["reason"] for s in quick["skipped"]}
    assert "not measured in this pass" in skipped["throughput.collector_jaeger"]


def _runner(python: Path, script: str, variant: str, workdir: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [
            str(python),
            str(REPO / "benchmarks" / "peers" / script),
            "--variant",
            variant,
            "--n",
            "200",
            "--workdir",
            str(workdir),
        ],
        cwd=workdir.parent,
        capture_output=True,
        text=True,
        timeout=600,
        env={"DEEPEVAL_TELEMETRY_OPT_OUT": "YES", "PATH": "/usr/bin:/bin", "HOME": str(workdir)},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_evaltrace_runner_speaks_the_peer_protocol(tmp_path: Path) -> None:
    """The evaltrace runner used against the peers reports seconds and per-chunk times."""
    for variant in ("log_batch", "log"):
        out = _runner(Path(sys.executable), "run_evaltrace.py", variant, tmp_path / variant)
        assert out["n"] == 200 and out["seconds"] > 0
        assert len(out["chunk_seconds"]) == 2


@pytest.mark.peers
@pytest.mark.skipif(
    not PEER_PYTHON.exists(), reason="no peer venv: make peers (make bench runs these)"
)
@pytest.mark.parametrize(
    ("script", "variant"),
    [
        ("run_gllm_evals.py", "csv"),
        ("run_gllm_evals.py", "json"),
        ("run_mlflow.py", "metrics"),
        ("run_mlflow.py", "tracing"),
    ],
)
def test_peer_runners_speak_the_protocol(tmp_path: Path, script: str, variant: str) -> None:
    """Each peer runner reports seconds per chunk, and MLflow's artifacts stay in its workdir."""
    out = _runner(PEER_PYTHON, script, variant, tmp_path / "run")
    assert out["n"] == 200 and out["seconds"] > 0 and len(out["chunk_seconds"]) == 2
    assert not (tmp_path / "mlruns").exists()


def test_read_floor_reads_what_evaltrace_reads(tmp_path: Path) -> None:
    """``benchmarks/_read_floor`` spells evaltrace's names and record positions itself: they
    still match the schema, and on the benchmark's run its least reader returns exactly the
    results ``get_run_results`` does (else the floor row would time a different job)."""
    from benchmarks import _read_floor
    from benchmarks.bench_readback import fill
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from evaltrace import OpenTelemetryExperimentTracker, schema
    from evaltrace.query._jaeger_grpc import _ReadTracesData

    from .test_roundtrip import same

    assert _read_floor.READ_KEYS == schema.RECORD_READ_KEYS
    for name, position in _read_floor.RECORD_ITEMS.items():
        assert schema.RECORD_FIELDS[position] == name
    assert schema.RECORD_FIELDS[7:9] == ("project", "dataset")
    memory = InMemorySpanExporter()
    with OpenTelemetryExperimentTracker(
        "bench", store=tmp_path / "s.db", exporters=[memory]
    ) as tracker:
        fill(tracker, 1_200, run_id="floor", chunk=500)
        stored = tracker.get_run_results("floor")
    answer = _ReadTracesData.FromString(
        encode_spans(memory.get_finished_spans()).SerializeToString()
    )
    floor = _read_floor.decode([answer])
    assert len(floor) == len(stored) == 1_200
    by_span = {result["span_id"]: result for result in floor}
    assert all(same(by_span[result["span_id"]], result) for result in stored)


def test_procs_charge_cpu_to_the_process_that_burned_it() -> None:
    """``cpu_seconds`` of this process grows with work this process does; ``listens`` finds
    the process of a listening port, and only for that port; a pid file of a process that
    does not listen on the benchmark's address is not believed."""
    from benchmarks import _procs

    me = {"me": os.getpid()}
    before = _procs.cpu_seconds(me)["me"]
    tick = 1 / os.sysconf("SC_CLK_TCK")
    start = time.process_time()
    while time.process_time() - start < 5 * tick:  # burn five clock ticks
        sum(range(10_000))
    assert _procs.cpu_seconds(me)["me"] - before >= 3 * tick
    with socket.socket() as server, socket.socket() as other:
        server.bind(("127.0.0.1", 0))
        server.listen()
        other.bind(("127.0.0.1", 0))  # bound, not listening
        port, unused = server.getsockname()[1], other.getsockname()[1]
        assert _procs.listens(os.getpid(), port)
        assert not _procs.listens(os.getpid(), unused)
        assert not _procs.listens(1, port)


def test_backend_pids_believe_only_a_listening_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pid file names the server only when that process listens on the address sent to."""
    from benchmarks import _procs

    monkeypatch.setenv("EVALTRACE_BACKENDS_RUN", str(tmp_path))
    assert "no collector pid file" in str(_procs.backend_pids("http://127.0.0.1:1", "127.0.0.1:2"))
    for name in ("collector", "jaeger"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pid").write_text(f"{os.getpid()}\n")
    with socket.socket() as a, socket.socket() as b:
        for s in (a, b):
            s.bind(("127.0.0.1", 0))
            s.listen()
        pa, pb = a.getsockname()[1], b.getsockname()[1]
        got = _procs.backend_pids(f"http://127.0.0.1:{pa}", f"127.0.0.1:{pb}")
        assert got == {"collector": os.getpid(), "jaeger": os.getpid()}
        wrong = _procs.backend_pids(f"http://127.0.0.1:{pa}", "127.0.0.1:1")
        pid_file = tmp_path / "jaeger" / "pid"
        assert wrong == f"jaeger pid {os.getpid()} ({pid_file}) does not listen on 127.0.0.1:1"
