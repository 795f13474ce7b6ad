"""Row 4: ``get_run_results`` from the embedded store against the raw SQL fetch of its spans.

The baseline is the least any reader must do: the same indexed ``SELECT`` the adapter runs and
``json.loads`` of each span's attributes column. What evaltrace adds on top is decoding the
JSON payloads into result dicts, ordering, and the completeness check.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from evaltrace import OpenTelemetryExperimentTracker

from . import _data
from ._report import Row, Sizes
from ._timing import Comparison, Stopwatch, alternate

__all__ = ["fill", "readback_row", "run"]

RUN_ID = "bench-readback"
_RAW = (
    "SELECT name, trace_id, span_id, start_ns, attributes FROM spans "
    "WHERE run_id = ? ORDER BY start_ns, seq"
)


def fill(
    tracker: OpenTelemetryExperimentTracker, n: int, run_id: str = RUN_ID, chunk: int = 1_000
) -> None:
    """Log an ``n``-result run with ``log_batch_sync`` in calls of ``chunk``, then flush."""
    results, rows = _data.results_and_rows(min(n, chunk))
    for start in range(0, n, chunk):
        size = min(chunk, n - start)
        tracker.log_batch_sync(results[:size], "bench-dataset", rows[:size], run_id=run_id)
    tracker.flush()


def run(sizes: Sizes) -> list[Row]:
    """Row ``readback.sqlite``."""
    n = sizes.readback_n
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    path = workdir / "evaltrace.db"
    tracker = OpenTelemetryExperimentTracker("bench", store=path)
    raw = sqlite3.connect(path)
    counts: dict[str, int] = {}
    try:
        fill(tracker, n)

        def evaltrace_side() -> float:
            with Stopwatch() as sw:
                results = tracker.get_run_results(RUN_ID)
            counts["evaltrace"] = len(results)
            return sw.seconds

        def raw_side() -> float:
            with Stopwatch() as sw:
                fetched = raw.execute(_RAW, (RUN_ID,)).fetchall()
                spans: list[dict[str, Any]] = [json.loads(row[4]) for row in fetched]
            counts["raw"] = len(spans)
            return sw.seconds

        cmp = alternate({"raw": raw_side, "evaltrace": evaltrace_side}, sizes.reps, sizes.warmup)
    finally:
        raw.close()
        tracker.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return [
        readback_row(
            "readback.sqlite",
            "readback",
            f"get_run_results of a {n:,}-result run, embedded store",
            "raw SELECT + json.loads(attributes) of the same spans",
            cmp,
            n,
            notes=f"rows: evaltrace {counts.get('evaltrace')}, raw {counts.get('raw')}",
        )
    ]


def readback_row(
    row_id: str, group: str, name: str, baseline_name: str, cmp: Comparison, n: int, notes: str
) -> Row:
    """A read-back row: ``evaltrace`` against ``raw`` in ms per run, target <= 1.5."""
    ratio = cmp.ratio("evaltrace", "raw")
    return Row(
        id=row_id,
        group=group,
        name=name,
        unit="ms/run",
        value=cmp.median("evaltrace") * 1e3,
        baseline_name=baseline_name,
        baseline=cmp.median("raw") * 1e3,
        ratio=ratio,
        target="ratio <= 1.5",
        met=ratio <= 1.5,
        n=n,
        reps=len(cmp.samples["raw"]),
        spread=max(cmp.spread("evaltrace"), cmp.spread("raw")),
        notes=notes,
    )
