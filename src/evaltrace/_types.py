"""The read contract: the shapes every adapter returns (plain dicts, so the seed interface's
``list[dict[str, Any]]`` holds; these ``TypedDict``s give them names and types)."""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = ["LinkRecord", "MetricStats", "ResultRecord", "RunSummary"]


class LinkRecord(TypedDict):
    """The application span a result is linked to."""

    trace_id: str
    span_id: str


class ResultRecord(TypedDict):
    """One result as ``get_run_results`` returns it: values exactly as logged."""

    run_id: str
    project_name: str
    dataset_name: str
    evaluation_result: Any
    data: Any
    metadata: dict[str, Any]
    context: dict[str, Any]
    sample_id: str
    timestamp: str
    """ISO 8601 UTC time the result was logged."""
    trace_id: str
    span_id: str
    link: LinkRecord | None


class MetricStats(TypedDict, total=False):
    """Statistics of one metric path over a run's results."""

    count: int
    mean: float
    min: float
    max: float
    p50: float
    p90: float
    non_finite: int
    pass_count: int
    pass_rate: float


class RunSummary(TypedDict):
    """One run as ``get_experiment_history`` returns it."""

    run_id: str
    project_name: str
    dataset_name: str
    started_at: str
    ended_at: str
    num_results: int
    metadata: dict[str, Any]
    metrics: dict[str, MetricStats]
