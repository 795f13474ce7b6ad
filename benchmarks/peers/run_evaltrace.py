"""evaltrace under the same protocol as the peers (run with the project venv).

``log_batch``: ``await tracker.log_batch(...)`` in chunks of 100, like the gllm-evals trackers.
``log``: one ``tracker.log(...)`` per result, like MLflow's one step per result.
Both into the embedded store (a fresh file), timed up to and including the final flush.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _runner import CHUNK, DATASET, Clock, main, results_and_rows

from evaltrace import OpenTelemetryExperimentTracker


def _facts(workdir: Path) -> dict[str, Any]:
    """Results stored, and bytes on disk (the database and its write-ahead log)."""
    with sqlite3.connect(workdir / "evaltrace.db") as conn:
        stored = conn.execute("SELECT count(*) FROM results").fetchone()
    files = workdir.glob("evaltrace.db*")
    return {"stored": stored[0], "bytes_on_disk": sum(p.stat().st_size for p in files)}


def log_batch(n: int, workdir: Path, clock: Clock) -> Callable[[], dict[str, Any]]:
    """Chunks of 100 through the async ``log_batch``."""
    results, rows = results_and_rows(n)
    tracker = OpenTelemetryExperimentTracker("bench", store=workdir / "evaltrace.db")

    async def batches() -> None:
        for start in range(0, n, CHUNK):
            await tracker.log_batch(
                results[start : start + CHUNK],
                DATASET,
                rows[start : start + CHUNK],
                run_id="bench-run",
            )
            clock.mark()

    def work() -> dict[str, Any]:
        asyncio.run(batches())
        tracker.flush()
        return {"after": lambda: _facts(workdir)}

    return work


def log(n: int, workdir: Path, clock: Clock) -> Callable[[], dict[str, Any]]:
    """One ``log()`` per result."""
    results, rows = results_and_rows(n)
    tracker = OpenTelemetryExperimentTracker("bench", store=workdir / "evaltrace.db")

    def work() -> dict[str, Any]:
        for i, (result, row) in enumerate(zip(results, rows, strict=True)):
            tracker.log(result, DATASET, row, run_id="bench-run")
            if (i + 1) % CHUNK == 0:
                clock.mark()
        tracker.flush()
        return {"after": lambda: _facts(workdir)}

    return work


if __name__ == "__main__":
    main({"log_batch": log_batch, "log": log})
