"""Encoding one logged result into span attributes and events, in one walk.

A result becomes, in insertion order: flat ``eval.metric.<path>`` attributes (queryable,
capped), the exact JSON payloads, then the identifiers (inserted last, so an attribute-count
limit evicts flat metrics, which the JSON still holds, before identifiers).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from hashlib import blake2b
from typing import Any
from uuid import UUID

from opentelemetry.util.types import AttributeValue

from .._codec import (
    dumps_plain,
    dumps_scalars,
    dumps_vouched,
    loads,
    orjson_exact,
    unwrap,
)
from ._names import (
    ATTR_BATCH_CHUNK_SIZE,
    ATTR_BATCH_CHUNK_START,
    ATTR_BATCH_ID,
    ATTR_BATCH_ROW,
    ATTR_BATCH_SIZE,
    ATTR_CONTEXT,
    ATTR_DATA,
    ATTR_DATASET,
    ATTR_EVENTS_OMITTED,
    ATTR_LINK_SPAN_ID,
    ATTR_LINK_TRACE_ID,
    ATTR_METADATA,
    ATTR_METRIC_PREFIX,
    ATTR_METRICS_OMITTED,
    ATTR_PROJECT,
    ATTR_PROVENANCE,
    ATTR_RECORD,
    ATTR_RESULT,
    ATTR_RUN_ID,
    ATTR_SAMPLE_ID,
    ATTR_SCHEMA,
    ATTR_SEQ,
    ATTR_WRITER,
    GEN_AI_RESPONSE_ID,
    RECORD_VERSION,
    SAMPLE_ID_KEYS,
    SCHEMA_VERSION,
    TEST_SUITE_RUN_ID,
)
from ._samples import sample_key
from ._scores import score_paths
from ._walk import (
    _ATTRIBUTES,
    _ID_TYPES,
    _LEAF_TYPES,
    Limits,
    NotPlainError,
    _flat_value,
    _Walk,
    flatten,
)

__all__ = [
    "EncodedResult",
    "Limits",
    "NotPlainError",
    "batch_attributes",
    "call_attributes",
    "encode_result",
    "flatten",
    "metric_leaves",
    "record_text",
    "sample_id_of",
    "walk_result",
]


@dataclass(slots=True)  # not frozen: that costs an object.__setattr__ per field
class EncodedResult:
    """A validated result, ready to become a span and a stored row."""

    attributes: dict[str, AttributeValue]
    events: list[dict[str, AttributeValue]]
    omitted_attributes: int
    omitted_events: int
    result_json: str
    data_json: str
    sample_id: str
    plain: Any = None
    """The result as plain JSON data (what ``result_json`` decodes to)."""
    vouched: bool = True
    """orjson reads ``result_json`` and ``data_json`` exactly (``record_text``)."""


def _metric_attributes(
    flat: dict[str, Any], result: Any, limits: Limits, total: int | None = None
) -> tuple[dict[str, Any], int]:
    """The flat attributes of ``flat``'s leaves under the cap; when they do not all fit,
    scores, pass/fail booleans and labels go first (``_scores``), so that a failing sample
    stays searchable however many config leaves a result carries. ``total`` is the number
    of leaves the walk saw (collisions included), for the omitted count."""
    max_string = limits.max_metric_string
    candidates = [
        (path, value)
        for path, leaf in flat.items()
        if (value := _flat_value(leaf, max_string)) is not None
    ]
    cap = limits.max_metric_attributes
    if len(candidates) > cap:
        scores = score_paths(result)
        candidates = [c for c in candidates if c[0] in scores] + [
            c for c in candidates if c[0] not in scores
        ]
    attributes = {ATTR_METRIC_PREFIX + path: value for path, value in candidates[:cap]}
    return attributes, (len(flat) if total is None else total) - len(attributes)


def walk_result(
    value: Any, limits: Limits
) -> tuple[dict[str, AttributeValue], int, list[dict[str, AttributeValue]], bool]:
    """Flat metric attributes, their omitted count, the evaluation events, and whether every
    float is finite, in one walk; raises ``NotPlainError`` unless ``value`` is plain JSON data.
    """
    walk = _Walk(limits)
    kind = type(value)
    try:
        if kind is dict:
            walk.node(value, "", _ATTRIBUTES, 0)
            if walk.omitted and len(walk.attributes) >= walk.cap:  # the cap was hit
                attributes, omitted = _metric_attributes(
                    flatten(value), value, limits, len(walk.attributes) + walk.omitted
                )
                return attributes, omitted, walk.events, walk.finite
            return walk.attributes, walk.omitted, walk.events, walk.finite
        if kind is list:
            flat = walk.merged_leaves(value)
        elif kind in _LEAF_TYPES:
            walk.items([value], "", 0)
            flat = {"value": value}
        else:
            raise NotPlainError
    except RecursionError:
        raise NotPlainError from None
    attributes, omitted = _metric_attributes(flat, value, limits)
    return attributes, omitted, walk.events, walk.finite


def metric_leaves(evaluation_result: Any) -> dict[str, float | bool]:
    """Numeric and boolean leaves, the values run history aggregates."""
    return {
        path: leaf
        for path, leaf in flatten(evaluation_result).items()
        if isinstance(leaf, bool | int | float)
    }


def sample_id_of(data: Any, data_json: str) -> str:
    """The row's own id when it has one, else a stable hash of its inputs (``sample_key``:
    never the generated answer, so reruns pair), else of its JSON (64-bit BLAKE2b: a
    pairing key, not a security boundary)."""
    if type(data) is dict or isinstance(data, Mapping):
        try:
            for key in SAMPLE_ID_KEYS:
                value = data.get(key)
                if value is not None and isinstance(value, _ID_TYPES) and type(value) is not bool:
                    return value if type(value) is str else _id_text(value)
        except Exception:  # a user's Mapping.get, or a key's __eq__, that raises
            return sample_id_of(loads(data_json), data_json)
    try:
        inputs = sample_key(data)
    except Exception:  # a user's Mapping that raises: the stored JSON is what counts
        inputs = sample_key(loads(data_json))
    text = data_json if inputs is None else inputs
    return blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def _id_text(value: str | int | UUID) -> str:
    """An id as the stored JSON spells it, never through a subclass's own ``__str__``."""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__repr__(value)
    return UUID.__str__(value)


def encode_result(
    evaluation_result: Any,
    data: Any,
    *,
    shared: Mapping[str, AttributeValue],
    seq: int,
    row: int | None,
    limits: Limits,
    link: tuple[str, str] | None = None,
    sample_id: str | None = None,
) -> EncodedResult:
    """Validate and encode one result; raises naming the field and row, before any span.

    ``shared`` is ``call_attributes``; ``row`` is the index in a batch (None for ``log``);
    ``link`` the row's own linked span (hex ids), when it is not the call's; ``sample_id``
    the row's, when ``data`` is a masked copy of it (else it is taken from ``data``).
    """
    plain = unwrap(evaluation_result)
    try:
        attributes, omitted, events, finite = walk_result(plain, limits)  # proves it plain
        result_json, vouched = dumps_vouched(plain, "evaluation_result", row, finite=finite)
    except Exception:  # NotPlainError, or a user's key whose __eq__ raised ("score" in node)
        result_json, plain = dumps_plain(evaluation_result, "evaluation_result", row)
        attributes, omitted, events, _ = walk_result(plain, limits)
        vouched = orjson_exact(result_json)
    data = unwrap(data)
    data_json, data_vouched = dumps_vouched(data, "data", row)
    if sample_id is None:
        sample_id = sample_id_of(data, data_json)
    if events and type(data) is dict:
        response_id = data.get("response_id", data.get(GEN_AI_RESPONSE_ID))
        if isinstance(response_id, str) and response_id:
            for event in events:
                event[GEN_AI_RESPONSE_ID] = response_id
    attributes[ATTR_RESULT] = result_json
    attributes[ATTR_DATA] = data_json
    attributes.update(shared)
    attributes[ATTR_SEQ] = seq
    if row is not None:
        attributes[ATTR_BATCH_ROW] = row
    attributes[ATTR_SAMPLE_ID] = sample_id
    if link is not None:
        attributes[ATTR_LINK_TRACE_ID], attributes[ATTR_LINK_SPAN_ID] = link
    vouched = vouched and data_vouched
    attributes[ATTR_RECORD] = record_text(attributes, vouched)
    if omitted:
        attributes[ATTR_METRICS_OMITTED] = omitted
    omitted_events = max(0, len(events) - limits.max_events)
    if omitted_events:
        del events[limits.max_events :]
        attributes[ATTR_EVENTS_OMITTED] = omitted_events
    return EncodedResult(
        attributes,
        events,
        omitted,
        omitted_events,
        result_json,
        data_json,
        sample_id,
        plain,
        vouched,
    )


def record_text(attributes: Mapping[str, AttributeValue], vouched: bool) -> str:
    """``ATTR_RECORD`` of a result span whose other attributes are final, items as
    ``RECORD_FIELDS`` names them: identifiers only, never content (a collector's redaction of
    the payloads, metadata or context has nothing here to miss). ``vouched``: orjson reads the
    span's ``eval.result`` and ``eval.data`` exactly (``dumps_vouched``)."""
    get = attributes.get
    return dumps_scalars(
        [
            RECORD_VERSION,
            vouched,
            get(ATTR_SEQ),
            get(ATTR_SAMPLE_ID),
            get(ATTR_LINK_TRACE_ID),
            get(ATTR_LINK_SPAN_ID),
            get(ATTR_RUN_ID),
            get(ATTR_PROJECT),
            get(ATTR_DATASET),
            get(ATTR_BATCH_ID),
        ]
    )


def call_attributes(
    *,
    project_name: str,
    run_id: str,
    dataset_name: str,
    metadata_json: str,
    context_json: str,
    link: tuple[str, str] | None,
    batch_id: str | None,
    writer: str | None = None,
    provenance_json: str | None = None,
) -> dict[str, AttributeValue]:
    """What every result span of one log call shares: metadata and context payloads, then the
    identifiers. Built once per call; ``encode_result`` adds each row's own."""
    shared: dict[str, AttributeValue] = {
        ATTR_METADATA: metadata_json,
        ATTR_CONTEXT: context_json,
        ATTR_SCHEMA: SCHEMA_VERSION,
        ATTR_PROJECT: project_name,
        ATTR_RUN_ID: run_id,
        ATTR_DATASET: dataset_name,
    }
    if batch_id is not None:
        shared[ATTR_BATCH_ID] = batch_id
    if link is not None:
        shared[ATTR_LINK_TRACE_ID], shared[ATTR_LINK_SPAN_ID] = link
    if writer is not None:
        shared[ATTR_WRITER] = writer
    shared[TEST_SUITE_RUN_ID] = run_id
    if provenance_json is not None:
        shared[ATTR_PROVENANCE] = provenance_json
    return shared


def batch_attributes(
    *,
    project_name: str,
    run_id: str,
    dataset_name: str,
    batch_id: str,
    batch_size: int,
    chunk_start: int,
    chunk_size: int,
    metadata_json: str,
    writer: str | None = None,
) -> dict[str, AttributeValue]:
    """Attributes of the ``evaltrace.batch`` root span of one trace of a batch."""
    attributes: dict[str, AttributeValue] = {
        ATTR_METADATA: metadata_json,
        ATTR_SCHEMA: SCHEMA_VERSION,
        ATTR_PROJECT: project_name,
        ATTR_RUN_ID: run_id,
        ATTR_DATASET: dataset_name,
        ATTR_BATCH_ID: batch_id,
        ATTR_BATCH_SIZE: batch_size,
        ATTR_BATCH_CHUNK_START: chunk_start,
        ATTR_BATCH_CHUNK_SIZE: chunk_size,
    }
    if writer is not None:
        attributes[ATTR_WRITER] = writer
    return attributes
