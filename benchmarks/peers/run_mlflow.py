"""MLflow with a SQLite backend store: metrics per step, and tracing spans.

``metrics``: one run, ``mlflow.log_metrics(numeric leaves, step=i)`` per result, then
``end_run``. MLflow metrics hold numbers only: explanations and the data row are not stored
(logging them too, as params or artifacts, would only cost MLflow more).
``tracing``: one MLflow trace per result, ``mlflow.start_span`` with the data row as inputs,
the result as outputs and the numeric leaves as attributes, then a flush of the async trace
queue. MLflow's async export queue holds 1,000 tasks by default and *discards* traces when full
(a 1,000-result run kept ~855 traces, a 2,000-result one ~843): the queue is made large enough
here. And ``flush_trace_async_logging()`` can return before every trace is stored (a
2,000-result run had 1,156 stored when it returned; MLflow writes the rest at interpreter exit),
so for this variant ``benchmarks/bench_peers.py`` takes the time until the process has exited
and counts the stored traces itself (``until_exit``). ``stored`` (counted after the timed
section, in-process) says how many results each variant had kept by then.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _runner import CHUNK, Clock, main, numeric_leaves, results_and_rows

logging.disable(logging.WARNING)
os.environ.setdefault("MLFLOW_ASYNC_TRACE_LOGGING_MAX_QUEUE_SIZE", "10000000")

import mlflow  # noqa: E402

SPANS = "SELECT count(*) FROM spans"


def _count(workdir: Path, sql: str) -> int:
    with sqlite3.connect(workdir / "mlflow.db") as conn:
        return int(conn.execute(sql).fetchone()[0])


def _setup(workdir: Path) -> None:
    """A fresh SQLite backend store; artifacts (trace payloads) under ``workdir`` too."""
    mlflow.set_tracking_uri(f"sqlite:///{workdir / 'mlflow.db'}")
    mlflow.create_experiment("bench", artifact_location=(workdir / "artifacts").as_uri())
    mlflow.set_experiment("bench")


def metrics(n: int, workdir: Path, clock: Clock) -> Callable[[], dict[str, Any]]:
    """One step per result."""
    results, _ = results_and_rows(n)
    leaves = [numeric_leaves(r) for r in results]
    _setup(workdir)

    def work() -> dict[str, Any]:
        with mlflow.start_run():
            for step, values in enumerate(leaves):
                mlflow.log_metrics(values, step=step)
                if (step + 1) % CHUNK == 0:
                    clock.mark()
        per_result = len(leaves[0])
        return {
            "metrics_per_result": per_result,
            "after": lambda: {
                "stored": _count(workdir, "SELECT count(*) FROM metrics") // per_result
            },
        }

    return work


def tracing(n: int, workdir: Path, clock: Clock) -> Callable[[], dict[str, Any]]:
    """One trace (root span) per result."""
    results, rows = results_and_rows(n)
    leaves = [numeric_leaves(r) for r in results]
    _setup(workdir)

    def work() -> dict[str, Any]:
        for i, (result, row, values) in enumerate(zip(results, rows, leaves, strict=True)):
            with mlflow.start_span(name="evaluation") as span:
                span.set_inputs(row)
                span.set_outputs(result)
                span.set_attributes(values)
            if (i + 1) % CHUNK == 0:
                clock.mark()
        mlflow.flush_trace_async_logging()
        return {"after": lambda: {"stored": _count(workdir, SPANS)}}

    return work


if __name__ == "__main__":
    main({"metrics": metrics, "tracing": tracing})
