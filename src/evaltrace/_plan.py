"""Planning one log call: validate and encode everything before a span exists.

A plan is pure data (no spans, no I/O); the same plan serves ``log`` and ``alog``,
``log_batch`` and ``log_batch_sync``. A plan that raises leaves nothing behind.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import SpanContext, format_span_id, format_trace_id

from . import _capture
from ._codec import dumps, loads, unwrap
from ._context import parse_traceparent
from ._validate import where
from .schema import ATTR_SAMPLE_FINGERPRINT, TEST_CASE_ID
from .schema._encode import EncodedResult, encode_result, sample_id_of
from .schema._encode import call_attributes as _call_attributes
from .schema._fingerprint import sample_fingerprint
from .schema._scores import score_list
from .schema._walk import Limits

__all__ = ["CapturePolicy", "Plan", "PlannedRow", "encode_row", "plan_call"]

_SEQ = itertools.count(1)


@dataclass(frozen=True, slots=True)
class CapturePolicy:
    """What of the text is kept where (see ``_capture``), and the user's redaction hook."""

    mode: str = _capture.ALL
    redact: _capture.Redact | None = None


@dataclass(slots=True)  # not frozen: that costs an object.__setattr__ per field
class PlannedRow:
    """One result: the span's encoding, and the JSON the store keeps (equal unless ``local``)."""

    encoded: EncodedResult
    start_ns: int
    seq: int
    batch_row: int | None
    """The row's index in its ``log_batch`` call; None for ``log``."""
    result_json: str
    data_json: str
    link: SpanContext | None
    """The row's own ``traceparent``, else the call's link."""
    scores_json: str
    """The result's scores (``schema._scores.score_list``), kept beside it for history."""


@dataclass(slots=True)
class Plan:
    """A validated, encoded log call, ready to become spans and one committed transaction."""

    project_name: str
    run_id: str
    dataset_name: str
    rows: list[PlannedRow]
    link: SpanContext | None
    batch_id: str | None
    metadata_json: str
    """What the store keeps (masked under ``none``); spans carry ``sent_metadata_json``."""
    context_json: str
    capture: str = _capture.ALL
    """The capture mode, kept with the call: every re-send from the store applies it."""
    sent_metadata_json: str = "{}"
    writer: str | None = None
    """The tracker's writer id (``eval.writer``): readers count a run's results per writer."""
    provenance_json: str | None = None
    """The run's provenance (``eval.provenance``), None when nothing is known."""
    offset: int = 0
    """The index of the first row in its ``log_batch`` call (a batch planned in parts)."""
    batch_size: int | None = None
    """Rows of the whole call when this plan is one part of it; None: ``len(rows)``."""


def _identify(encoded: EncodedResult, stored: tuple[str | None] | None, data: Any) -> None:
    """The provisional test-case attributes: ``test.case.id`` and the sample's fingerprint
    (``stored``, else that of ``data``: plain JSON data)."""
    attributes = encoded.attributes
    attributes[TEST_CASE_ID] = encoded.sample_id
    fingerprint = stored[0] if stored is not None else sample_fingerprint(data)
    if fingerprint is not None:
        attributes[ATTR_SAMPLE_FINGERPRINT] = fingerprint


def encode_row(
    result: Any,
    data: Any,
    *,
    shared: Mapping[str, Any],
    seq: int,
    row: int | None,
    limits: Limits,
    content: CapturePolicy,
    link: tuple[str, str] | None = None,
    stored_fingerprint: tuple[str | None] | None = None,
) -> tuple[EncodedResult, str, str]:
    """A result's span encoding and the JSON the store keeps, under the content policy
    (``link``: the row's own linked span, as ``encode_result`` takes it). The sample's
    fingerprint is computed from the (redacted, unmasked) data row, unless a rebuild from the
    store gives the one it stored (``stored_fingerprint``, a 1-tuple: None is unknown)."""
    if content.redact is not None:
        result = content.redact("evaluation_result", result)
        data = content.redact("data", data)
    if content.mode == _capture.ALL:
        encoded = encode_result(
            result, data, shared=shared, seq=seq, row=row, limits=limits, link=link
        )
        if stored_fingerprint is None:  # from the row as stored: as any reader would hash it
            stored_fingerprint = (sample_fingerprint(loads(encoded.data_json)),)
        _identify(encoded, stored_fingerprint, None)
        return encoded, encoded.result_json, encoded.data_json
    result_json = dumps(unwrap(result), "evaluation_result", row)
    data_json = dumps(unwrap(data), "data", row)
    plain_result, plain_data = loads(result_json), loads(data_json)
    local = content.mode == _capture.LOCAL
    masked = encode_result(
        _capture.mask_result(plain_result),
        _capture.mask_data(plain_data),
        shared=shared,
        seq=seq,
        row=row,
        limits=limits,
        link=link,
        # The span is masked; the store keeps the text, paired by the text's sample id, and
        # history counts what the store keeps.
        sample_id=sample_id_of(plain_data, data_json) if local else None,
    )
    _identify(masked, stored_fingerprint, plain_data)
    if not local:
        return masked, masked.result_json, masked.data_json
    masked.plain = plain_result
    return masked, result_json, data_json


def plan_call(
    *,
    project_name: str,
    run_id: str,
    dataset_name: str,
    results: Sequence[Any],
    data: Sequence[Any],
    metadata: Mapping[str, Any] | None,
    context_json: str,
    link: SpanContext | None,
    batch_id: str | None,
    limits: Limits,
    content: CapturePolicy,
    writer: str | None = None,
    provenance_json: str | None = None,
    offset: int = 0,
    batch_size: int | None = None,
) -> Plan:
    """Encode every row of one call (raising, naming field and row, before any span); or of
    one part of a batch: its rows start at ``offset`` of ``batch_size``."""
    if content.redact is not None and metadata:
        metadata = content.redact("metadata", metadata)
    mode = content.mode
    metadata_json = _capture.stored(mode, dumps(metadata, "metadata", None) if metadata else "{}")
    context_json = _capture.stored(mode, context_json)
    sent_metadata_json = _capture.outgoing(mode, metadata_json)
    shared = _call_attributes(
        project_name=project_name,
        run_id=run_id,
        dataset_name=dataset_name,
        metadata_json=sent_metadata_json,
        context_json=_capture.outgoing(mode, context_json),
        link=(format_trace_id(link.trace_id), format_span_id(link.span_id)) if link else None,
        batch_id=batch_id,
        writer=writer,
        provenance_json=provenance_json,
    )
    rows: list[PlannedRow] = []
    single = batch_id is None
    for i, (result, row_data) in enumerate(zip(results, data, strict=True)):
        seq = next(_SEQ)
        index = None if single else offset + i
        row_link = link
        if isinstance(row_data, Mapping) and "traceparent" in row_data:
            row_link = parse_traceparent(row_data, where("data.traceparent", index))
        own_link = (
            (format_trace_id(row_link.trace_id), format_span_id(row_link.span_id))
            if row_link is not link and row_link is not None
            else None
        )
        encoded, result_json, data_json = encode_row(
            result,
            row_data,
            shared=shared,
            seq=seq,
            row=index,
            limits=limits,
            content=content,
            link=own_link,
        )
        scores_json = dumps(score_list(encoded.plain), "evaluation_result", index)
        rows.append(
            PlannedRow(
                encoded, time.time_ns(), seq, index, result_json, data_json, row_link, scores_json
            )
        )
    return Plan(
        project_name,
        run_id,
        dataset_name,
        rows,
        link,
        batch_id,
        metadata_json,
        context_json,
        mode,
        sent_metadata_json,
        writer,
        provenance_json,
        offset,
        batch_size,
    )
