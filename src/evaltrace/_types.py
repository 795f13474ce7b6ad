"""The read contract: the shapes every adapter returns (plain dicts, so the seed interface's
``list[dict[str, Any]]`` holds; these ``TypedDict``s give them names and types)."""

from __future__ import annotations

from typing import Any, TypedDict

__all__ = [
    "LinkRecord",
    "MetricStats",
    "ResultRecord",
    "ReviewRecord",
    "RunCompleteness",
    "RunSummary",
    "WriterCount",
]


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


class ReviewRecord(TypedDict):
    """A person's verdict on one result, as ``get_reviews`` returns it (oldest first; the
    latest of a sample stands, the earlier ones are its history)."""

    run_id: str
    sample_id: str
    verdict: str
    """``pass`` or ``fail``."""
    note: str | None
    """As stored (the store) or as sent (a span backend: masked unless capture is ``all``)."""
    reviewer: str | None
    created_at: str
    """ISO 8601 UTC time of the review."""
    seq: int
    """The writing store's sequence number: orders a sample's reviews."""
    trace_id: str
    span_id: str
    """The reviewed result span (the review span's parent)."""
    review_span_id: str
    """The review's own span."""


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
    quantiles_exact: bool
    """True: p50/p90 are numpy's linear quantiles of the values; False: the sketch's."""
    relative_accuracy: float
    """The sketch's relative error bound on p50/p90 (only when they are not exact)."""
    se: float | None
    """CLT standard error of the mean; None for n < 2, no spread, or an older aggregate."""
    ci_low: float | None
    ci_high: float | None
    """The mean's 95 % t interval (``interval``); None where ``se`` is."""
    interval: str
    """Which interval ``ci_low``/``ci_high`` are: ``t95``, per result (not clustered)."""
    pass_ci_low: float | None
    pass_ci_high: float | None
    """The pass rate's 95 % Wilson interval (``pass_interval``)."""
    pass_interval: str


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


class WriterCount(TypedDict):
    """One writer of a run: what its latest run summary said against what the reader found."""

    writer: str
    """``store:<id>`` (every tracker on one store) or ``process:<id>``; ``""`` for results
    whose spans name no writer (logged before writers were named)."""
    said: int | None
    """Results its latest delivered summary counts; None: no summary of it was found."""
    found: int
    """Its result spans the reader found (each once)."""
    closed: bool
    """Its latest summary was sent at ``close()`` or by ``evaltrace sync``: it is done."""


class RunCompleteness(TypedDict):
    """How complete a run written by one or many writers reads (``get_run_completeness``)."""

    run_id: str
    declared_writers: int | None
    """``evaltrace.shards`` of the run's metadata; None when the run declared none."""
    writers: list[WriterCount]
    complete: bool
    """Every writer closed and found exactly as it said, and as many as declared."""
    problems: list[str]
    """Why not complete, one line per writer (or per missing writer), empty when it is."""
