"""``get_experiment_history`` over 30 runs of 2,000 results against 30 runs of 20, cold.

Nothing is summarised at write time (yet): every call reads each run's results'
``evaluation_result`` and summarises them, so the ratio follows the result count. "Cold":
each sample is a fresh reader-only tracker over the store (a fresh connection, nothing cached
in Python). The issue's target (<= 3x) is for write-time summaries; this row reports the
ratio as it is.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter

from . import _data
from ._report import Row, Sizes
from ._timing import Stopwatch, alternate

__all__ = ["fill_runs", "run"]


def fill_runs(path: Path, name: str, runs: int, per_run: int) -> None:
    """A store holding ``runs`` runs of ``per_run`` results (one ``log_batch_sync`` each)."""
    results, rows = _data.results_and_rows(per_run)
    with OpenTelemetryExperimentTracker("bench", store=path) as tracker:
        for run in range(runs):
            tracker.log_batch_sync(results, "bench-dataset", rows, run_id=f"{name}-{run:03d}")


def _sample(path: Path, runs: int) -> Callable[[], float]:
    def timed() -> float:
        tracker = OpenTelemetryExperimentTracker("bench", query=SQLiteQueryAdapter(path))
        with Stopwatch() as sw:
            got = tracker.get_experiment_history()
        tracker.close()
        assert len(got) == runs, (len(got), runs)
        return sw.seconds

    return timed


def run(sizes: Sizes) -> list[Row]:
    """Row ``history.cold``."""
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    runs = sizes.history_runs
    try:
        big, small = workdir / "big.db", workdir / "small.db"
        fill_runs(big, "big", runs, sizes.history_big)
        fill_runs(small, "small", runs, sizes.history_small)
        reps = max(3, min(sizes.reps, 5))
        cmp = alternate(
            {"small": _sample(small, runs), "big": _sample(big, runs)}, reps, sizes.warmup
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    ratio = cmp.ratio("big", "small")
    return [
        Row(
            id="history.cold",
            group="history",
            name=f"get_experiment_history, cold: {runs} runs x {sizes.history_big:,} results "
            f"vs x {sizes.history_small:,}",
            unit="ms/call",
            value=cmp.median("big") * 1e3,
            baseline_name=f"same call, {runs} runs x {sizes.history_small} results",
            baseline=cmp.median("small") * 1e3,
            ratio=ratio,
            target="(reported; <= 3x needs write-time summaries)",
            met=None,
            n=runs * sizes.history_big,
            reps=reps,
            spread=max(cmp.spread("big"), cmp.spread("small")),
            notes="fresh reader-only tracker per sample; no summary cache exists",
        )
    ]
