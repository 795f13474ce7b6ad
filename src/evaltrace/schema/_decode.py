"""Decoding result spans (from any backend) into the result dicts users get back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .._codec import loads
from .._types import LinkRecord, ResultRecord
from ._names import (
    ATTR_BATCH_CHUNK_SIZE,
    ATTR_BATCH_ID,
    ATTR_CONTEXT,
    ATTR_DATA,
    ATTR_DATASET,
    ATTR_LINK_SPAN_ID,
    ATTR_LINK_TRACE_ID,
    ATTR_METADATA,
    ATTR_PROJECT,
    ATTR_RESULT,
    ATTR_RUN_ID,
    ATTR_SAMPLE_ID,
    ATTR_SEQ,
    BATCH_SPAN,
    RESULT_SPAN,
)

__all__ = [
    "batch_id_of",
    "chunk_size",
    "decode_object",
    "decode_result",
    "epoch_ns",
    "is_result",
    "iso",
    "link_dict",
    "query_terms",
    "result_dict",
    "sort_key",
]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(ns: int) -> str:
    """ISO 8601 UTC timestamp of a nanosecond epoch time, cut (not rounded) to the
    microsecond, so that filtering by a timestamp a read returned finds that result again."""
    return (_EPOCH + timedelta(microseconds=ns // 1000)).isoformat()


def epoch_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime, exactly (no float on the way)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


def _text(attributes: Mapping[str, Any], key: str) -> str:
    value = attributes.get(key)
    return value if isinstance(value, str) else ""


def decode_object(text: str | None) -> Any:
    """``loads(text or "{}")``; the empty object, the usual metadata and context, without the
    JSON parser (a fresh dict each time, as ``loads`` gives)."""
    return {} if not text or text == "{}" else loads(text)


def link_dict(trace_id: object, span_id: object) -> LinkRecord | None:
    """The linked application span as returned to users, or None."""
    if isinstance(trace_id, str) and isinstance(span_id, str):
        return {"trace_id": trace_id, "span_id": span_id}
    return None


def result_dict(
    *,
    run_id: str,
    project_name: str,
    dataset_name: str,
    evaluation_result: Any,
    data: Any,
    metadata: Any,
    context: Any,
    sample_id: str,
    start_ns: int,
    trace_id: str,
    span_id: str,
    link: LinkRecord | None,
) -> ResultRecord:
    """One result as ``get_run_results`` returns it: the keys of ``RESULT_KEYS``, in order."""
    return {
        "run_id": run_id,
        "project_name": project_name,
        "dataset_name": dataset_name,
        "evaluation_result": evaluation_result,
        "data": data,
        "metadata": metadata,
        "context": context,
        "sample_id": sample_id,
        "timestamp": iso(start_ns),
        "trace_id": trace_id,
        "span_id": span_id,
        "link": link,
    }


def decode_result(
    attributes: Mapping[str, Any], *, trace_id: str, span_id: str, start_ns: int
) -> ResultRecord:
    """The result dict of one result span: exact values from the JSON payload."""
    return result_dict(
        run_id=_text(attributes, ATTR_RUN_ID),
        project_name=_text(attributes, ATTR_PROJECT),
        dataset_name=_text(attributes, ATTR_DATASET),
        evaluation_result=loads(_text(attributes, ATTR_RESULT) or "null"),
        data=loads(_text(attributes, ATTR_DATA) or "null"),
        metadata=decode_object(_text(attributes, ATTR_METADATA)),
        context=decode_object(_text(attributes, ATTR_CONTEXT)),
        sample_id=_text(attributes, ATTR_SAMPLE_ID),
        start_ns=start_ns,
        trace_id=trace_id,
        span_id=span_id,
        link=link_dict(attributes.get(ATTR_LINK_TRACE_ID), attributes.get(ATTR_LINK_SPAN_ID)),
    )


def is_result(name: str, attributes: Mapping[str, Any]) -> bool:
    """True for a result span."""
    return name == RESULT_SPAN and isinstance(attributes.get(ATTR_RUN_ID), str)


def chunk_size(name: str, attributes: Mapping[str, Any]) -> int | None:
    """For a batch root span, how many result spans its trace must hold."""
    if name != BATCH_SPAN:
        return None
    value = attributes.get(ATTR_BATCH_CHUNK_SIZE)
    return int(value) if isinstance(value, int | str) else None


def sort_key(attributes: Mapping[str, Any], start_ns: int) -> tuple[int, int]:
    """Logging order: start time, then the sequence number."""
    seq = attributes.get(ATTR_SEQ)
    return start_ns, int(seq) if isinstance(seq, int | str) else 0


def batch_id_of(attributes: Mapping[str, Any]) -> str | None:
    """The log_batch call a span belongs to, if any."""
    value = attributes.get(ATTR_BATCH_ID)
    return value if isinstance(value, str) else None


def query_terms(
    *, run_id: str | None = None, project_name: str | None = None, dataset_name: str | None = None
) -> dict[str, str]:
    """Attribute equality terms that select result spans, for backend searches."""
    terms: dict[str, str] = {}
    if run_id is not None:
        terms[ATTR_RUN_ID] = run_id
    if project_name is not None:
        terms[ATTR_PROJECT] = project_name
    if dataset_name is not None:
        terms[ATTR_DATASET] = dataset_name
    return terms
