"""Run summaries: what ``get_experiment_history`` returns, computed alike for every backend."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ._scores import numeric_scores
from ._types import MetricStats, ResultRecord, RunSummary

__all__ = ["history_row", "metrics_of", "summarize_run", "summarize_runs"]


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _as_float(value: float | int) -> float | None:
    try:
        return float(value)
    except OverflowError:  # an int past the double range: not a statistic
        return None


def _metric_stats(values: list[float | bool]) -> MetricStats:
    stats: MetricStats = {}
    flags = [v for v in values if isinstance(v, bool)]
    numbers = [f for v in values if not isinstance(v, bool) and (f := _as_float(v)) is not None]
    finite = sorted(v for v in numbers if math.isfinite(v))
    if numbers:
        stats["count"] = len(finite)
        if finite:
            stats["mean"] = math.fsum(finite) / len(finite)
            stats["min"] = finite[0]
            stats["max"] = finite[-1]
            stats["p50"] = _percentile(finite, 0.5)
            stats["p90"] = _percentile(finite, 0.9)
        if len(finite) < len(numbers):
            stats["non_finite"] = len(numbers) - len(finite)
    if flags:
        stats["pass_count"] = sum(flags)
        stats["pass_rate"] = sum(flags) / len(flags)
        stats.setdefault("count", len(flags))
    return stats


def metrics_of(evaluation_results: Iterable[Any]) -> dict[str, MetricStats]:
    """``metrics`` of a history row: statistics per numeric or boolean *score* path.

    Config leaves beside the scores (``threshold``, ``strict_mode``, token counts) are left
    out: their means would crowd out the scores and say nothing about quality. A result that
    holds no score (``None``: undecodable) adds nothing; nothing here raises on odd data.
    """
    values: dict[str, list[float | bool]] = {}
    for evaluation_result in evaluation_results:
        for path, (value, _) in numeric_scores(evaluation_result).items():
            values.setdefault(path, []).append(value)
    return {path: _metric_stats(vals) for path, vals in sorted(values.items())}


def history_row(
    *,
    run_id: str,
    project_name: str,
    dataset_name: str,
    started_at: str,
    ended_at: str,
    num_results: int,
    metadata: Any,
    metrics: dict[str, MetricStats],
) -> RunSummary:
    """One row of ``get_experiment_history``: its keys, in their order, spelled only here."""
    return {
        "run_id": run_id,
        "project_name": project_name,
        "dataset_name": dataset_name,
        "started_at": started_at,
        "ended_at": ended_at,
        "num_results": num_results,
        "metadata": metadata,
        "metrics": metrics,
    }


def summarize_run(results: list[ResultRecord]) -> RunSummary:
    """One history row from a run's decoded results (in logging order)."""
    first = results[0]
    stamps = [r["timestamp"] for r in results]
    return history_row(
        run_id=first["run_id"],
        project_name=first["project_name"],
        dataset_name=first["dataset_name"],
        started_at=min(stamps),
        ended_at=max(stamps),
        num_results=len(results),
        metadata=first["metadata"],
        metrics=metrics_of(r["evaluation_result"] for r in results),
    )


def summarize_runs(results: Iterable[ResultRecord]) -> list[RunSummary]:
    """History rows for results of any number of runs."""
    runs: dict[str, list[ResultRecord]] = {}
    for result in results:
        runs.setdefault(result["run_id"], []).append(result)
    return [summarize_run(rows) for rows in runs.values()]
