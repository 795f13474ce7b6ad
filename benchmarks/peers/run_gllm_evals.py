"""gllm-evals' CSVExperimentTracker and JSONExperimentTracker, fed their own types.

Each row becomes ``[{"generation": EvaluatorOutput(...)}]`` (a row-grouped ``EvaluatorResult``
list, as gllm-evals' runner passes it) with an ``LLMTestCase`` as data, logged with
``await tracker.log_batch(...)`` in chunks of 100, as gllm-evals' own runner does.
"""

from __future__ import annotations

import asyncio
import csv
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _runner import CHUNK, DATASET, Clock, Factory, main, results_and_rows

logging.disable(logging.WARNING)

from gllm_evals.experiment_tracker import CSVExperimentTracker, JSONExperimentTracker  # noqa: E402
from gllm_evals.types import EvaluatorOutput, LLMTestCase  # noqa: E402


def _inputs(n: int) -> tuple[list[list[dict[str, Any]]], list[Any]]:
    results, rows = results_and_rows(n)
    grouped = [[{name: EvaluatorOutput(**out) for name, out in r.items()}] for r in results]
    return grouped, [LLMTestCase(**row) for row in rows]


def _facts(out: Path) -> dict[str, Any]:
    """Results stored (rows of the CSV, entries of the run's JSON), and bytes on disk."""
    files = [p for p in out.rglob("*") if p.is_file()]
    csv_file = out / "experiment_results.csv"
    if csv_file.exists():
        with csv_file.open(newline="") as f:
            stored = sum(1 for _ in csv.DictReader(f))
    else:
        runs = json.loads((out / "experiment_results" / "bench-run.json").read_text())
        stored = sum(len(run["individual_results"]) for run in runs)
    return {"stored": stored, "bytes_on_disk": sum(p.stat().st_size for p in files)}


def _variant(cls: type) -> Factory:
    def prepare(n: int, workdir: Path, clock: Clock) -> Callable[[], dict[str, Any]]:
        results, data = _inputs(n)
        tracker = cls("bench", output_dir=str(workdir / "gllm"))

        async def batches() -> None:
            for start in range(0, n, CHUNK):
                await tracker.log_batch(
                    results[start : start + CHUNK],
                    DATASET,
                    data[start : start + CHUNK],
                    run_id="bench-run",
                )
                clock.mark()

        def work() -> dict[str, Any]:
            asyncio.run(batches())
            return {"after": lambda: _facts(workdir / "gllm")}

        return work

    return prepare


if __name__ == "__main__":
    main({"csv": _variant(CSVExperimentTracker), "json": _variant(JSONExperimentTracker)})
