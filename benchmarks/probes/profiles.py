"""cProfile of the paths this pass profiled: the log path, the streaming read, cold history.

    python -m benchmarks.probes.profiles log [--n 3000]        # log() into a store + exporter
    python -m benchmarks.probes.profiles log_batch [--n 3000]  # log_batch_sync of 100 rows
    python -m benchmarks.probes.profiles stream [--n 50000]    # iter_run_results of a run
    python -m benchmarks.probes.profiles history               # 30 runs x 2,000, cold

Prints the plain wall time of one pass, then the profile of another (by internal time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter

from .. import _data
from ..bench_history import fill_runs
from ..bench_readback import RUN_ID, fill


def _work(path: str, n: int, workdir: Path) -> Callable[[], object]:
    """A fresh workload callable (set-up done, untimed)."""
    store = workdir / f"{time.monotonic_ns()}.db"
    if path in ("log", "log_batch"):
        results, rows = _data.results_and_rows(n)
        tracker = OpenTelemetryExperimentTracker(
            "bench", store=store, exporters=[InMemorySpanExporter()]
        )
        if path == "log":
            return lambda: [tracker.log(r, "ds", d) for r, d in zip(results, rows, strict=True)]
        return lambda: [
            tracker.log_batch_sync(results[i : i + 100], "ds", rows[i : i + 100])
            for i in range(0, n, 100)
        ]
    if path == "stream":
        with OpenTelemetryExperimentTracker("bench", store=store) as tracker:
            fill(tracker, n)
        adapter = SQLiteQueryAdapter(store)
        return lambda: sum(1 for _ in adapter.iter_run_results(RUN_ID))
    fill_runs(store, "big", 30, n)
    reader = OpenTelemetryExperimentTracker("bench", query=SQLiteQueryAdapter(store))
    return reader.get_experiment_history


def main(argv: list[str] | None = None) -> None:
    """Time one pass, profile another."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.probes.profiles", description=__doc__
    )
    parser.add_argument("path", choices=("log", "log_batch", "stream", "history"))
    parser.add_argument("--n", type=int, default=None)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    n = args.n or {"stream": 50_000, "history": 2_000}.get(args.path, 3_000)
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-profile-"))
    try:
        work = _work(args.path, n, workdir)
        start = time.perf_counter()
        work()
        print(f"plain: {time.perf_counter() - start:.3f} s")
        work = _work(args.path, n, workdir) if args.path in ("log", "log_batch") else work
        profile = cProfile.Profile()
        profile.enable()
        work()
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
