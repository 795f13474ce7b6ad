"""4 kB WAL frames a ``log()`` commit writes, against the durable floor's raw table.

    python -m benchmarks.probes.wal_frames            # 2,000 log() calls
    python -m benchmarks.probes.wal_frames --n 5000

A commit costs a ``pwrite`` per page it changed (and the kernel's copy of 4 kB each): the
count is the I/O side of ``log.floor``, free of timing noise. Checkpoints are turned off (no
checkpoint thread, no automatic checkpoint) so that the WAL's size counts every frame written.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
from pathlib import Path

import orjson
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker
from evaltrace.store import _ddl, _writer

from .. import _data, _floor

_FRAME = 4096 + 24


def _wal_frames(path: Path) -> float:
    return os.stat(str(path) + "-wal").st_size / _FRAME


def tracker_frames(n: int, workdir: Path) -> float:
    """Frames a ``log()`` commit of a tracker with a store (after one warm-up call)."""
    results, rows = _data.results_and_rows(n + 1)
    backstop, checkpointer = _ddl.BACKSTOP, _writer.Checkpointer
    _ddl.BACKSTOP = 2**31 - 1  # type: ignore[misc]
    _writer.Checkpointer = lambda path: None  # type: ignore[assignment,misc,return-value]
    try:
        path = workdir / "evaltrace.db"
        tracker = OpenTelemetryExperimentTracker(
            "bench", store=path, exporters=[InMemorySpanExporter()]
        )
        tracker.log(results[0], _floor.DATASET, rows[0])
        before = _wal_frames(path)
        for result, row in zip(results[1:], rows[1:], strict=True):
            tracker.log(result, _floor.DATASET, row)
        frames = (_wal_frames(path) - before) / n
        tracker.close()
        return frames
    finally:
        _ddl.BACKSTOP, _writer.Checkpointer = backstop, checkpointer  # type: ignore[misc]


def floor_frames(n: int, workdir: Path) -> float:
    """Frames a commit of the floor's durable record (one row, one table, WAL)."""
    results, rows = _data.results_and_rows(n + 1)
    path = workdir / "floor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE records (id INTEGER PRIMARY KEY, trace_id, span_id, record)")
    before = 0.0
    for i, (result, row) in enumerate(zip(results, rows, strict=True)):
        if i == 1:
            before = _wal_frames(path)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO records (trace_id, span_id, record) VALUES (?,?,?)",
            (os.urandom(16), os.urandom(8), orjson.dumps({"result": result, "data": row})),
        )
        conn.execute("COMMIT")
    frames = (_wal_frames(path) - before) / n
    conn.close()
    return frames


def main(argv: list[str] | None = None) -> None:
    """Print frames a commit of both."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.probes.wal_frames")
    parser.add_argument("--n", type=int, default=2_000)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="evaltrace-frames-") as tmp:
        ours, floor = tracker_frames(args.n, Path(tmp)), floor_frames(args.n, Path(tmp))
    print(f"log()  {ours:.2f} WAL frames a commit")
    print(f"floor  {floor:.2f} WAL frames a commit")


if __name__ == "__main__":
    main()
