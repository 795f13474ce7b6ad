"""The run-summary span: one writer's cumulative summary of one run, as attributes and back.

History on remote backends reads these spans only, never the results (see docs/schema.md,
"Run-summary spans"). A summary is cumulative, so the latest one per (run, writer) says
everything that writer holds (``latest``: by seq, a closed one before an open one of the same
seq); writers are disjoint, so readers add them up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.util.types import AttributeValue

from ._names import (
    ATTR_DATASET,
    ATTR_METADATA,
    ATTR_PROJECT,
    ATTR_SCHEMA,
    ATTR_SUMMARY_AGGREGATES,
    ATTR_SUMMARY_CLOSED,
    ATTR_SUMMARY_ENDED,
    ATTR_SUMMARY_KIND,
    ATTR_SUMMARY_RESULTS,
    ATTR_SUMMARY_RUN_ID,
    ATTR_SUMMARY_SEQ,
    ATTR_SUMMARY_STARTED,
    ATTR_SUMMARY_WRITER,
    SCHEMA_VERSION,
    SUMMARY_KIND,
    SUMMARY_SPAN,
)

__all__ = ["SummaryRecord", "decode_summary", "latest", "summary_attributes", "summary_terms"]


@dataclass(frozen=True, slots=True)
class SummaryRecord:
    """What one run-summary span says: one writer's cumulative view of one run."""

    run_id: str
    project_name: str
    dataset_name: str
    writer: str
    seq: int
    num_results: int
    started_ns: int
    ended_ns: int
    metadata_json: str
    """The metadata of the writer's first call of the run, as logged."""
    aggregates_json: str
    """``encode_aggregates`` of the writer's results of the run, as JSON."""
    closed: bool = False
    """The writer is done with the run (``close()``, or ``evaltrace sync`` of its store)."""


def latest(records: Iterable[SummaryRecord]) -> dict[tuple[str, str], SummaryRecord]:
    """Each (run, writer)'s newest summary: the highest seq, closed before open at a tie (a
    close or a sync re-states the last summary as final); re-sent or late ones change nothing."""
    out: dict[tuple[str, str], SummaryRecord] = {}
    for record in records:
        key = (record.run_id, record.writer)
        known = out.get(key)
        if known is None or (record.seq, record.closed) > (known.seq, known.closed):
            out[key] = record
    return out


def summary_attributes(record: SummaryRecord) -> dict[str, AttributeValue]:
    """The attributes of a run-summary span."""
    return {
        ATTR_SUMMARY_KIND: SUMMARY_KIND,
        ATTR_SCHEMA: SCHEMA_VERSION,
        ATTR_PROJECT: record.project_name,
        ATTR_SUMMARY_RUN_ID: record.run_id,
        ATTR_DATASET: record.dataset_name,
        ATTR_METADATA: record.metadata_json,
        ATTR_SUMMARY_WRITER: record.writer,
        ATTR_SUMMARY_SEQ: record.seq,
        ATTR_SUMMARY_RESULTS: record.num_results,
        ATTR_SUMMARY_STARTED: record.started_ns,
        ATTR_SUMMARY_ENDED: record.ended_ns,
        ATTR_SUMMARY_AGGREGATES: record.aggregates_json,
        ATTR_SUMMARY_CLOSED: record.closed,
    }


def summary_terms(
    *, project_name: str | None = None, dataset_name: str | None = None
) -> dict[str, str]:
    """Attribute equality terms that select run-summary spans, for backend searches."""
    terms = {ATTR_SUMMARY_KIND: SUMMARY_KIND}
    if project_name is not None:
        terms[ATTR_PROJECT] = project_name
    if dataset_name is not None:
        terms[ATTR_DATASET] = dataset_name
    return terms


def _int(value: Any) -> int | None:
    """Backends return ints as ints (gRPC) or decimal strings (OTLP/JSON)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def decode_summary(name: str, attributes: Mapping[str, Any]) -> SummaryRecord | None:
    """The summary a span carries; None for any other span, or one missing a field (a reader
    skips what it cannot read rather than fail a whole history on another writer's span)."""
    if name != SUMMARY_SPAN or attributes.get(ATTR_SUMMARY_KIND) != SUMMARY_KIND:
        return None
    texts = [
        attributes.get(key)
        for key in (
            ATTR_SUMMARY_RUN_ID,
            ATTR_PROJECT,
            ATTR_DATASET,
            ATTR_SUMMARY_WRITER,
            ATTR_METADATA,
            ATTR_SUMMARY_AGGREGATES,
        )
    ]
    numbers = [
        _int(attributes.get(key))
        for key in (
            ATTR_SUMMARY_SEQ,
            ATTR_SUMMARY_RESULTS,
            ATTR_SUMMARY_STARTED,
            ATTR_SUMMARY_ENDED,
        )
    ]
    if not all(isinstance(t, str) for t in texts) or any(n is None for n in numbers):
        return None
    run_id, project, dataset, writer, metadata, aggregates = texts
    seq, count, started, ended = numbers
    return SummaryRecord(
        run_id=run_id,  # type: ignore[arg-type]
        project_name=project,  # type: ignore[arg-type]
        dataset_name=dataset,  # type: ignore[arg-type]
        writer=writer,  # type: ignore[arg-type]
        seq=seq,  # type: ignore[arg-type]
        num_results=count,  # type: ignore[arg-type]
        started_ns=started,  # type: ignore[arg-type]
        ended_ns=ended,  # type: ignore[arg-type]
        metadata_json=metadata,  # type: ignore[arg-type]
        aggregates_json=aggregates,  # type: ignore[arg-type]
        closed=attributes.get(ATTR_SUMMARY_CLOSED) in (True, "true"),
    )
