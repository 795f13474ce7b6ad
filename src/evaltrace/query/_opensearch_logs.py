"""A run's evaluation events (``gen_ai.evaluation.result`` OTLP log records) read back from the
OpenSearch index the collector's logs pipeline fills (``make backends-up STORAGE=opensearch``:
``deploy/scripts/otlp_logs_opensearch.py``, index ``otel-logs``).

Each document holds one log record: ``traceId``/``spanId`` (the span the record is parented
to: the evaluated application span, else the result span), ``eventName``, ``@timestamp`` and
the record's ``attributes`` by their dotted keys. Events come back once each, de-duplicated
by ``eval.event_id`` (a re-sent record carries the same one), in the order they were logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .._codec import dumps
from ..schema import (
    ATTR_DATASET,
    ATTR_EVENT_ID,
    ATTR_PROJECT,
    ATTR_RUN_ID,
    ATTR_SAMPLE_ID,
    ERROR_TYPE,
    EVALUATION_EVENT,
    GEN_AI_EVALUATION_EXPLANATION,
    GEN_AI_EVALUATION_NAME,
    GEN_AI_EVALUATION_SCORE_LABEL,
    GEN_AI_EVALUATION_SCORE_VALUE,
    GEN_AI_RESPONSE_ID,
)
from ..schema._log_encode import parse_event_id
from ._http import ClientOptions, HttpBackend

__all__ = ["EvaluationEvent", "OpenSearchEvents"]

_PAGE = 1000


@dataclass(frozen=True)
class EvaluationEvent:
    """One ``gen_ai.evaluation.result`` log record."""

    event_id: str
    name: str
    run_id: str
    trace_id: str
    """Hex trace id the record is parented to: the evaluated application span's, when the row
    carried a ``traceparent`` (or was logged under one), else the result span's."""
    span_id: str
    result_trace_id: str
    """The result span the event belongs to (from ``eval.event_id``)."""
    result_span_id: str
    timestamp: str
    score_value: float | None = None
    score_label: str | None = None
    explanation: str | None = None
    error_type: str | None = None
    response_id: str | None = None
    sample_id: str | None = None
    project: str | None = None
    dataset: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def _get(attributes: dict[str, Any], key: str) -> Any:
    """A dotted attribute key, whether the document keeps it flat or as nested objects."""
    if key in attributes:
        return attributes[key]
    node: Any = attributes
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _flat(attributes: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attributes.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[prefix + key] = value
    return out


def _event(source: dict[str, Any]) -> EvaluationEvent | None:
    attributes = _flat(source.get("attributes") or {})
    event_id = _get(attributes, ATTR_EVENT_ID)
    ids = parse_event_id(event_id) if isinstance(event_id, str) else None
    if ids is None:
        return None
    score = _get(attributes, GEN_AI_EVALUATION_SCORE_VALUE)
    return EvaluationEvent(
        event_id=str(event_id),
        name=str(_get(attributes, GEN_AI_EVALUATION_NAME)),
        run_id=str(_get(attributes, ATTR_RUN_ID)),
        trace_id=str(source.get("traceId", "")),
        span_id=str(source.get("spanId", "")),
        result_trace_id=ids[0],
        result_span_id=ids[1],
        timestamp=str(source.get("@timestamp", "")),
        score_value=float(score) if isinstance(score, int | float) else None,
        score_label=_get(attributes, GEN_AI_EVALUATION_SCORE_LABEL),
        explanation=_get(attributes, GEN_AI_EVALUATION_EXPLANATION),
        error_type=_get(attributes, ERROR_TYPE),
        response_id=_get(attributes, GEN_AI_RESPONSE_ID),
        sample_id=_get(attributes, ATTR_SAMPLE_ID),
        project=_get(attributes, ATTR_PROJECT),
        dataset=_get(attributes, ATTR_DATASET),
        attributes=attributes,
    )


class OpenSearchEvents:
    """Reads evaluation events from OpenSearch (``url``: any node; ``index``: the logs index
    or pattern). ``options`` as for the trace adapters (auth, TLS, an httpx transport)."""

    def __init__(
        self,
        url: str = "http://127.0.0.1:9200",
        *,
        index: str = "otel-logs",
        options: ClientOptions | None = None,
    ) -> None:
        self._http = HttpBackend("OpenSearch", url, options or ClientOptions())
        self._index = index

    def get_evaluation_events(self, run_id: str) -> list[EvaluationEvent]:
        """Every evaluation event of ``run_id``, once each, in logging order (time, then the
        event's place on its result span); [] when the index does not exist yet."""
        query: dict[str, Any] = {
            "size": _PAGE,
            "query": {
                "bool": {
                    "filter": [
                        {"term": {f"attributes.{ATTR_RUN_ID}": run_id}},
                        {"term": {"eventName": EVALUATION_EVENT}},
                    ]
                }
            },
            "sort": [{f"attributes.{ATTR_EVENT_ID}": "asc"}],
        }
        seen: dict[str, EvaluationEvent] = {}
        while True:
            status, body = self._http.get_json(
                f"/{self._index}/_search",
                {"source": dumps(query, "query", None), "source_content_type": "application/json"},
            )
            if status == 404:
                return []
            hits = (body or {}).get("hits", {}).get("hits", [])
            for hit in hits:
                event = _event(hit.get("_source") or {})
                if event is not None:
                    seen.setdefault(event.event_id, event)
            if len(hits) < _PAGE:
                break
            query["search_after"] = hits[-1]["sort"]
        return sorted(
            seen.values(),
            key=lambda e: (
                e.timestamp,
                e.result_trace_id,
                e.result_span_id,
                int(e.event_id.rsplit("-", 1)[1]),
            ),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()
