"""Run summaries: what ``get_experiment_history`` returns, computed alike for every backend."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ._exceptions import InvalidInputError, InvalidInputTypeError
from ._scores import numeric_scores

__all__ = ["HistoryFilter", "history_row", "metrics_of", "summarize_run", "summarize_runs"]


def _instant(value: Any, field: str) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInputError(f"{field}: not an ISO 8601 time: {value!r}") from None
    if not isinstance(value, datetime):
        raise InvalidInputTypeError(f"{field}: expected a datetime or ISO 8601 string")
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """The filters ``get_experiment_history`` accepts."""

    project_name: str | None = None
    dataset_name: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    metadata: Mapping[str, Any] | None = None
    limit: int | None = None

    @classmethod
    def from_kwargs(cls, project_name: str | None, kwargs: Mapping[str, Any]) -> HistoryFilter:
        """Validate ``get_experiment_history(**kwargs)``; unknown names are an error."""
        known = {"dataset_name", "since", "until", "metadata", "limit", "project_name"}
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise InvalidInputTypeError(
                f"get_experiment_history got unknown filter(s) {unknown}; known: {sorted(known)}"
            )
        limit = kwargs.get("limit")
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or limit < 1
        ):
            raise InvalidInputError(f"limit: expected a positive integer, got {limit!r}")
        metadata = kwargs.get("metadata")
        if metadata is not None and not isinstance(metadata, Mapping):
            raise InvalidInputTypeError("metadata: expected a mapping of values to match")
        for name in ("dataset_name", "project_name"):
            if kwargs.get(name) is not None and not isinstance(kwargs[name], str):
                raise InvalidInputTypeError(f"{name}: expected a string")
        return cls(
            project_name=kwargs.get("project_name", project_name),
            dataset_name=kwargs.get("dataset_name"),
            since=_instant(kwargs.get("since"), "since"),
            until=_instant(kwargs.get("until"), "until"),
            metadata=metadata,
            limit=limit,
        )

    def matches(self, run: Mapping[str, Any]) -> bool:
        """True when a run summary passes every filter (started_at within since/until)."""
        if self.project_name is not None and run["project_name"] != self.project_name:
            return False
        if self.dataset_name is not None and run["dataset_name"] != self.dataset_name:
            return False
        started = datetime.fromisoformat(run["started_at"])
        if self.since is not None and started < self.since:
            return False
        if self.until is not None and started > self.until:
            return False
        if self.metadata:
            meta = run.get("metadata") or {}
            return all(key in meta and meta[key] == value for key, value in self.metadata.items())
        return True

    def apply(self, runs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Filter, order newest first, and cut to ``limit``."""
        kept = sorted(
            (r for r in runs if self.matches(r)), key=lambda r: r["started_at"], reverse=True
        )
        return kept[: self.limit] if self.limit else kept


def _percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _metric_stats(values: list[float | bool]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    flags = [v for v in values if isinstance(v, bool)]
    numbers = [float(v) for v in values if not isinstance(v, bool)]
    finite = sorted(v for v in numbers if math.isfinite(v))
    if numbers:
        stats["count"] = len(finite)
        if finite:
            stats.update(
                mean=math.fsum(finite) / len(finite),
                min=finite[0],
                max=finite[-1],
                p50=_percentile(finite, 0.5),
                p90=_percentile(finite, 0.9),
            )
        if len(finite) < len(numbers):
            stats["non_finite"] = len(numbers) - len(finite)
    if flags:
        stats["pass_count"] = sum(flags)
        stats["pass_rate"] = sum(flags) / len(flags)
        stats.setdefault("count", len(flags))
    return stats


def metrics_of(evaluation_results: Iterable[Any]) -> dict[str, dict[str, Any]]:
    """``metrics`` of a history row: statistics per numeric or boolean *score* path.

    Config leaves beside the scores (``threshold``, ``strict_mode``, token counts) are left
    out: their means would crowd out the scores and say nothing about quality.
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
    metrics: dict[str, dict[str, Any]],
) -> dict[str, Any]:
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


def summarize_run(results: list[dict[str, Any]]) -> dict[str, Any]:
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


def summarize_runs(results: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """History rows for results of any number of runs."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for result in results:
        runs.setdefault(result["run_id"], []).append(result)
    return [summarize_run(rows) for rows in runs.values()]
