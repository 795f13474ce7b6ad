"""A result span's evaluation events as OpenTelemetry log records (their attributes and ids).

The GenAI semantic conventions define ``gen_ai.evaluation.result`` as an *event*: a log record
with that event name, which "SHOULD be parented to the GenAI operation span being evaluated".
Each of a result span's ``gen_ai.evaluation.result`` span events becomes one record, built
from the span alone: its events already carry what the call's capture mode and ``redact=``
let out, and a span rebuilt from the store is the first one again, so the records need no
storage of their own and a re-send is the same record (``ATTR_EVENT_ID``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentelemetry.util.types import AttributeValue

from ._names import ATTR_DATASET, ATTR_EVENT_ID, ATTR_PROJECT, ATTR_RUN_ID, ATTR_SAMPLE_ID

__all__ = ["EventRecord", "event_id", "event_records", "parse_event_id"]

_CARRIED = (ATTR_PROJECT, ATTR_RUN_ID, ATTR_DATASET, ATTR_SAMPLE_ID)
"""What a record copies of its result span, beside the event's own attributes: enough to find
a run's events and pair them with samples, never the payloads."""


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One evaluation event as a log record: its attributes, the span it is parented to, and
    its time (the result's)."""

    attributes: dict[str, AttributeValue]
    trace_id: int
    span_id: int
    timestamp_ns: int


def event_id(trace_id: int, span_id: int, index: int) -> str:
    """``ATTR_EVENT_ID`` of the ``index``-th event of the result span ``trace_id/span_id``."""
    return f"{trace_id:032x}-{span_id:016x}-{index}"


def parse_event_id(text: str) -> tuple[str, str, int] | None:
    """The result span's hex trace and span ids and the event's index, or None for text that
    is not an ``ATTR_EVENT_ID``."""
    parts = text.split("-")
    if len(parts) != 3 or len(parts[0]) != 32 or len(parts[1]) != 16 or not parts[2].isdigit():
        return None
    try:
        int(parts[0], 16), int(parts[1], 16)
    except ValueError:
        return None
    return parts[0], parts[1], int(parts[2])


def event_records(
    span_attributes: Mapping[str, AttributeValue],
    events: Sequence[Mapping[str, AttributeValue]],
    *,
    trace_id: int,
    span_id: int,
    timestamp_ns: int,
    evaluated: tuple[int, int] | None,
) -> list[EventRecord]:
    """One record per evaluation event of the result span ``trace_id/span_id``, parented to
    ``evaluated`` (the application span the row's ``traceparent`` or the call's context
    names) when there is one, else to the result span itself."""
    carried = {key: span_attributes[key] for key in _CARRIED if key in span_attributes}
    parent_trace, parent_span = evaluated if evaluated is not None else (trace_id, span_id)
    return [
        EventRecord(
            {**event, **carried, ATTR_EVENT_ID: event_id(trace_id, span_id, index)},
            parent_trace,
            parent_span,
            timestamp_ns,
        )
        for index, event in enumerate(events)
    ]
