"""What the tracker hands the store to commit, and what the outbox hands back to re-send."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BatchRoot", "CallRecord", "ResultRow", "ReviewRow", "StoredTrace"]


@dataclass(slots=True)  # not frozen: that costs an object.__setattr__ per field
class CallRecord:
    """What every result of one log call shares."""

    run_id: str
    project_name: str
    dataset_name: str
    metadata_json: str
    context_json: str
    link: tuple[str, str] | None
    batch_id: str | None
    batch_size: int | None
    resource_json: str
    capture: str | None = "all"
    """The content capture mode the call was logged under (``_capture``): a re-send from the
    store masks by it. None: stored before modes were kept (layout < 5)."""
    provenance: str | None = None
    """The run's provenance as JSON (evaluator versions, code version), None when unknown
    (not said, or stored before layout 6)."""


@dataclass(slots=True)
class ResultRow:
    """One result span: ids and times fixed when it was logged, payloads exactly as encoded."""

    trace_id: int
    span_id: int
    parent_span_id: int | None
    start_ns: int
    end_ns: int
    seq: int
    row: int | None
    sample_id: str
    result_json: str
    data_json: str
    link: tuple[str, str] | None
    """Hex (trace id, span id) of the application span this result is linked to."""
    scores_json: str
    """``schema._scores.score_list`` of the result as JSON, computed once where the row is made
    (``_plan`` for a logged result, the span exporter for a received span) and stored as is."""
    fingerprint: str | None = None
    """The sample's fingerprint (``schema._fingerprint``), None when unknown."""


@dataclass(slots=True)
class BatchRoot:
    """The ``evaltrace.batch`` root span of one trace of a batch."""

    trace_id: int
    span_id: int
    chunk_start: int
    chunk_size: int
    start_ns: int
    end_ns: int


@dataclass(slots=True)
class ReviewRow:
    """One review as the store keeps it (``_reviews``): the note already redacted, and masked
    when the capture mode is ``none``."""

    seq: int
    """The store's sequence number (the row id, never reused)."""
    run_id: str
    sample_id: str
    result_trace_id: int
    result_span_id: int
    span_id: int
    """The review span's own id, fixed at commit: a re-send is the same span."""
    verdict: str
    note: str | None
    reviewer: str | None
    created_ns: int
    project_name: str
    resource_json: str
    """The resource the review span is sent with: its result's, when the store holds it."""
    capture: str


@dataclass(slots=True)
class StoredTrace:
    """One committed trace as the outbox re-sends it: its call, results and batch root."""

    outbox_id: int
    trace_id: int
    call: CallRecord
    results: list[ResultRow] = field(default_factory=list)
    root: BatchRoot | None = None
    review: ReviewRow | None = None
    """Set for an outbox entry of a review (no results, no root): its one span."""
