"""CPU instructions per result, counted by valgrind: the noise-free view of the log path.

    .venv/bin/python -m benchmarks.instructions            # log() and its floor, 2,000 results
    .venv/bin/python -m benchmarks.instructions --n 500

On two noisy cores a 5 % change hides in the timing spread; instruction counts do not move
between runs. Each workload runs twice under ``valgrind --tool=callgrind`` (n results, then
none) and the difference is divided by n, so imports and set-up cancel. Instructions are not
time (cache misses and the garbage collector are not in them), so the timed rows in
``python -m benchmarks`` stay the figures of record; this is for before/after of a change.
Needs valgrind (Debian: ``apt-get install valgrind``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKLOADS = ("log", "floor", "encode")


def _child(workload: str, n: int) -> None:
    from evaltrace import _schema

    from . import _data, _floor

    results, rows = _data.results_and_rows(max(n, 1))
    if workload == "encode":
        shared = _schema.call_attributes(
            project_name="p",
            run_id="r",
            dataset_name="d",
            metadata_json="{}",
            context_json="{}",
            link=None,
            batch_id=None,
        )
        limits = _schema.Limits()
        for i in range(n):
            _schema.encode_result(
                results[i], rows[i], shared=shared, seq=i, row=None, limits=limits
            )
        return
    if workload == "log":
        tracker, _ = _floor.make_tracker("discard", Path(tempfile.gettempdir()))
        for i in range(n):
            tracker.log(results[i], _floor.DATASET, rows[i])
        tracker.flush()
        return
    spans = _floor.capture(
        lambda t: [t.log(r, _floor.DATASET, d) for r, d in zip(results, rows, strict=True)]
    )
    _floor.replay(_floor.floor_pipeline(_floor.DiscardExporter()), spans[:n])


def _count(workload: str, n: int) -> int:
    proc = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-m",
            "benchmarks.instructions",
            "--child",
            workload,
            "--n",
            str(n),
        ],
        cwd=REPO,
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
    parser = argparse.ArgumentParser(prog="python -m benchmarks.instructions")
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--child", choices=WORKLOADS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _child(args.child, args.n)
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (Debian: apt-get install valgrind)")
    per: dict[str, float] = {}
    for workload in WORKLOADS:
        per[workload] = (_count(workload, args.n) - _count(workload, 0)) / args.n
        print(f"{workload:8} {per[workload]:>12,.0f} instructions/result")
    print(f"log / floor  {per['log'] / per['floor']:.3f}")


if __name__ == "__main__":
    main()
