"""The span schema: every span name and attribute key, and the one encoder and decoder.

A logged result becomes one ``evaltrace.result`` span. Its attributes are, in insertion order:

1. ``eval.metric.<path>``: each scalar leaf of the evaluation result, flattened with dots
   (``eval.metric.generation.completeness.score``). Numbers are doubles, booleans booleans,
   short strings strings. These exist to be *queried* (Jaeger tags, TraceQL) and are capped.
2. ``eval.result`` / ``eval.data`` / ``eval.metadata`` / ``eval.context``: the exact values as
   JSON. Decoding reads only these, which is what makes the round trip exact.
3. Identifiers (project, run, dataset, sequence, sample, link), inserted last so that an
   attribute-count limit evicts flat metrics (still in the JSON) before identifiers.

Nothing outside this module knows an attribute name; see ``docs/schema.md``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from hashlib import blake2b
from typing import Any, Final
from uuid import UUID

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_EVALUATION_EXPLANATION,
    GEN_AI_EVALUATION_NAME,
    GEN_AI_EVALUATION_SCORE_LABEL,
    GEN_AI_EVALUATION_SCORE_VALUE,
)
from opentelemetry.util.types import AttributeValue

from ._records import dumps, dumps_plain, loads, unwrap
from ._samples import sample_key

__all__ = [
    "BATCH_SPAN",
    "EVALUATION_EVENT",
    "READ_KEYS",
    "RESULT_SPAN",
    "SCHEMA_VERSION",
    "EncodedResult",
    "Limits",
    "ResultIndex",
    "batch_attributes",
    "batch_id_of",
    "call_attributes",
    "chunk_size",
    "decode_record",
    "decode_result",
    "encode_result",
    "flatten",
    "is_result",
    "iso",
    "metric_leaves",
    "query_terms",
    "result_index",
    "sample_id_of",
    "sort_key",
    "stored_record",
]

SCHEMA_VERSION: Final = 1
"""Bumped when the meaning of an attribute changes; decoders check it."""

RESULT_SPAN: Final = "evaltrace.result"
"""One logged evaluation result."""
BATCH_SPAN: Final = "evaltrace.batch"
"""Root of one trace of a ``log_batch`` call: up to ``results_per_trace`` result children."""
EVALUATION_EVENT: Final = "gen_ai.evaluation.result"
"""OpenTelemetry GenAI semantic-conventions event, one per scored metric."""

ATTR_SCHEMA: Final = "eval.schema_version"
"""int: the schema version that wrote the span."""
ATTR_PROJECT: Final = "eval.project"
"""string: the tracker's project name."""
ATTR_RUN_ID: Final = "eval.run_id"
"""string: the experiment run id; every result of a run carries it."""
ATTR_DATASET: Final = "eval.dataset"
"""string: the dataset name given to log / log_batch."""
ATTR_SEQ: Final = "eval.seq"
"""int: process-wide logging sequence number; orders results logged in the same nanosecond."""
ATTR_SAMPLE_ID: Final = "eval.sample_id"
"""string: the data row's id (``id``/``sample_id``/...) or a hash of the row; pairs runs."""
ATTR_RESULT: Final = "eval.result"
"""string: the evaluation result as JSON (a list of dicts for row-grouped batches)."""
ATTR_DATA: Final = "eval.data"
"""string: the evaluated input row as JSON."""
ATTR_METADATA: Final = "eval.metadata"
"""string: the metadata mapping as JSON."""
ATTR_CONTEXT: Final = "eval.context"
"""string: what ``log_context`` set, as JSON."""
ATTR_METRIC_PREFIX: Final = "eval.metric."
"""Prefix of the flat, queryable metric attributes."""
ATTR_METRICS_OMITTED: Final = "eval.omitted.metric_attributes"
"""int: metric leaves not copied to flat attributes (over the cap, long strings, None, mixed
lists); present only when non-zero. The JSON payload still holds them exactly."""
ATTR_EVENTS_OMITTED: Final = "eval.omitted.events"
"""int: evaluation events not emitted because of the span's event limit."""
ATTR_LINK_TRACE_ID: Final = "eval.link.trace_id"
"""string: hex trace id of the application span this result is linked to (searchable copy)."""
ATTR_LINK_SPAN_ID: Final = "eval.link.span_id"
"""string: hex span id of that application span."""
ATTR_BATCH_ID: Final = "eval.batch.id"
"""string: id shared by every span of one log_batch call."""
ATTR_BATCH_ROW: Final = "eval.batch.row"
"""int: the row's index in its log_batch call."""
ATTR_BATCH_SIZE: Final = "eval.batch.size"
"""int: rows in the whole log_batch call."""
ATTR_BATCH_CHUNK_START: Final = "eval.batch.chunk.start"
"""int: first row index carried by this trace."""
ATTR_BATCH_CHUNK_SIZE: Final = "eval.batch.chunk.size"
"""int: result spans in this trace: lets readers prove a trace complete."""

READ_KEYS: Final = frozenset(
    {
        ATTR_RUN_ID,
        ATTR_PROJECT,
        ATTR_DATASET,
        ATTR_SEQ,
        ATTR_SAMPLE_ID,
        ATTR_RESULT,
        ATTR_DATA,
        ATTR_METADATA,
        ATTR_CONTEXT,
        ATTR_LINK_TRACE_ID,
        ATTR_LINK_SPAN_ID,
        ATTR_BATCH_ID,
        ATTR_BATCH_CHUNK_SIZE,
    }
)
"""Every attribute a reader decodes: remote adapters convert these and skip the rest (the
flat metrics, which the JSON payload already holds exactly)."""

SAMPLE_ID_KEYS: Final = ("id", "sample_id", "test_case_id", "query_id", "question_id")
"""Data keys taken, in this order, as the sample id before falling back to a hash."""

_ID_TYPES = (str, int, UUID)
_RECORD_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_NUMBERS = (int, float)


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps on what one span carries, so span limits never evict anything unannounced."""

    max_metric_attributes: int = 96
    max_metric_string: int = 256
    max_events: int = 128


@dataclass(slots=True)  # not frozen: that costs an object.__setattr__ per field
class EncodedResult:
    """A validated result, ready to become a span."""

    attributes: dict[str, AttributeValue]
    events: list[dict[str, AttributeValue]]
    omitted_attributes: int
    omitted_events: int


@dataclass(slots=True)  # not frozen: that costs an object.__setattr__ per field
class ResultIndex:
    """The columns a store indexes a result span by."""

    run_id: str
    project_name: str
    dataset_name: str
    seq: int
    metadata_json: str


def flatten(value: Any) -> dict[str, Any]:
    """Scalar and list leaves of an evaluation result by dotted path.

    A row-grouped result (a list of ``{evaluator: output}`` dicts) merges into one namespace;
    a key seen twice gets ``#i`` (its position) appended so nothing is overwritten.
    """
    out: dict[str, Any] = {}
    if isinstance(value, list):
        for i, item in enumerate(value):
            part: dict[str, Any] = {}
            _flatten_into(item, "", part)
            for key, leaf in part.items():
                out[f"{key}#{i}" if key in out else key] = leaf
    else:
        _flatten_into(value, "", out)
    return out


def _flatten_into(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten_into(child, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix or "value"] = value


def _flat_value(leaf: Any, max_string: int) -> AttributeValue | None:
    """The queryable attribute for one leaf, or None when it is not representable."""
    if isinstance(leaf, bool):
        return leaf
    if isinstance(leaf, _NUMBERS):
        return float(leaf)
    if isinstance(leaf, str):
        return leaf if len(leaf) <= max_string else None
    if isinstance(leaf, list) and leaf:
        if all(isinstance(x, bool) for x in leaf):
            return tuple(leaf)
        if all(isinstance(x, _NUMBERS) and not isinstance(x, bool) for x in leaf):
            return tuple(float(x) for x in leaf)
        if all(isinstance(x, str) and len(x) <= max_string for x in leaf):
            return tuple(leaf)
    return None


def _metric_attributes(flat: dict[str, Any], limits: Limits) -> tuple[dict[str, Any], int]:
    attributes: dict[str, Any] = {}
    omitted = 0
    max_string = limits.max_metric_string
    for path, leaf in flat.items():
        value = _flat_value(leaf, max_string)
        if value is None or len(attributes) >= limits.max_metric_attributes:
            omitted += 1
        else:
            attributes[ATTR_METRIC_PREFIX + path] = value
    return attributes, omitted


class NotPlainError(Exception):
    """A value holds more than exact dicts (of ``str`` keys), lists, str, int, float, bool,
    None: it has to go through its JSON round trip before it can be walked."""


_LEAF_TYPES = frozenset({str, int, float, bool, type(None)})


def _event(node: dict[str, Any], path: str, score: float, max_string: int) -> dict[str, Any]:
    event: dict[str, AttributeValue] = {
        GEN_AI_EVALUATION_NAME: path or "score",
        GEN_AI_EVALUATION_SCORE_VALUE: float(score),
    }
    label = node.get("label")
    success = node.get("success")
    if isinstance(label, str) and len(label) <= max_string:
        event[GEN_AI_EVALUATION_SCORE_LABEL] = label
    elif isinstance(success, bool):
        event[GEN_AI_EVALUATION_SCORE_LABEL] = "pass" if success else "fail"
    explanation = node.get("explanation")
    if isinstance(explanation, str) and len(explanation) <= max_string:
        event[GEN_AI_EVALUATION_EXPLANATION] = explanation
    return event


_EVENTS_ONLY, _ATTRIBUTES, _LEAVES = 0, 1, 2
"""What ``_Walk.node`` keeps of a dict's leaves: nothing (inside lists: a list is one flat
leaf, but dicts in it still carry events), flat attributes, or the raw leaves (row-grouped
results, merged afterwards)."""


class _Walk:
    """One pass over a result: its flat metric attributes (as ``flatten`` then the cap give
    them), its evaluation events, whether every float is finite, and the proof that it is
    plain JSON data (else ``NotPlainError``).

    Events: one ``gen_ai.evaluation.result`` per dict with a numeric ``score``, and one per
    bare numeric leaf of a dict without one.
    """

    __slots__ = ("attributes", "cap", "events", "finite", "leaves", "max_string", "omitted")

    def __init__(self, limits: Limits) -> None:
        self.attributes: dict[str, AttributeValue] = {}
        self.leaves: dict[str, Any] = {}
        self.events: list[dict[str, AttributeValue]] = []
        self.omitted = 0
        self.finite = True
        self.cap = limits.max_metric_attributes
        self.max_string = limits.max_metric_string

    def node(self, node: dict[Any, Any], path: str, mode: int) -> None:
        events = self.events
        unscored = "score" not in node
        if not unscored:
            score = node["score"]
            if type(score) is float or type(score) is int:
                events.append(_event(node, path, score, self.max_string))
        keep = mode == _ATTRIBUTES
        if keep:  # hot: the names are built once per node, the counters kept local
            attributes, cap, omitted = self.attributes, self.cap, 0
            prefix = f"{ATTR_METRIC_PREFIX}{path}." if path else ATTR_METRIC_PREFIX
        value: AttributeValue | None
        for key, child in node.items():
            if type(key) is not str:
                raise NotPlainError
            kind = type(child)
            if kind is dict:
                self.node(child, f"{path}.{key}" if path else key, mode)
                continue
            if kind is float or kind is int:
                if kind is float and child - child:  # nan for NaN and the infinities
                    self.finite = False
                if unscored:
                    events.append(
                        {
                            GEN_AI_EVALUATION_NAME: f"{path}.{key}" if path else key,
                            GEN_AI_EVALUATION_SCORE_VALUE: float(child),
                        }
                    )
                value = child if kind is float else float(child)
            elif kind is str:
                value = child if len(child) <= self.max_string else None
            elif kind is bool:
                value = child
            elif kind is list:
                self.items(child, f"{path}.{key}" if path else key)
                value = _flat_value(child, self.max_string) if keep else None
            elif child is None:
                value = None
            else:
                raise NotPlainError
            if keep:
                name = prefix + key if path or key else ATTR_METRIC_PREFIX + "value"
                # A taken name keeps its first leaf. Only top-level names can be taken twice,
                # through empty keys: {"a": 2, "": {"a": 1}}.
                if value is None or len(attributes) >= cap or (not path and name in attributes):
                    omitted += 1
                else:
                    attributes[name] = value
            elif mode == _LEAVES:
                self.leaves[(f"{path}.{key}" if path else key) or "value"] = child
        if keep:
            self.omitted += omitted

    def items(self, items: list[Any], path: str) -> None:
        for item in items:
            kind = type(item)
            if kind is dict:
                self.node(item, path, _EVENTS_ONLY)
            elif kind is list:
                self.items(item, path)
            elif kind is float:
                if item - item:
                    self.finite = False
            elif kind not in _LEAF_TYPES:
                raise NotPlainError


def walk_result(
    value: Any, limits: Limits
) -> tuple[dict[str, AttributeValue], int, list[dict[str, AttributeValue]], bool]:
    """Flat metric attributes, their omitted count, the evaluation events, and whether every
    float is finite, in one walk; raises ``NotPlainError`` unless ``value`` is plain JSON data.

    A row-grouped result (a list of ``{evaluator: output}`` dicts) merges into one namespace
    as in ``flatten``.
    """
    walk = _Walk(limits)
    kind = type(value)
    try:
        if kind is dict:
            walk.node(value, "", _ATTRIBUTES)
            return walk.attributes, walk.omitted, walk.events, walk.finite
        flat: dict[str, Any] = {}
        if kind is list:
            for i, item in enumerate(value):
                walk.leaves = {}
                if type(item) is dict:
                    walk.node(item, "", _LEAVES)
                else:
                    walk.items([item], "")
                    walk.leaves["value"] = item
                for key, leaf in walk.leaves.items():
                    flat[f"{key}#{i}" if key in flat else key] = leaf
        elif kind in _LEAF_TYPES:
            walk.items([value], "")
            flat["value"] = value
        else:
            raise NotPlainError
    except RecursionError:
        raise NotPlainError from None
    attributes, omitted = _metric_attributes(flat, limits)
    return attributes, omitted, walk.events, walk.finite


def sample_id_of(data: Any, data_json: str) -> str:
    """The row's own id when it has one, else a stable hash of its inputs (``sample_key``:
    never the generated answer, so reruns pair), else of its JSON (64-bit BLAKE2b: a
    pairing key, not a security boundary)."""
    if type(data) is dict or isinstance(data, Mapping):
        for key in SAMPLE_ID_KEYS:
            value = data.get(key)
            if value is not None and isinstance(value, _ID_TYPES) and type(value) is not bool:
                return str(value)
    inputs = sample_key(data)
    text = data_json if inputs is None else inputs
    return blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


def encode_result(
    evaluation_result: Any,
    data: Any,
    *,
    shared: Mapping[str, AttributeValue],
    seq: int,
    row: int | None,
    limits: Limits,
) -> EncodedResult:
    """Validate and encode one result; raises naming the field and row, before any span.

    ``shared`` is ``call_attributes``; ``row`` is the index in a batch (None for ``log``).
    """
    result = unwrap(evaluation_result)
    try:
        attributes, omitted, events, finite = walk_result(result, limits)
        result_json = dumps(result, "evaluation_result", row, finite=finite)
    except NotPlainError:
        result_json, plain_result = dumps_plain(evaluation_result, "evaluation_result", row)
        attributes, omitted, events, _ = walk_result(plain_result, limits)
    data = unwrap(data)
    data_json = dumps(data, "data", row)
    attributes[ATTR_RESULT] = result_json
    attributes[ATTR_DATA] = data_json
    attributes.update(shared)
    attributes[ATTR_SEQ] = seq
    if row is not None:
        attributes[ATTR_BATCH_ROW] = row
    attributes[ATTR_SAMPLE_ID] = sample_id_of(data, data_json)
    if omitted:
        attributes[ATTR_METRICS_OMITTED] = omitted
    omitted_events = max(0, len(events) - limits.max_events)
    if omitted_events:
        del events[limits.max_events :]
        attributes[ATTR_EVENTS_OMITTED] = omitted_events
    return EncodedResult(attributes, events, omitted, omitted_events)


def call_attributes(
    *,
    project_name: str,
    run_id: str,
    dataset_name: str,
    metadata_json: str,
    context_json: str,
    link: tuple[str, str] | None,
    batch_id: str | None,
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
) -> dict[str, AttributeValue]:
    """Attributes of the ``evaltrace.batch`` root span of one trace of a batch."""
    return {
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


def iso(ns: int) -> str:
    """ISO 8601 UTC timestamp of a nanosecond epoch time."""
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


def _text(attributes: Mapping[str, Any], key: str) -> str:
    value = attributes.get(key)
    return value if isinstance(value, str) else ""


def is_result(name: str, attributes: Mapping[str, Any]) -> bool:
    """True for a result span (what ``result_index`` indexes), without building the index."""
    return name == RESULT_SPAN and isinstance(attributes.get(ATTR_RUN_ID), str)


def result_index(name: str, attributes: Mapping[str, Any]) -> ResultIndex | None:
    """Index columns of a result span, or None for any other span."""
    if not is_result(name, attributes):
        return None
    seq = attributes.get(ATTR_SEQ)
    return ResultIndex(
        run_id=_text(attributes, ATTR_RUN_ID),
        project_name=_text(attributes, ATTR_PROJECT),
        dataset_name=_text(attributes, ATTR_DATASET),
        seq=seq if isinstance(seq, int) else 0,
        metadata_json=_text(attributes, ATTR_METADATA) or "{}",
    )


def chunk_size(name: str, attributes: Mapping[str, Any]) -> int | None:
    """For a batch root span, how many result spans its trace must hold."""
    if name != BATCH_SPAN:
        return None
    value = attributes.get(ATTR_BATCH_CHUNK_SIZE)
    return int(value) if isinstance(value, int | str) else None


def _object(text: str) -> Any:
    """``loads(text or "{}")``; the empty object, the usual metadata and context, without the
    JSON parser (a fresh dict each time, as ``loads`` gives)."""
    return {} if not text or text == "{}" else loads(text)


def _link_of(attributes: Mapping[str, Any]) -> dict[str, str] | None:
    """The linked application span as returned to users, or None."""
    trace_id, span_id = attributes.get(ATTR_LINK_TRACE_ID), attributes.get(ATTR_LINK_SPAN_ID)
    if isinstance(trace_id, str) and isinstance(span_id, str):
        return {"trace_id": trace_id, "span_id": span_id}
    return None


def decode_result(
    attributes: Mapping[str, Any], *, trace_id: str, span_id: str, start_ns: int
) -> dict[str, Any]:
    """The user-facing result dict of one result span: exact values from the JSON payload."""
    return {
        "run_id": _text(attributes, ATTR_RUN_ID),
        "project_name": _text(attributes, ATTR_PROJECT),
        "dataset_name": _text(attributes, ATTR_DATASET),
        "evaluation_result": loads(_text(attributes, ATTR_RESULT) or "null"),
        "data": loads(_text(attributes, ATTR_DATA) or "null"),
        "metadata": _object(_text(attributes, ATTR_METADATA)),
        "context": _object(_text(attributes, ATTR_CONTEXT)),
        "sample_id": _text(attributes, ATTR_SAMPLE_ID),
        "timestamp": iso(start_ns),
        "trace_id": trace_id,
        "span_id": span_id,
        "link": _link_of(attributes),
    }


def stored_record(attributes: Mapping[str, Any]) -> str | None:
    """A result span's user-facing fields as one JSON object, for stores that keep a column.

    Built by concatenation: the payload attributes already are JSON, so reading a result back
    is one parse of unescaped text instead of the span's whole attribute map plus four more.
    """
    if not isinstance(attributes.get(ATTR_RUN_ID), str):
        return None
    head = _RECORD_ENCODER.encode(
        {
            "run_id": _text(attributes, ATTR_RUN_ID),
            "project_name": _text(attributes, ATTR_PROJECT),
            "dataset_name": _text(attributes, ATTR_DATASET),
            "sample_id": _text(attributes, ATTR_SAMPLE_ID),
            "link": _link_of(attributes),
        }
    )
    return (
        f'{head[:-1]},"evaluation_result":{_text(attributes, ATTR_RESULT) or "null"}'
        f',"data":{_text(attributes, ATTR_DATA) or "null"}'
        f',"metadata":{_text(attributes, ATTR_METADATA) or "{}"}'
        f',"context":{_text(attributes, ATTR_CONTEXT) or "{}"}}}'
    )


def decode_record(record: str, *, trace_id: str, span_id: str, start_ns: int) -> dict[str, Any]:
    """What ``decode_result`` returns, from a ``stored_record`` (same keys, same order)."""
    raw = loads(record)
    return {
        "run_id": raw["run_id"],
        "project_name": raw["project_name"],
        "dataset_name": raw["dataset_name"],
        "evaluation_result": raw["evaluation_result"],
        "data": raw["data"],
        "metadata": raw["metadata"],
        "context": raw["context"],
        "sample_id": raw["sample_id"],
        "timestamp": iso(start_ns),
        "trace_id": trace_id,
        "span_id": span_id,
        "link": raw["link"],
    }


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


def metric_leaves(evaluation_result: Any) -> dict[str, float | bool]:
    """Numeric and boolean leaves, the values run history aggregates."""
    return {
        path: leaf
        for path, leaf in flatten(evaluation_result).items()
        if isinstance(leaf, bool | int | float)
    }


def is_sequence_of_records(value: object) -> bool:
    """True for a row-grouped result: a list of mappings."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes | Mapping)
