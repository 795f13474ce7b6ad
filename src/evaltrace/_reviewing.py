"""Human review, write side: a person's verdict on one result, committed as a log call is.

A review is checked, redacted (``redact("note", note)``) and masked as the tracker's capture
mode says, then committed to the store in one transaction with its outbox entry (when the
tracker forwards over OTLP); the forwarder then sends it as a review span, a child of the
reviewed result span, exactly as it re-sends a stored trace. Reviews never touch the results,
their scores, history or the gate. ``_review_writer.ReviewWriter`` is the public face.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from . import _capture
from ._exceptions import ConfigurationError, InvalidInputError, StoreWriteError
from ._ids import OsRandomIdGenerator
from ._plan import CapturePolicy
from ._types import ReviewRecord
from .schema._review import check_review
from .store import ReviewRow, StoreWriter, review_record

__all__ = ["as_record", "commit_review", "refusal_of", "refuse"]

_IDS = OsRandomIdGenerator()


def _note(note: str | None, content: CapturePolicy) -> str | None:
    """The note as the store keeps it: redacted, then masked under ``none``."""
    if note is not None and content.redact is not None:
        note = content.redact("note", note)
        if note is not None and not isinstance(note, str):
            raise InvalidInputError(f"redact('note', ...) returned {type(note).__name__}, not str")
    if note is not None and content.mode == _capture.NONE:
        note = _capture.mask_result(note)
    return note


def _hex(value: object, size: int, name: str) -> int:
    try:
        number = int(str(value), 16)
    except ValueError:
        number = -1
    if not 0 < number < 16 ** (2 * size):
        raise InvalidInputError(f"review result {name}: {value!r} is not a {2 * size}-hex id")
    return number


def commit_review(
    writer: StoreWriter,
    *,
    run_id: str,
    sample_id: str,
    verdict: str,
    note: str | None,
    reviewer: str | None,
    result: Mapping[str, Any] | None,
    content: CapturePolicy,
    resource_json: str,
    forward: bool,
) -> ReviewRow:
    """Check, redact and commit one review; the result it is about comes from the store, else
    from ``result`` (a result dict a query adapter returned: a run read from Jaeger)."""
    check_review(run_id, sample_id, verdict, note, reviewer)
    target = writer.review_target(run_id, sample_id)
    if target is not None:
        trace_id, span_id = target.trace_id, target.span_id
        project, resource = target.project_name, target.resource_json
    elif result is not None and result.get("sample_id") == sample_id:
        trace_id = _hex(result.get("trace_id"), 16, "trace_id")
        span_id = _hex(result.get("span_id"), 8, "span_id")
        project, resource = str(result.get("project_name") or ""), resource_json
    else:
        raise InvalidInputError(
            f"review: run {run_id!r} has no sample {sample_id!r} in the store {writer.path}"
        )
    row = ReviewRow(
        0,
        run_id,
        sample_id,
        trace_id,
        span_id,
        _IDS.generate_span_id(),
        verdict,
        _note(note, content),
        reviewer,
        time.time_ns(),
        project,
        resource,
        content.mode,
    )
    return writer.commit_review(row, forward=forward)


def refusal_of(writer: StoreWriter | None, unwritable: StoreWriteError | None) -> str | None:
    """Why a tracker takes no review: a read-only store, or no store at all."""
    if unwritable is not None:
        return f"the store is read-only: {unwritable}"
    if writer is None or not writer.keep_delivered:
        return "reviews are kept in a store: this tracker has none (store=False)"
    return None


def as_record(row: ReviewRow) -> ReviewRecord:
    """A committed review as ``get_reviews`` returns it."""
    return review_record(row)


def refuse(reason: str) -> ConfigurationError:
    """The error a review gets where none can be written."""
    return ConfigurationError(f"review not recorded: {reason}")
