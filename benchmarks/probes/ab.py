"""Before/after of a source change: the same workloads against two versions of ``src/evaltrace``.

    python -m benchmarks.probes.ab --before 0559d56          # vs the working tree
    python -m benchmarks.probes.ab --before 0559d56 --after HEAD --reps 7

Each version is a ``git archive`` of ``src/evaltrace`` (the working tree's ``src`` for
``--after WORKTREE``, the default), put first on ``PYTHONPATH`` of a fresh child process per
sample; versions alternate, and the figure is the median of per-repetition ratios after/before.
Workloads: the hot paths the benchmark rows exercise (see ``WORKLOADS``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from functools import partial
from io import BytesIO
from pathlib import Path

from .._timing import alternate

REPO = Path(__file__).resolve().parents[2]
READS = ("readback", "stream", "history")
"""Workloads sized by ``--readback-n``."""
WORKLOADS = {
    "log.discard": "log() per result, discarding exporter, + flush",
    "log.sqlite": "log() per result into the embedded store, + flush",
    "log_batch100.sqlite": "log_batch_sync of 100 rows into the embedded store, + flush",
    "export.sqlite": "SQLiteSpanExporter.export of captured spans (512 per call)",
    "readback.sqlite": "get_run_results of one run from the embedded store",
    "stream.sqlite": "iter_run_results of one run from the embedded store, a fresh adapter",
    "history.sqlite": "get_experiment_history of 10 runs of n/10, a fresh reader-only tracker",
}


def _child(workload: str, n: int) -> float:
    """Run one workload in this process; seconds of its timed part."""
    import evaltrace
    from evaltrace import OpenTelemetryExperimentTracker, SQLiteSpanExporter

    from .. import _data
    from .._floor import DiscardExporter

    results, rows = _data.results_and_rows(n)
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-ab-"))
    store = workdir / "evaltrace.db"
    assert str(Path(evaltrace.__file__).resolve()).startswith(os.environ["EVALTRACE_AB_SRC"])
    try:
        if workload == "export.sqlite":
            from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
                InMemorySpanExporter,
            )

            memory = InMemorySpanExporter()
            tracker = OpenTelemetryExperimentTracker("ab", store=False, exporters=[memory])
            tracker.log_batch_sync(results, "ab", rows)
            tracker.close()
            spans = memory.get_finished_spans()
            exporter = SQLiteSpanExporter(store)
            start = time.perf_counter()
            for i in range(0, len(spans), 512):
                exporter.export(spans[i : i + 512])
            seconds = time.perf_counter() - start
            exporter.shutdown()
            return seconds
        if workload == "log.discard":
            tracker = OpenTelemetryExperimentTracker(
                "ab", store=False, exporters=[DiscardExporter()]
            )
        else:
            tracker = OpenTelemetryExperimentTracker("ab", store=store)
        if workload == "history.sqlite":
            for i in range(0, n, n // 10):
                tracker.log_batch_sync(
                    results[i : i + n // 10], "ab", rows[i : i + n // 10], run_id=f"ab-{i}"
                )
            tracker.close()
            from evaltrace import SQLiteQueryAdapter

            reader = OpenTelemetryExperimentTracker("ab", query=SQLiteQueryAdapter(store))
            start = time.perf_counter()
            assert len(reader.get_experiment_history()) == 10
            seconds = time.perf_counter() - start
            reader.close()
        elif workload in ("readback.sqlite", "stream.sqlite"):
            for i in range(0, n, 1000):
                tracker.log_batch_sync(
                    results[i : i + 1000], "ab", rows[i : i + 1000], run_id="ab-run"
                )
            tracker.close()
            from evaltrace import SQLiteQueryAdapter

            adapter = SQLiteQueryAdapter(store)
            start = time.perf_counter()
            if workload == "stream.sqlite":
                count = sum(1 for _ in adapter.iter_run_results("ab-run"))
            else:
                count = len(adapter.run_results("ab-run"))
            seconds = time.perf_counter() - start
            adapter.close()
            assert count == n
        else:
            start = time.perf_counter()
            if workload == "log_batch100.sqlite":
                for i in range(0, n, 100):
                    tracker.log_batch_sync(results[i : i + 100], "ab", rows[i : i + 100])
            else:
                for result, row in zip(results, rows, strict=True):
                    tracker.log(result, "ab", row)
            tracker.flush()
            seconds = time.perf_counter() - start
        tracker.close()
        return seconds
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _source(ref: str, into: Path) -> Path:
    """``src`` of ``ref`` (or of the working tree for ``WORKTREE``), as a directory."""
    if ref == "WORKTREE":
        return REPO / "src"
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "src/evaltrace"], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def _sample(src: Path, workload: str, n: int) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": f"{src}{os.pathsep}{REPO}",
        "EVALTRACE_AB_SRC": str(src.resolve()),
    }
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.probes.ab", "--child", workload, "--n", str(n)],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["seconds"])


def main(argv: list[str] | None = None) -> list[dict[str, object]]:
    """Alternate before/after on every workload; print and return the rows."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.probes.ab",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--before", default="HEAD", help="git ref (default HEAD)")
    parser.add_argument("--after", default="WORKTREE", help="git ref or WORKTREE (default)")
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--n", type=int, default=3000, help="results per sample")
    parser.add_argument("--readback-n", type=int, default=20_000)
    parser.add_argument("--only", default=",".join(WORKLOADS))
    parser.add_argument("--child", choices=sorted(WORKLOADS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps({"seconds": _child(args.child, args.n)}))
        return []

    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        before = _source(args.before, Path(tmp) / "before")
        after = _source(args.after, Path(tmp) / "after")
        print(
            f"{'workload':22} {'before':>10} {'after':>10}  after/before  (us/result, "
            f"median of {args.reps} alternating reps)"
        )
        for workload in args.only.split(","):
            n = args.readback_n if workload.split(".")[0] in READS else args.n
            cmp = alternate(
                {
                    "before": partial(_sample, before, workload, n),
                    "after": partial(_sample, after, workload, n),
                },
                args.reps,
                warmup=0,
            )
            row = {
                "workload": workload,
                "n": n,
                "before_us": cmp.median("before") / n * 1e6,
                "after_us": cmp.median("after") / n * 1e6,
                "ratio": cmp.ratio("after", "before"),
            }
            rows.append(row)
            print(
                f"{workload:22} {row['before_us']:10.1f} {row['after_us']:10.1f}  "
                f"{row['ratio']:.3f}"
            )
    return rows


if __name__ == "__main__":
    main()
