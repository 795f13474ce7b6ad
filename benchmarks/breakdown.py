"""Where the time goes: step-by-step timings of the three hot paths the targets are about.

    .venv/bin/python -m benchmarks.breakdown encode      # one log(): encoding steps, us/result
    .venv/bin/python -m benchmarks.breakdown export      # the store: rows / INSERT / COMMIT
    .venv/bin/python -m benchmarks.breakdown readback    # get_run_results of 20,000, step by step

Each step is timed on its own (``timeit`` best of 5 for ``encode``; medians of 3 passes with
the garbage collector off for the others), so the steps add up to slightly less than the
whole. These are the figures RESULTS.md cites for the missed targets.
"""

from __future__ import annotations

import argparse
import gc
import json
import shutil
import sqlite3
import statistics
import tempfile
import time
import timeit
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from evaltrace import OpenTelemetryExperimentTracker, SQLiteSpanExporter, _records, _schema
from evaltrace.store import _exporter

from . import _data, _floor

RUN_ID = "breakdown"


def _best(stmt: Callable[[], object], number: int = 5000) -> float:
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6


def encode() -> None:
    """The encoding steps of one result (what ``_schema.encode_result`` does), in us."""
    result, row = _data.result(1), _data.data_row(1)
    limits = _schema.Limits()
    shared = _floor.call_attributes()
    result_json = _records.dumps(result, "evaluation_result", None)
    data_json = _records.dumps(row, "data", None)
    steps: dict[str, Callable[[], object]] = {
        "encode_result (whole)": lambda: _schema.encode_result(
            result, row, shared=shared, seq=1, row=None, limits=limits
        ),
        "  walk (flat attributes, events)": lambda: _schema.walk_result(result, limits),
        "  dumps(result)": lambda: _records.dumps(result, "r", None, finite=True),
        "  dumps(data)": lambda: _records.dumps(row, "d", None),
        "  sample id (blake2b)": lambda: _schema.sample_id_of(row, data_json),
        "JSON payload sizes (bytes)": lambda: None,
    }
    for name, stmt in steps.items():
        if name.startswith("JSON"):
            print(f"{name:30} result {len(result_json)}, data {len(data_json)}")
        else:
            print(f"{name:30} {_best(stmt):8.2f} us")


def _captured(n: int) -> list[Any]:
    memory = InMemorySpanExporter()
    tracker = OpenTelemetryExperimentTracker("breakdown", store=False, exporters=[memory])
    results, rows = _data.results_and_rows(n)
    for start in range(0, n, 100):
        tracker.log_batch_sync(results[start : start + 100], "d", rows[start : start + 100])
    tracker.close()
    return list(memory.get_finished_spans())


def _median_ms(passes: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(p[k] for p in passes) * 1e3 for k in passes[0]}


def export(n: int = 3000) -> None:
    """The embedded store's export of ``n`` result spans: rows, INSERT, COMMIT."""
    spans = _captured(n)
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-breakdown-"))
    passes = []
    try:
        for i in range(3):
            exporter = SQLiteSpanExporter(workdir / f"{i}.db")
            took = {"build rows (JSON)": 0.0, "INSERT": 0.0, "COMMIT": 0.0}
            gc.disable()
            for start in range(0, len(spans), 512):
                batch = spans[start : start + 512]
                t0 = time.perf_counter()
                attrs = [_exporter._span_attributes(s) for s in batch]
                index = [_schema.result_index(s.name, a) for s, a in zip(batch, attrs, strict=True)]
                rows = [exporter._row(s, a, x) for s, a, x in zip(batch, attrs, index, strict=True)]
                t1 = time.perf_counter()
                exporter._conn.execute("BEGIN IMMEDIATE")
                exporter._conn.executemany(_exporter._INSERT_SPAN, rows)
                t2 = time.perf_counter()
                exporter._conn.execute("COMMIT")
                t3 = time.perf_counter()
                took["build rows (JSON)"] += t1 - t0
                took["INSERT"] += t2 - t1
                took["COMMIT"] += t3 - t2
            gc.enable()
            exporter.shutdown()
            passes.append(took)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    for name, ms in _median_ms(passes).items():
        print(f"{name:22} {ms / len(spans) * 1e3:8.1f} us/span")
    row = rows[0]
    print(f"{'stored row':22} {sum(len(str(c)) for c in row):8d} bytes (attributes {len(row[8])})")


def readback(n: int = 20_000) -> None:
    """``get_run_results`` of ``n`` results, step by step, against the raw fetch."""
    workdir = Path(tempfile.mkdtemp(prefix="evaltrace-breakdown-"))
    path = workdir / "evaltrace.db"
    tracker = OpenTelemetryExperimentTracker("breakdown", store=path)
    results, rows = _data.results_and_rows(1000)
    for _ in range(0, n, 1000):
        tracker.log_batch_sync(results, "d", rows, run_id=RUN_ID)
    tracker.flush()
    conn = sqlite3.connect(path)
    sql = (
        "SELECT name, trace_id, span_id, start_ns, attributes FROM spans "
        "WHERE run_id = ? ORDER BY start_ns, seq"
    )
    passes = []
    try:
        for _ in range(3):
            gc.collect()
            gc.disable()
            t: dict[str, float] = {}
            t0 = time.perf_counter()
            fetched = conn.execute(sql, (RUN_ID,)).fetchall()
            t1 = time.perf_counter()
            attrs = [json.loads(r[4]) for r in fetched]
            t2 = time.perf_counter()
            t["raw: SELECT"], t["raw: json.loads(attributes)"] = t1 - t0, t2 - t1
            kept = [a for r, a in zip(fetched, attrs, strict=True) if _schema.result_index(r[0], a)]
            t3 = time.perf_counter()
            t["result_index filter"] = t3 - t2
            for key, name in ((_schema.ATTR_RESULT, "result"), (_schema.ATTR_DATA, "data")):
                s = time.perf_counter()
                _ = [json.loads(a[key]) for a in kept]
                t[f"json.loads(eval.{name})"] = time.perf_counter() - s
            s = time.perf_counter()
            _ = [_schema.iso(r[3]) for r in fetched]
            t["iso timestamps"] = time.perf_counter() - s
            s = time.perf_counter()
            _ = [
                _schema.decode_result(a, trace_id=r[1], span_id=r[2], start_ns=r[3])
                for r, a in zip(fetched, attrs, strict=True)
            ]
            t["decode_result (whole)"] = time.perf_counter() - s
            gc.enable()
            s = time.perf_counter()
            got = tracker.get_run_results(RUN_ID)
            t["get_run_results, gc on"] = time.perf_counter() - s
            assert len(got) == n
            del got, fetched, attrs, kept, _
            passes.append(t)
    finally:
        conn.close()
        tracker.close()
        shutil.rmtree(workdir, ignore_errors=True)
    for name, ms in _median_ms(passes).items():
        print(f"{name:30} {ms:8.0f} ms  ({ms / n * 1e3:6.1f} us/result)")


def main() -> None:
    """Run one breakdown."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.breakdown", description=__doc__)
    parser.add_argument("path", choices=("encode", "export", "readback"))
    {"encode": encode, "export": export, "readback": readback}[parser.parse_args().path]()


if __name__ == "__main__":
    main()
