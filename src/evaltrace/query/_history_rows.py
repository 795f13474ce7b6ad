"""History rows (read side): what ``get_experiment_history`` returns, computed alike for every
backend, from decoded results (``summarize_runs``) or from run-summary spans
(``merge_summaries``). The aggregate they merge is ``schema/_aggregate`` (write side)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .._codec import loads
from .._types import MetricStats, ResultRecord, RunSummary
from ..schema import SummaryRecord
from ..schema._aggregate import MetricAggregate, aggregate, merge_encoded, stats_of
from ..schema._decode import decode_object, iso
from ..schema._summary_span import latest

__all__ = [
    "history_row",
    "merge_summaries",
    "metrics_of",
    "summarize_run",
    "summarize_runs",
]


def metrics_of(evaluation_results: Iterable[Any]) -> dict[str, MetricStats]:
    """``metrics`` of a history row: statistics per numeric or boolean *score* path.

    Config leaves beside the scores (``threshold``, ``strict_mode``, token counts) are left
    out: their means would crowd out the scores and say nothing about quality. A result that
    holds no score (``None``: undecodable) adds nothing; nothing here raises on odd data.
    """
    return stats_of(aggregate(evaluation_results))


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


def merge_summaries(records: Iterable[SummaryRecord]) -> list[RunSummary]:
    """History rows from run-summary spans (of any runs, re-sent or not, in any order).

    A summary is cumulative: per (run, writer) only the highest ``seq`` counts, so a summary
    delivered twice, or an older one arriving late, changes nothing. Writers hold disjoint
    results (every tracker on one store shares the store's writer id), so a run's row adds
    its writers up: counts and pass counts exactly, min/max/sketch buckets exactly, the mean
    as a count-weighted mean. Writers merge in a fixed order (earliest start, then writer id),
    so every reader computes the same floats; the metadata is the earliest writer's.
    """
    runs: dict[str, list[SummaryRecord]] = {}
    for record in latest(records).values():
        runs.setdefault(record.run_id, []).append(record)
    rows: list[RunSummary] = []
    for writers in runs.values():
        writers.sort(key=lambda r: (r.started_ns, r.writer))
        merged: dict[str, MetricAggregate] = {}
        for record in writers:
            merge_encoded(merged, loads(record.aggregates_json))
        first = writers[0]
        rows.append(
            history_row(
                run_id=first.run_id,
                project_name=first.project_name,
                dataset_name=first.dataset_name,
                started_at=iso(first.started_ns),
                ended_at=iso(max(r.ended_ns for r in writers)),
                num_results=sum(r.num_results for r in writers),
                metadata=decode_object(first.metadata_json),
                metrics=stats_of(merged),
            )
        )
    return rows
