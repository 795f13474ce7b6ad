"""Decoding result spans (from any backend) into the result dicts users get back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from .._codec import loads, loads_vouched
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
    READ_KEYS,
    RECORD_FIELDS,
    RECORD_VERSION,
    RESULT_READ_KEYS,
    RESULT_SPAN,
)

__all__ = [
    "batch_id_of",
    "chunk_size",
    "decode_object",
    "decode_record",
    "decode_result",
    "epoch_ns",
    "is_result",
    "iso",
    "link_dict",
    "query_terms",
    "read_keys",
    "result_dict",
    "sort_key",
]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_LAST_SECOND: tuple[int | None, str] = (None, "")
"""The last whole second formatted (without its offset): results of a run are read in logging
order, many per second, and formatting only the microseconds is 0.3 us instead of 3.5 us per
result (profile of a 200,000-result ``iter_run_results``)."""


def iso(ns: int) -> str:
    """ISO 8601 UTC timestamp of a nanosecond epoch time, cut (not rounded) to the
    microsecond, so that filtering by a timestamp a read returned finds that result again.
    ``datetime.isoformat`` exactly (no fraction when it is zero)."""
    global _LAST_SECOND
    seconds, micro = divmod(ns // 1000, 1_000_000)
    cached = _LAST_SECOND
    if cached[0] != seconds:
        cached = _LAST_SECOND = (seconds, (_EPOCH + timedelta(seconds=seconds)).isoformat()[:-6])
    return f"{cached[1]}.{micro:06d}+00:00" if micro else f"{cached[1]}+00:00"


def epoch_ns(moment: datetime) -> int:
    """Nanoseconds since the epoch of an aware datetime, exactly (no float on the way)."""
    return (moment - _EPOCH) // timedelta(microseconds=1) * 1000


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
    """One result as ``get_run_results`` returns it: the keys of ``RESULT_KEYS``, in order.
    (Positional too: ``decode_result`` passes its 12 values so, 1 us a result cheaper.)"""
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
    get = attributes.get  # one lookup per key, inlined: remote reads decode ~20,000 per run
    run_id, project, dataset = get(ATTR_RUN_ID), get(ATTR_PROJECT), get(ATTR_DATASET)
    result, data, sample_id = get(ATTR_RESULT), get(ATTR_DATA), get(ATTR_SAMPLE_ID)
    metadata, context = get(ATTR_METADATA), get(ATTR_CONTEXT)
    return result_dict(
        run_id if isinstance(run_id, str) else "",
        project if isinstance(project, str) else "",
        dataset if isinstance(dataset, str) else "",
        loads(result) if isinstance(result, str) and result else None,
        loads(data) if isinstance(data, str) and data else None,
        decode_object(metadata if isinstance(metadata, str) else None),
        decode_object(context if isinstance(context, str) else None),
        sample_id if isinstance(sample_id, str) else "",
        start_ns,
        trace_id,
        span_id,
        link_dict(get(ATTR_LINK_TRACE_ID), get(ATTR_LINK_SPAN_ID)),
    )


_RECORD_LENGTH = len(RECORD_FIELDS)


def decode_record(
    record: str | bytes,
    result: str | bytes | None,
    data: str | bytes | None,
    metadata: str | None,
    context: str | None,
    *,
    trace_id: str,
    span_id: str,
    start_ns: int,
) -> tuple[dict[str, Any], ResultRecord] | None:
    """A result span read from its record (``ATTR_RECORD``, see ``record_text``) and its four
    JSON attributes (the payloads as text or UTF-8 bytes): the attributes readers match,
    order and prove complete by (the identifiers, seq, batch id), and its result dict, as
    ``decode_result`` gives it. None for a record of another version or shape: read the
    attributes instead. Raises ``ValueError`` for a payload that is not JSON, as
    ``decode_result`` does."""
    try:
        fields = loads_vouched(record)
    except ValueError:
        return None
    if type(fields) is not list or len(fields) != _RECORD_LENGTH or fields[0] != RECORD_VERSION:
        return None
    _, vouched, seq, sample_id, link_trace, link_span, run_id, project, dataset, batch = fields
    if not (
        type(seq) is int
        and type(sample_id) is str
        and type(run_id) is str
        and type(project) is str
        and type(dataset) is str
    ):
        return None
    read = loads_vouched if vouched is True else loads
    attributes = {
        ATTR_RUN_ID: run_id,
        ATTR_PROJECT: project,
        ATTR_DATASET: dataset,
        ATTR_SEQ: seq,
        ATTR_SAMPLE_ID: sample_id,
        ATTR_BATCH_ID: batch,
        ATTR_LINK_TRACE_ID: link_trace,
        ATTR_LINK_SPAN_ID: link_span,
    }
    return attributes, result_dict(
        run_id,
        project,
        dataset,
        read(result) if result else None,
        read(data) if data else None,
        decode_object(metadata),
        decode_object(context),
        sample_id,
        start_ns,
        trace_id,
        span_id,
        link_dict(link_trace, link_span),
    )


_EVERY_READ_KEY = tuple(sorted(READ_KEYS))


def read_keys(name: str) -> tuple[str, ...]:
    """The attributes a reader decodes of a span named ``name``: a result span's own
    (``RESULT_READ_KEYS``), else every read key (batch roots and summaries: a few per read)."""
    return RESULT_READ_KEYS if name == RESULT_SPAN else _EVERY_READ_KEY


def is_result(name: str, attributes: Mapping[str, Any]) -> bool:
    """True for a result span."""
    return name == RESULT_SPAN and isinstance(attributes.get(ATTR_RUN_ID), str)


def chunk_size(name: str, attributes: Mapping[str, Any]) -> int | None:
    """For a batch root span, how many result spans its trace must hold."""
    if name != BATCH_SPAN:
        return None
    value = attributes.get(ATTR_BATCH_CHUNK_SIZE)
    return int(value) if isinstance(value, (int, str)) else None


def sort_key(attributes: Mapping[str, Any], start_ns: int) -> tuple[int, int]:
    """Logging order: start time, then the sequence number."""
    seq = attributes.get(ATTR_SEQ)
    return start_ns, int(seq) if isinstance(seq, (int, str)) else 0


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
