"""Rows 1 and 2: ``log()`` and ``log_batch`` per result against the bare-SDK floor.

Both sides emit the same spans (captured from evaltrace, replayed by the floor) through a
provider and ``BatchSpanProcessor`` built the same way, into the same exporter class, and both
timed sections end with a force-flush so queued export work is counted. Each sample gets a
fresh tracker / provider and, for the store, a fresh database file.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from evaltrace import OpenTelemetryExperimentTracker

from . import _data, _floor
from ._report import Row, Sizes
from ._timing import Stopwatch, alternate

__all__ = ["run"]

Logger = Callable[[OpenTelemetryExperimentTracker], None]
EXPORTERS = {"discard": "discarding exporter", "sqlite": "embedded store"}


def _log_each(results: list[Any], rows: list[Any]) -> Logger:
    def log(tracker: OpenTelemetryExperimentTracker) -> None:
        for result, row in zip(results, rows, strict=True):
            tracker.log(result, _floor.DATASET, row)

    return log


def _log_batches(results: list[Any], rows: list[Any], size: int) -> Logger:
    async def batches(tracker: OpenTelemetryExperimentTracker) -> None:
        for start in range(0, len(results), size):
            await tracker.log_batch(
                results[start : start + size], _floor.DATASET, rows[start : start + size]
            )

    def log(tracker: OpenTelemetryExperimentTracker) -> None:
        asyncio.run(batches(tracker))

    return log


def _exported(exporter: Any) -> int:
    return int(getattr(exporter, "spans", getattr(exporter, "spans_written", 0)))


def _compare(kind: str, log: Logger, n: int, reps: int, warmup: int) -> dict[str, Any]:
    """Per-result seconds of evaltrace and its floor, alternating; exported span counts."""
    floor_spans = _floor.capture(log)
    counts: dict[str, int] = {}

    def evaltrace_side() -> float:
        workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
        tracker, exporter = _floor.make_tracker(kind, workdir)
        try:
            with Stopwatch() as sw:
                log(tracker)
                tracker.flush()
            counts["evaltrace"] = _exported(exporter)
        finally:
            tracker.close()
            shutil.rmtree(workdir, ignore_errors=True)
        return sw.seconds

    def floor_side() -> float:
        workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
        exporter = _floor.make_exporter(kind, workdir)
        pipeline = _floor.floor_pipeline(exporter)
        try:
            with Stopwatch() as sw:
                _floor.replay(pipeline, floor_spans)
            counts["floor"] = _exported(exporter)
        finally:
            pipeline.shutdown()
            shutil.rmtree(workdir, ignore_errors=True)
        return sw.seconds

    # Floor first so that in round one the floor pays any first-touch cost, not evaltrace.
    cmp = alternate({"floor": floor_side, "evaltrace": evaltrace_side}, reps, warmup)
    return {
        "value": cmp.median("evaltrace") / n * 1e6,
        "baseline": cmp.median("floor") / n * 1e6,
        "ratio": cmp.ratio("evaltrace", "floor"),
        "spread": max(cmp.spread("evaltrace"), cmp.spread("floor")),
        "spans": counts,
    }


def run(sizes: Sizes) -> list[Row]:
    """Rows ``log.*`` and ``log_batch.*``: discard exporter and embedded store."""
    rows: list[Row] = []
    cases: list[tuple[str, str, int, Callable[[list[Any], list[Any]], Logger]]] = [
        ("log", "log() per result", sizes.log_n, _log_each),
    ]
    for batch in sizes.batch_sizes:
        n = max(batch, sizes.batch_n)
        cases.append(
            (
                f"log_batch[{batch}]",
                f"log_batch({batch} rows) per result",
                n,
                partial(_log_batches, size=batch),
            )
        )
    for kind in ("discard", "sqlite"):
        for key, label, n, make in cases:
            results, data = _data.results_and_rows(n)
            out = _compare(kind, make(results, data), n, sizes.reps, sizes.warmup)
            spans = out.pop("spans")
            rows.append(
                Row(
                    id=f"{key}.{kind}",
                    group="log",
                    name=f"{label}, {EXPORTERS[kind]}",
                    unit="us/result",
                    baseline_name="bare SDK span, same attributes/events, same processor+exporter",
                    target="ratio <= 1.3",
                    met=out["ratio"] <= 1.3,
                    n=n,
                    reps=sizes.reps,
                    notes=f"spans exported: evaltrace {spans.get('evaltrace')}, "
                    f"floor {spans.get('floor')}",
                    **out,
                )
            )
    return rows
