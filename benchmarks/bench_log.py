"""The log rows: ``log()`` and ``log_batch`` per result against the durable floor.

evaltrace logs into its embedded store (a fresh file per sample) with an
``InMemorySpanExporter`` as its only ``exporters=`` exporter (which gets each call's spans
synchronously after the commit); no OTLP. The floor (``_floor``) emits the very same spans
through the bare SDK (``BatchSpanProcessor`` into an ``InMemorySpanExporter``) and writes the
raw durable record of every result (orjson, a plain table, SQLite WAL, one transaction per
call); the bare-span variant does the spans alone. Every timed section ends when everything is
committed and handed to the exporter. ``log_batch`` is awaited as users call it: one event loop
for all calls of 100 rows, ``asyncio.run`` per call of 10,000.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker

from . import _data, _floor
from ._report import Row, Sizes
from ._timing import Stopwatch, alternate

__all__ = ["run"]

Logger = Callable[[OpenTelemetryExperimentTracker], None]
ONE_LOOP_BELOW = 10_000
"""Batches smaller than this share one event loop; larger ones get ``asyncio.run`` each."""


def _log_each(results: list[Any], rows: list[Any]) -> Logger:
    def log(tracker: OpenTelemetryExperimentTracker) -> None:
        for result, row in zip(results, rows, strict=True):
            tracker.log(result, _floor.DATASET, row)

    return log


def _log_batches(results: list[Any], rows: list[Any], size: int) -> Logger:
    async def batch(tracker: OpenTelemetryExperimentTracker, start: int) -> None:
        await tracker.log_batch(
            results[start : start + size], _floor.DATASET, rows[start : start + size]
        )

    async def batches(tracker: OpenTelemetryExperimentTracker) -> None:
        for start in range(0, len(results), size):
            await batch(tracker, start)

    def log(tracker: OpenTelemetryExperimentTracker) -> None:
        if size < ONE_LOOP_BELOW:
            asyncio.run(batches(tracker))
        else:
            for start in range(0, len(results), size):
                asyncio.run(batch(tracker, start))

    return log


def _compare(log: Logger, pairs: list[tuple[Any, Any]], reps: int, warmup: int) -> dict[str, Any]:
    """Seconds of evaltrace, the durable floor and the bare span, alternating; span counts."""
    calls = _floor.capture(log, pairs)
    counts: dict[str, int] = {}

    def evaltrace_side() -> float:
        workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
        memory = InMemorySpanExporter()
        tracker = OpenTelemetryExperimentTracker(
            "bench", store=workdir / "evaltrace.db", exporters=[memory]
        )
        try:
            with Stopwatch() as sw:
                log(tracker)
                tracker.flush()
            counts["evaltrace"] = len(memory.get_finished_spans())
        finally:
            tracker.close()
            shutil.rmtree(workdir, ignore_errors=True)
        return sw.seconds

    def floor_side(durable: bool) -> Callable[[], float]:
        def sample() -> float:
            workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
            floor, memory = _floor.memory_floor(workdir / "floor.db" if durable else None)
            try:
                with Stopwatch() as sw:
                    _floor.replay(floor, calls)
                counts["floor" if durable else "span"] = len(memory.get_finished_spans())
            finally:
                floor.shutdown()
                shutil.rmtree(workdir, ignore_errors=True)
            return sw.seconds

        return sample

    # Floors first so that in round one they pay any first-touch cost, not evaltrace.
    cmp = alternate(
        {"floor": floor_side(True), "span": floor_side(False), "evaltrace": evaltrace_side},
        reps,
        warmup,
    )
    return {"cmp": cmp, "spans": counts}


def run(sizes: Sizes) -> list[Row]:
    """Rows ``log.floor`` / ``log.bare_span`` and the same for each ``log_batch[size]``."""
    out: list[Row] = []
    cases: list[tuple[str, str, int, Callable[[list[Any], list[Any]], Logger]]] = [
        ("log", "log() per result", sizes.log_n, _log_each),
    ]
    for batch in sizes.batch_sizes:
        cases.append(
            (
                f"log_batch[{batch}]",
                f"await log_batch({batch:,} rows) per result",
                max(batch, sizes.batch_n),
                partial(_log_batches, size=batch),
            )
        )
    for key, label, n, make in cases:
        results, data = _data.results_and_rows(n)
        got = _compare(
            make(results, data), list(zip(results, data, strict=True)), sizes.reps, sizes.warmup
        )
        cmp, spans = got["cmp"], got["spans"]
        notes = (
            f"spans handed to the exporter: evaltrace {spans.get('evaltrace')}, floor "
            f"{spans.get('floor')}, bare span {spans.get('span')}"
        )
        for baseline, suffix, baseline_name, target in (
            (
                "floor",
                "floor",
                "bare SDK span (BatchSpanProcessor into memory) + raw JSON record "
                "committed in SQLite WAL once per call",
                "ratio <= 1.3",
            ),
            (
                "span",
                "bare_span",
                "bare SDK span alone (BatchSpanProcessor into memory)",
                "(reported)",
            ),
        ):
            ratio = cmp.ratio("evaltrace", baseline)
            out.append(
                Row(
                    id=f"{key}.{suffix}",
                    group="log",
                    name=f"{label}, embedded store + exporters=[in-memory]",
                    unit="us/result",
                    value=cmp.median("evaltrace") / n * 1e6,
                    baseline_name=baseline_name,
                    baseline=cmp.median(baseline) / n * 1e6,
                    ratio=ratio,
                    target=target,
                    met=ratio <= 1.3 if baseline == "floor" else None,
                    n=n,
                    reps=sizes.reps,
                    spread=max(cmp.spread("evaltrace"), cmp.spread(baseline)),
                    notes=notes,
                )
            )
    return out
