"""What every peer runner shares: arguments, the inputs, and the one-line JSON answer.

A runner is executed as a script in its own fresh process (the peers' in
``benchmarks/.venv-peers``, evaltrace's in the project venv), logs ``--n`` results into a fresh
``--workdir`` and prints ``{"seconds": ..., "chunk_seconds": [...], "tail_seconds": ...}`` as its
last stdout line. Only the logging and the final flush/close are timed: imports, input
construction and tracker setup are not. ``chunk_seconds`` is the time of each consecutive
``CHUNK`` results (the tracker calls ``clock.mark()`` after each), ``tail_seconds`` the final
flush/close: how cost grows with rows already logged, to project a peer's larger runs.
Standard library only (plus the peer itself).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo root: benchmarks._data

import itertools

from benchmarks._data import results_and_rows

__all__ = ["CHUNK", "DATASET", "Clock", "main", "numeric_leaves", "results_and_rows"]

CHUNK = 100
"""Rows per ``log_batch`` call, for every tracker that is fed batches."""
DATASET = "bench-dataset"

os.environ.setdefault("DEEPEVAL_TELEMETRY_OPT_OUT", "YES")


def numeric_leaves(value: Any, prefix: str = "") -> dict[str, float]:
    """Numeric and boolean leaves by dotted path, booleans as 0/1: what a metrics API takes."""
    out: dict[str, float] = {}
    if isinstance(value, dict):
        for key, child in value.items():
            out.update(numeric_leaves(child, f"{prefix}.{key}" if prefix else key))
    elif isinstance(value, bool | int | float):
        out[prefix] = float(value)
    return out


class Clock:
    """Chunk boundaries, marked by the timed work after every ``CHUNK`` results."""

    def __init__(self) -> None:
        self.marks: list[float] = []

    def mark(self) -> None:
        """Note that another chunk of results has been logged."""
        self.marks.append(time.perf_counter())


Factory = Callable[[int, Path, Clock], Callable[[], dict[str, Any]]]


def main(variants: dict[str, Factory]) -> None:
    """Parse ``--variant --n --workdir``, prepare, time the returned callable, print JSON.

    A variant factory does the untimed setup and returns the timed callable, which marks the
    clock after each chunk and returns extra facts to report (may be empty); an ``"after"``
    callable among them runs after the clock stops and adds its own facts.
    """
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=sorted(variants), required=True)
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    clock = Clock()
    work = variants[args.variant](args.n, args.workdir, clock)
    start_epoch = time.time()  # lets the parent time work done at interpreter exit too
    start = time.perf_counter()
    extra = work()
    end = time.perf_counter()
    after = extra.pop("after", None)  # untimed checks, e.g. how many results were stored
    if callable(after):
        extra.update(after())
    bounds = [start, *clock.marks]
    print(
        json.dumps(
            {
                "variant": args.variant,
                "n": args.n,
                "seconds": end - start,
                "chunk_seconds": [b - a for a, b in itertools.pairwise(bounds)],
                "tail_seconds": end - bounds[-1],
                "start_epoch": start_epoch,
                **extra,
            }
        )
    )
