"""Results and history as pandas DataFrames (the ``evaltrace[pandas]`` extra).

pandas is imported when a frame is asked for, never with evaltrace.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ._types import ResultRecord, RunSummary
from .schema._scores import score_paths

__all__ = ["history_frame", "results_frame"]

_RESULT_COLUMNS = ("run_id", "sample_id", "timestamp", "trace_id", "span_id")
_RUN_COLUMNS = (
    "run_id",
    "project_name",
    "dataset_name",
    "started_at",
    "ended_at",
    "num_results",
)


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as exc:
        raise ImportError("DataFrames need pandas: pip install 'evaltrace[pandas]'") from exc
    return pandas


def results_frame(results: Iterable[ResultRecord]) -> Any:
    """One row per result: its ids and time, one column per score (the ``_scores`` rule; raw
    values, booleans stay booleans), then ``data`` and ``metadata`` as objects."""
    pandas = _pandas()
    rows = []
    for result in results:
        row: dict[str, Any] = {column: result[column] for column in _RESULT_COLUMNS}  # type: ignore[literal-required]
        row.update(
            {path: score.value for path, score in score_paths(result["evaluation_result"]).items()}
        )
        row["data"] = result["data"]
        row["metadata"] = result["metadata"]
        rows.append(row)
    frame = pandas.DataFrame(rows)
    if "timestamp" in frame:
        frame["timestamp"] = pandas.to_datetime(frame["timestamp"], utc=True)
    return frame


def history_frame(runs: Iterable[RunSummary]) -> Any:
    """One row per run: its summary, and ``<metric>.<stat>`` columns (mean, p50, pass_rate…)."""
    pandas = _pandas()
    rows = []
    for run in runs:
        row: dict[str, Any] = {column: run[column] for column in _RUN_COLUMNS}  # type: ignore[literal-required]
        row["metadata"] = run["metadata"]
        for path, stats in run["metrics"].items():
            for stat, value in stats.items():
                row[f"{path}.{stat}"] = value
        rows.append(row)
    frame = pandas.DataFrame(rows)
    for column in ("started_at", "ended_at"):
        if column in frame:
            frame[column] = pandas.to_datetime(frame[column], utc=True)
    return frame
