"""Store bytes per result against the result's JSON-lines export.

A 20,000-result run of the demo-like results (``_data``) is logged into a fresh store, by
``log_batch_sync`` in calls of 1,000 and, separately, by one ``log()`` per result; the tracker
is closed (the WAL is checkpointed into the file and removed) and the file's size is divided
by the results. Baseline: the mean length in bytes of the run's ``evaltrace export --format
jsonl`` lines (each result dict exactly as ``get_run_results`` returns it). Sizes are
deterministic: one measurement.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter
from evaltrace._cli_format import export_lines

from . import _data
from ._report import Row, Sizes
from .bench_readback import fill

__all__ = ["run"]

TARGET = 1.5


def _measure(n: int, batch: bool) -> tuple[float, float, int]:
    """Store bytes per result, export bytes per result, results read back."""
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    path = workdir / "evaltrace.db"
    try:
        with OpenTelemetryExperimentTracker("bench", store=path) as tracker:
            if batch:
                fill(tracker, n, "bench-store")
            else:
                results, rows = _data.results_and_rows(n)
                for result, row in zip(results, rows, strict=True):
                    tracker.log(result, "bench-dataset", row, run_id="bench-store")
        leftovers = [p.name for p in workdir.iterdir() if p.name != path.name]
        assert not leftovers, leftovers  # closed: no -wal / -shm beside the file
        size = path.stat().st_size
        reader = SQLiteQueryAdapter(path)
        got = reader.run_results("bench-store")
        reader.close()
        export = sum(len(line.encode()) - 1 for line in export_lines(got, "jsonl"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return size / n, export / n, len(got)


def run(sizes: Sizes) -> list[Row]:
    """Rows ``store.bytes.log_batch`` and ``store.bytes.log``."""
    n = sizes.store_n
    out: list[Row] = []
    for batch in (True, False):
        per_result, export, count = _measure(n, batch)
        ratio = per_result / export
        out.append(
            Row(
                id="store.bytes." + ("log_batch" if batch else "log"),
                group="store",
                name=f"store file bytes per result, {n:,} results by "
                + ("log_batch_sync x 1,000" if batch else "log()"),
                unit="bytes/result",
                value=per_result,
                baseline_name="export --format jsonl line length (bytes, without the newline)",
                baseline=export,
                ratio=ratio,
                target=f"ratio <= {TARGET}",
                met=ratio <= TARGET,
                n=n,
                reps=1,
                notes=f"file after close (WAL checkpointed); {count} results read back; "
                "deterministic sizes",
            )
        )
    return out
