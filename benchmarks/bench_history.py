"""Row 5b: ``get_experiment_history`` over 50 runs of 2,000 results against 50 runs of 20.

The store caches one summary per run (valid while the run has not grown), so a warm call
should cost per run, not per result: warm ratio ~ 1. A cold call (summaries cleared with one
``UPDATE`` before each sample, outside the timing) has to read every result once, so its ratio
follows the result count; it is reported, not targeted.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from evaltrace import OpenTelemetryExperimentTracker

from . import _data
from ._report import Row, Sizes
from ._timing import Stopwatch, alternate

__all__ = ["run"]


class _Store:
    """A store holding ``runs`` runs of ``per_run`` results, and the tracker that wrote it."""

    def __init__(self, workdir: Path, name: str, runs: int, per_run: int) -> None:
        self.path = workdir / f"{name}.db"
        self.tracker = OpenTelemetryExperimentTracker("bench", store=self.path)
        results, rows = _data.results_and_rows(per_run)
        for run in range(runs):
            self.tracker.log_batch_sync(results, "bench-dataset", rows, run_id=f"{name}-{run:03d}")
        self.tracker.flush()
        self.runs = runs

    def clear_summaries(self) -> None:
        with sqlite3.connect(self.path) as conn:
            conn.execute("UPDATE runs SET summary = NULL, summary_count = 0")

    def sample(self, cold: bool) -> Callable[[], float]:
        def timed() -> float:
            if cold:
                self.clear_summaries()
            else:
                self.tracker.get_experiment_history()  # make sure every summary is cached
            with Stopwatch() as sw:
                runs = self.tracker.get_experiment_history()
            assert len(runs) == self.runs, (len(runs), self.runs)
            return sw.seconds

        return timed


def run(sizes: Sizes) -> list[Row]:
    """Rows ``history.cold`` and ``history.warm``."""
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    big = _Store(workdir, "big", sizes.history_runs, sizes.history_big)
    small = _Store(workdir, "small", sizes.history_runs, sizes.history_small)
    rows: list[Row] = []
    try:
        for mode in ("cold", "warm"):
            # A cold call reads every result (seconds at full size): fewer reps, no warm-up.
            reps = min(sizes.reps, 3) if mode == "cold" else sizes.reps
            cmp = alternate(
                {"small": small.sample(mode == "cold"), "big": big.sample(mode == "cold")},
                reps,
                0 if mode == "cold" else sizes.warmup,
            )
            ratio = cmp.ratio("big", "small")
            rows.append(
                Row(
                    id=f"history.{mode}",
                    group="memory",
                    name=f"get_experiment_history, {mode}: {sizes.history_runs} runs x "
                    f"{sizes.history_big:,} results vs x {sizes.history_small:,}",
                    unit="ms/call",
                    value=cmp.median("big") * 1e3,
                    baseline_name=f"same call, {sizes.history_runs} runs x "
                    f"{sizes.history_small} results",
                    baseline=cmp.median("small") * 1e3,
                    ratio=ratio,
                    target="ratio ~ 1 (<= 1.5)" if mode == "warm" else "(follows results)",
                    met=ratio <= 1.5 if mode == "warm" else None,
                    n=sizes.history_runs * sizes.history_big,
                    reps=reps,
                    spread=max(cmp.spread("big"), cmp.spread("small")),
                    notes="summaries cleared before each cold sample"
                    if mode == "cold"
                    else "second call: cached per-run summaries",
                )
            )
    finally:
        big.tracker.close()
        small.tracker.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return rows
