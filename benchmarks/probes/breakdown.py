"""Where the time goes: step-by-step timings of the hot paths the targets are about.

    python -m benchmarks.probes.breakdown encode      # one result's encoding steps, us
    python -m benchmarks.probes.breakdown commit      # one log() commit: statements, WAL frames
    python -m benchmarks.probes.breakdown readback    # iter_run_results, step by step

Each step is timed on its own (``timeit`` best of 5 for ``encode``; medians of 3 passes for
the others), so the steps add up to slightly less than the whole. For a profile of the whole
path, run cProfile or pyinstrument over ``benchmarks.bench_log`` / ``bench_readback`` (the
commands are in HISTORY.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path

from evaltrace import OpenTelemetryExperimentTracker
from evaltrace._codec import dumps, loads
from evaltrace.schema._decode import iso
from evaltrace.schema._encode import call_attributes, encode_result, sample_id_of, walk_result
from evaltrace.schema._walk import Limits
from evaltrace.store import StoreWriter
from evaltrace.store import _writer as writer_sql

from .. import _data
from ..bench_readback import RUN_ID, fill

_NO_LINK = (None, None, "[]", None)  # link ids, scores, fingerprint
"""link_trace_id, link_span_id, scores of a probe row."""


def _best(stmt: Callable[[], object], number: int = 5000) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6


def encode(number: int = 5000) -> None:
    """The encoding steps of one result (what ``encode_result`` does), in us."""
    result, row = _data.result(1), _data.data_row(1)
    limits = Limits()
    shared = call_attributes(
        project_name="bench",
        run_id="bench-run",
        dataset_name="bench-dataset",
        metadata_json="{}",
        context_json="{}",
        link=None,
        batch_id=None,
    )
    data_json = dumps(row, "data", None)
    steps: dict[str, Callable[[], object]] = {
        "encode_result (whole)": lambda: encode_result(
            result, row, shared=shared, seq=1, row=None, limits=limits
        ),
        "  walk (flat attributes, events)": lambda: walk_result(result, limits),
        "  dumps(result)": lambda: dumps(result, "r", None, finite=True),
        "  dumps(data)": lambda: dumps(row, "d", None),
        "  sample id": lambda: sample_id_of(row, data_json),
    }
    for name, stmt in steps.items():
        print(f"{name:34} {_best(stmt, number):8.2f} us")


def commit(n: int = 3000) -> None:
    """One log()-sized commit, statement by statement, and the WAL frames it writes (no
    auto-checkpoint, so the WAL's growth counts the frames)."""
    result_json = dumps(_data.result(1), "r", None)
    data_json = dumps(_data.data_row(1), "d", None)
    passes: list[dict[str, float]] = []
    frames = 0.0
    for _ in range(3):
        workdir = Path(tempfile.mkdtemp(prefix="evaltrace-breakdown-"))
        writer = StoreWriter(str(workdir / "e.db"))
        conn = writer._conn
        conn.execute("PRAGMA wal_autocheckpoint=0")
        resource = writer._resource_id(conn, "{}")
        steps = ("BEGIN", "INSERT calls", "INSERT results", "INSERT runs", "COMMIT")
        took = dict.fromkeys(steps, 0.0)
        wal = workdir / "e.db-wal"
        size0 = 0
        warm = min(100, n // 2)
        for i in range(n):
            if i == warm:
                size0 = wal.stat().st_size
            marks = [time.perf_counter()]
            conn.execute("BEGIN IMMEDIATE")
            marks.append(time.perf_counter())
            call = (*("run", "bench", "d", "{}", "{}"), *(None,) * 4, resource, "all", None)
            call_id = conn.execute(writer_sql._INSERT_CALL, call).lastrowid
            marks.append(time.perf_counter())
            ids = (os.urandom(16), os.urandom(8))
            conn.execute(
                writer_sql._INSERT_RESULT,
                (call_id, "run", *ids, None, 1, 2, i, None, "s", result_json, data_json, *_NO_LINK),
            )
            marks.append(time.perf_counter())
            conn.execute(writer_sql._NEW_RUN, ("run", "bench", "d", 1, 2, "{}"))
            marks.append(time.perf_counter())
            conn.execute("COMMIT")
            marks.append(time.perf_counter())
            for k, step in enumerate(steps):
                took[step] += marks[k + 1] - marks[k]
        frames = (wal.stat().st_size - size0) / (4096 + 24) / (n - warm)
        writer.close()
        shutil.rmtree(workdir, ignore_errors=True)
        passes.append(took)
    for step in passes[0]:
        us = statistics.median(p[step] for p in passes) / n * 1e6
        print(f"{step:16} {us:8.1f} us")
    print(f"{'WAL frames':16} {frames:8.2f} per commit (4 kB each)")


def readback(n: int = 50_000) -> None:
    """``iter_run_results`` of ``n`` results, step by step, against the raw fetch."""
    from evaltrace import SQLiteQueryAdapter

    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-breakdown-"))
    path = workdir / "evaltrace.db"
    with OpenTelemetryExperimentTracker("breakdown", store=path) as tracker:
        fill(tracker, n)
    sql = (
        "SELECT trace_id, span_id, start_ns, sample_id, result, data FROM results "
        "WHERE run_id = ? ORDER BY id"
    )
    passes = []
    try:
        for _ in range(3):
            conn = sqlite3.connect(path)
            t: dict[str, float] = {}
            s = time.perf_counter()
            fetched = conn.execute(sql, (RUN_ID,)).fetchall()
            t["raw: SELECT"] = time.perf_counter() - s
            s = time.perf_counter()
            _ = [(json.loads(r[4]), json.loads(r[5])) for r in fetched]
            t["raw: json.loads x2"] = time.perf_counter() - s
            s = time.perf_counter()
            _ = [(loads(r[4]), loads(r[5])) for r in fetched]
            t["evaltrace loads x2"] = time.perf_counter() - s
            s = time.perf_counter()
            _ = [iso(r[2]) for r in fetched]
            t["iso timestamps"] = time.perf_counter() - s
            conn.close()
            adapter = SQLiteQueryAdapter(path)
            s = time.perf_counter()
            count = sum(1 for _ in adapter.iter_run_results(RUN_ID))
            t["iter_run_results (whole)"] = time.perf_counter() - s
            adapter.close()
            assert count == n
            del fetched, _
            passes.append(t)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name in passes[0]:
        ms = statistics.median(p[name] for p in passes) * 1e3
        print(f"{name:28} {ms:8.0f} ms  ({ms / n * 1e3:6.2f} us/result)")


def main(argv: list[str] | None = None) -> None:
    """Run one breakdown."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.probes.breakdown", description=__doc__
    )
    parser.add_argument("path", choices=("encode", "commit", "readback"))
    parser.add_argument("--n", type=int, default=None, help="commits or results (commit, readback)")
    parser.add_argument("--number", type=int, default=5000, help="timeit loops a step (encode)")
    args = parser.parse_args(argv)
    if args.path == "encode":
        encode(args.number)
    elif args.path == "commit":
        commit(args.n or 3000)
    else:
        readback(args.n or 50_000)


if __name__ == "__main__":
    main()
