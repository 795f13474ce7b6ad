"""Row 5a: peak RSS growth while logging 100,000 results into the embedded store (in batches
of 1,000, and in one batch: ``memory.log_batch_whole``, against the batch's JSON size).

Measured in a fresh interpreter (``python -m benchmarks.bench_memory --n ... --batch ...``), so
nothing else this suite did is in the process. The baseline is the peak RSS (``VmHWM``) of the
empty tracker: imports done, tracker and store open, the caller's 1,000 inputs built (they are
reused for every ``log_batch_sync`` call, as a caller's own loop would hold one batch at a
time). The figure is how far the peak rises above that while every result is logged and
flushed.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ._report import Row, Sizes

__all__ = ["run"]

REPO = Path(__file__).resolve().parents[1]
BUDGET_MB = 50.0


def _status_kb(field: str) -> int:
    """``VmHWM``/``VmRSS`` of this process in kB (``ru_maxrss`` where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _child(n: int, batch: int, store: Path) -> dict[str, float]:
    from evaltrace import OpenTelemetryExperimentTracker

    from . import _data

    results, rows = _data.results_and_rows(batch)
    tracker = OpenTelemetryExperimentTracker("bench", store=store)
    baseline = _status_kb("VmHWM")
    for _ in range(0, n, batch):
        tracker.log_batch_sync(results, "bench-dataset", rows, run_id="bench-memory")
    tracker.flush()
    peak = _status_kb("VmHWM")
    logged = tracker.stats.results_logged
    tracker.close()
    rss_end = _status_kb("VmRSS")
    return {
        "baseline_kb": baseline,
        "peak_kb": peak,
        "rss_end_kb": rss_end,
        "results_logged": logged,
        # measured after the peak: the JSON text of one batch as a caller would send it
        "json_kb": (len(json.dumps(results)) + len(json.dumps(rows))) / 1024,
    }


def _measure(n: int, batch: int) -> dict[str, float]:
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    try:
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.bench_memory",
                "--n",
                str(n),
                "--batch",
                str(batch),
                "--store",
                str(workdir / "evaltrace.db"),
            ],
            cwd=REPO,
            check=True,
            capture_output=True,
            text=True,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


WHOLE_BUDGET = 2.0
"""Peak RSS growth of one ``log_batch_sync`` of every result, per byte of the batch's JSON."""


def _whole(sizes: Sizes, reps: int) -> Row:
    """Row ``memory.log_batch_whole``: all ``memory_n`` results in one call (issue 23: a
    1,000,000-row batch peaked at 3.1 GB)."""
    samples = [_measure(sizes.memory_n, sizes.memory_n) for _ in range(reps)]
    growth = statistics.median((s["peak_kb"] - s["baseline_kb"]) / 1024 for s in samples)
    json_mb = statistics.median(s["json_kb"] / 1024 for s in samples)
    ratio = growth / json_mb
    return Row(
        id="memory.log_batch_whole",
        group="memory",
        name=f"peak RSS growth of one log_batch_sync of {sizes.memory_n:,} results",
        unit="MB growth",
        value=growth,
        baseline_name="the batch's JSON (results + data, MB)",
        baseline=json_mb,
        ratio=ratio,
        target=f"growth <= {WHOLE_BUDGET:.0f} x the batch's JSON",
        met=ratio <= WHOLE_BUDGET,
        n=sizes.memory_n,
        reps=reps,
        notes="planned and inserted 4,096 rows at a time inside its one transaction",
        extra={"samples": samples},
    )


def run(sizes: Sizes) -> list[Row]:
    """Rows ``memory.log_batch`` and ``memory.log_batch_whole``: a fresh process each time."""
    reps = max(1, min(sizes.reps, 3))
    # Peak RSS does not depend on CPU contention: the fresh processes may run side by side.
    with ThreadPoolExecutor(max_workers=2) as pool:
        samples = list(
            pool.map(lambda _: _measure(sizes.memory_n, sizes.memory_batch), range(reps))
        )
    growth = statistics.median((s["peak_kb"] - s["baseline_kb"]) / 1024 for s in samples)
    baseline = statistics.median(s["baseline_kb"] / 1024 for s in samples)
    ratio = statistics.median(s["peak_kb"] / s["baseline_kb"] for s in samples)
    return [
        Row(
            id="memory.log_batch",
            group="memory",
            name=f"peak RSS growth logging {sizes.memory_n:,} results "
            f"(log_batch_sync x {sizes.memory_batch:,}) into the store",
            unit="MB growth",
            value=growth,
            baseline_name="VmHWM of the empty tracker (MB), same process",
            baseline=baseline,
            ratio=ratio,
            target=f"growth < {BUDGET_MB:.0f} MB",
            met=growth < BUDGET_MB,
            n=sizes.memory_n,
            reps=reps,
            notes="ratio = peak / empty-tracker peak; "
            f"results logged {samples[0]['results_logged']}, "
            f"RSS at end {statistics.median(s['rss_end_kb'] for s in samples) / 1024:.0f} MB",
            extra={"samples": samples},
        ),
        _whole(sizes, 1),
    ]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="memory child: log, print VmHWM as JSON")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps(_child(args.n, args.batch, args.store)))
