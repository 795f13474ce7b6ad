"""Reading the embedded store back: streaming and whole-run reads of a large run.

* ``stream.iter_run_results``: ``SQLiteQueryAdapter.iter_run_results`` (what
  ``tracker.iter_run_results`` returns) of a 200,000-result run, consumed one result at a time,
  in results/s (target >= 100,000/s); baseline: the raw streamed ``SELECT`` of the same rows
  (one cursor, no paging) with ``json.loads`` of the result and data columns.
* ``stream.rss``: peak RSS growth of that stream, in a fresh interpreter
  (``python -m benchmarks.bench_readback --child``): the peak RSS (``VmHWM``) after the whole
  run was consumed minus the peak with the adapter open, before the first result (target
  < 100 MB). ``VmHWM``, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over ``exec`` from the
  forking parent, which here holds 200,000 results (~1 GB). A second child reports the
  ``tracemalloc`` peak of the stream, and a third ``get_run_results``' growth, for comparison.
* ``readback.get_run_results``: ``get_run_results`` of the run from a cold reader (a fresh
  adapter per sample) against the raw ``fetchall`` of the same rows with the same decoding.

Every sample gets a fresh adapter and a fresh raw connection; variants alternate.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import orjson

from evaltrace import OpenTelemetryExperimentTracker, SQLiteQueryAdapter

from . import _data
from ._report import Row, Sizes
from ._timing import Comparison, Stopwatch, alternate

__all__ = ["fill", "readback_row", "run"]

REPO = Path(__file__).resolve().parents[1]
RUN_ID = "bench-readback"
RATE_TARGET = 100_000
RSS_BUDGET_MB = 100.0
_RAW = (
    "SELECT trace_id, span_id, start_ns, sample_id, result, data FROM results "
    "WHERE run_id = ? ORDER BY id"
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


def _raw_stream(path: Path) -> int:
    conn = sqlite3.connect(path)
    count = 0
    loads = json.loads
    for row in conn.execute(_RAW, (RUN_ID,)):
        loads(row[4])
        loads(row[5])
        count += 1
    conn.close()
    return count


def _raw_stream_orjson(path: Path) -> int:
    conn = sqlite3.connect(path)
    count = 0
    loads = orjson.loads
    for row in conn.execute(_RAW, (RUN_ID,)):
        loads(row[4])
        loads(row[5])
        count += 1
    conn.close()
    return count


def _raw_fetchall(path: Path) -> list[Any]:
    conn = sqlite3.connect(path)
    loads = json.loads
    rows = [
        (r[0], r[1], r[2], r[3], loads(r[4]), loads(r[5]))
        for r in conn.execute(_RAW, (RUN_ID,)).fetchall()
    ]
    conn.close()
    return rows


def _peak_rss_mb() -> float:
    """``VmHWM`` of this process (``ru_maxrss`` where /proc is missing), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def _child(path: Path, mode: str) -> dict[str, float]:
    adapter = SQLiteQueryAdapter(path)
    if mode == "tracemalloc":
        tracemalloc.start()
    baseline = _peak_rss_mb()
    t0 = time.perf_counter()
    if mode == "whole":
        count = len(adapter.run_results(RUN_ID))
    else:
        count = sum(1 for _ in adapter.iter_run_results(RUN_ID))
    seconds = time.perf_counter() - t0
    peak = _peak_rss_mb()
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if mode == "tracemalloc" else 0.0
    adapter.close()
    return {
        "baseline_mb": baseline,
        "peak_mb": peak,
        "tracemalloc_peak_mb": traced,
        "count": count,
        "seconds": seconds,
    }


def _in_child(path: Path, mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_readback", "--child", mode, "--store", str(path)],
        cwd=REPO,
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def run(sizes: Sizes) -> list[Row]:
    """Rows ``stream.iter_run_results``, ``stream.rss`` and ``readback.get_run_results``."""
    n = sizes.readback_n
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-bench-"))
    path = workdir / "evaltrace.db"
    counts: dict[str, int] = {}
    try:
        with OpenTelemetryExperimentTracker("bench", store=path) as tracker:
            fill(tracker, n)

        def stream() -> float:
            adapter = SQLiteQueryAdapter(path)
            with Stopwatch() as sw:
                counts["stream"] = sum(1 for _ in adapter.iter_run_results(RUN_ID))
            adapter.close()
            return sw.seconds

        def raw_stream() -> float:
            with Stopwatch() as sw:
                counts["raw_stream"] = _raw_stream(path)
            return sw.seconds

        def raw_stream_orjson() -> float:
            with Stopwatch() as sw:
                counts["raw_stream_orjson"] = _raw_stream_orjson(path)
            return sw.seconds

        def whole() -> float:
            adapter = SQLiteQueryAdapter(path)
            with Stopwatch() as sw:
                got = adapter.run_results(RUN_ID)
            counts["whole"] = len(got)
            del got
            adapter.close()
            return sw.seconds

        def raw_whole() -> float:
            with Stopwatch() as sw:
                got = _raw_fetchall(path)
            counts["raw_whole"] = len(got)
            del got
            return sw.seconds

        reps = max(3, min(sizes.reps, 5))
        streamed = alternate(
            {"raw": raw_stream, "raw_orjson": raw_stream_orjson, "evaltrace": stream},
            reps,
            sizes.warmup,
        )
        wholes = alternate({"raw": raw_whole, "evaltrace": whole}, reps, sizes.warmup)
        memory = {mode: _in_child(path, mode) for mode in ("stream", "tracemalloc", "whole")}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rate = n / streamed.median("evaltrace")
    raw_rate = n / streamed.median("raw")
    ratio = streamed.ratio("evaltrace", "raw")
    mem = memory["stream"]
    growth = mem["peak_mb"] - mem["baseline_mb"]
    whole_growth = memory["whole"]["peak_mb"] - memory["whole"]["baseline_mb"]
    whole_ratio = wholes.ratio("evaltrace", "raw")
    counted = ", ".join(f"{k} {v}" for k, v in counts.items())
    return [
        Row(
            id="stream.iter_run_results",
            group="readback",
            name=f"iter_run_results of a {n:,}-result run, embedded store",
            unit="results/s",
            value=rate,
            baseline_name="raw streamed SELECT of the same rows + json.loads(result, data)",
            baseline=raw_rate,
            ratio=ratio,
            target=f">= {RATE_TARGET:,} results/s",
            met=rate >= RATE_TARGET,
            n=n,
            reps=reps,
            spread=max(streamed.spread("evaltrace"), streamed.spread("raw")),
            notes=f"ratio = evaltrace seconds / raw seconds; the raw fetch decoding with orjson "
            f"instead: {n / streamed.median('raw_orjson'):,.0f} results/s (evaltrace / it: "
            f"{streamed.ratio('evaltrace', 'raw_orjson'):.2f}); rows: {counted}",
        ),
        Row(
            id="stream.rss",
            group="readback",
            name=f"peak RSS growth streaming a {n:,}-result run (fresh process, VmHWM)",
            unit="MB growth",
            value=growth,
            baseline_name="VmHWM with the adapter open, before the first result (MB)",
            baseline=mem["baseline_mb"],
            ratio=mem["peak_mb"] / mem["baseline_mb"],
            target=f"growth < {RSS_BUDGET_MB:.0f} MB",
            met=growth < RSS_BUDGET_MB,
            n=n,
            reps=1,
            notes=f"ratio = peak / baseline; tracemalloc peak of the stream "
            f"{memory['tracemalloc']['tracemalloc_peak_mb']:.1f} MB; get_run_results (a list) "
            f"grows {whole_growth:,.0f} MB in the same kind of process",
            extra={"children": memory},
        ),
        Row(
            id="readback.get_run_results",
            group="readback",
            name=f"get_run_results of a {n:,}-result run, cold reader, embedded store",
            unit="ms/run",
            value=wholes.median("evaltrace") * 1e3,
            baseline_name="raw fetchall of the same rows + json.loads(result, data)",
            baseline=wholes.median("raw") * 1e3,
            ratio=whole_ratio,
            target="ratio <= 1.5",
            met=whole_ratio <= 1.5,
            n=n,
            reps=reps,
            spread=max(wholes.spread("evaltrace"), wholes.spread("raw")),
            notes=f"rows: {counted}",
        ),
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="read-back child: read a run, print ru_maxrss")
    parser.add_argument("--child", choices=("stream", "tracemalloc", "whole"), required=True)
    parser.add_argument("--store", type=Path, required=True)
    args = parser.parse_args()
    print(json.dumps(_child(args.store, args.child)))
