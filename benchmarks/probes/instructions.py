"""CPU instructions per result, counted by valgrind: the noise-free view of the log path.

    python -m benchmarks.probes.instructions            # log(), its floors, 2,000 results
    python -m benchmarks.probes.instructions --n 500
    PYTHONPATH=/tmp/old/src .venv/bin/python -m benchmarks.probes.instructions --workloads log,floor
        # another version's src/evaltrace (e.g. from git archive), against the same floor

On two noisy cores a 5 % change hides in the timing spread; instruction counts do not move
between runs. Each workload runs twice under ``valgrind --tool=callgrind`` (n results, then
none) and the difference is divided by n, so imports and set-up cancel. Instructions are not
time (cache misses and the garbage collector are not in them), so the timed rows in
``python -m benchmarks`` stay the figures of record; this is for before/after of a change.
Needs valgrind (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
WORKLOADS = ("log", "floor", "span", "encode")


def _child(workload: str, n: int, size: int) -> None:
    """Do ``n`` results' work; ``size`` inputs are built (and, for the floors, captured) either
    way, so that the n = 0 run subtracts exactly the set-up."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from evaltrace import OpenTelemetryExperimentTracker
    from evaltrace.schema._encode import call_attributes, encode_result
    from evaltrace.schema._walk import Limits

    from .. import _data, _floor

    results, rows = _data.results_and_rows(size)
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-instructions-"))
    if workload == "encode":
        shared = call_attributes(
            project_name="bench",
            run_id="bench-run",
            dataset_name=_floor.DATASET,
            metadata_json="{}",
            context_json="{}",
            link=None,
            batch_id=None,
        )
        limits = Limits()
        for i in range(n):
            encode_result(results[i], rows[i], shared=shared, seq=i, row=None, limits=limits)
        return
    if workload == "log":
        tracker = OpenTelemetryExperimentTracker(
            "bench", store=workdir / "e.db", exporters=[InMemorySpanExporter()]
        )
        for i in range(n):
            tracker.log(results[i], _floor.DATASET, rows[i])
        tracker.flush()
        return
    pairs = list(zip(results, rows, strict=True))
    calls = _floor.capture(lambda t: [t.log(r, _floor.DATASET, d) for r, d in pairs], pairs)
    floor, _ = _floor.memory_floor(workdir / "f.db" if workload == "floor" else None)
    _floor.replay(floor, calls[:n])


def _count(workload: str, n: int, size: int) -> int:
    proc = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "benchmarks.probes.instructions",
            "--child",
            workload,
            "--n",
            str(n),
            "--size",
            str(size),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONHASHSEED": "0"},  # the same dict layouts in both runs
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if not found:
        raise RuntimeError(f"no instruction count from valgrind:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> None:
    """Print instructions per result of each workload, and log / floor."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.probes.instructions")
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--child", choices=WORKLOADS, help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--workloads",
        default=",".join(WORKLOADS),
        help="comma-separated among " + ",".join(WORKLOADS),
    )
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.n, args.size or args.n)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    per: dict[str, float] = {}
    for workload in args.workloads.split(","):
        done, setup = _count(workload, args.n, args.n), _count(workload, 0, args.n)
        per[workload] = (done - setup) / args.n
        print(f"{workload:8} {per[workload]:>12,.0f} instructions/result")
    for floor in ("floor", "span"):
        if "log" in per and floor in per:
            print(f"log / {floor}  {per['log'] / per[floor]:.3f}")


if __name__ == "__main__":
    main()
