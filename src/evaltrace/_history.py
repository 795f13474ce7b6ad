"""Run summaries: what ``get_experiment_history`` returns, computed alike for every backend."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

from ._types import MetricStats, ResultRecord, RunSummary
from .schema import NotPlainError, metric_leaves

__all__ = [
    "as_float",
    "finite_mean",
    "history_row",
    "metrics_of",
    "summarize_run",
    "summarize_runs",
]

_log = logging.getLogger("evaltrace")


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    value = ordered[low] + (ordered[high] - ordered[low]) * (position - low)
    if math.isinf(value):  # the difference overflowed (-1e308 to 1e308): weigh the ends
        value = ordered[low] * (1 - (position - low)) + ordered[high] * (position - low)
    return value


def as_float(value: float | int) -> float | None:
    """``float(value)``; None for an int past the double range (10**400)."""
    try:
        return float(value)
    except OverflowError:  # an int past the double range: not a statistic
        return None


def finite_mean(finite: list[float]) -> float:
    """The exactly rounded sum over the count; summed pre-divided when the sum itself would
    pass the double range (two values of 1e308)."""
    try:
        return math.fsum(finite) / len(finite)
    except OverflowError:
        return math.fsum(v / len(finite) for v in finite)


def _metric_stats(values: list[float | bool]) -> MetricStats:
    stats: MetricStats = {}
    flags = [v for v in values if isinstance(v, bool)]
    numbers = [f for v in values if not isinstance(v, bool) and (f := as_float(v)) is not None]
    finite = sorted(v for v in numbers if math.isfinite(v))
    if numbers:
        stats["count"] = len(finite)
        if finite:
            stats["mean"] = finite_mean(finite)
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
    """``metrics`` of a history row: statistics per numeric or boolean leaf path. A result
    that cannot be walked (``None``: undecodable; or nested past the limit, from an older
    writer) is left out and logged, never fatal to the read."""
    values: dict[str, list[float | bool]] = {}
    skipped = 0
    for evaluation_result in evaluation_results:
        try:
            leaves = metric_leaves(evaluation_result)
        except (NotPlainError, RecursionError):
            skipped += 1
            continue
        for path, leaf in leaves.items():
            values.setdefault(path, []).append(leaf)
    if skipped:
        _log.warning("evaltrace: %d results could not be summarised (nested too deep)", skipped)
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
