"""``OpenSearchEvents`` offline (httpx.MockTransport): the query it sends, paging, de-duplication
by ``eval.event_id``, nested or flat attribute documents, a missing index, a failing node."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from evaltrace import BackendResponseError
from evaltrace.query import ClientOptions, OpenSearchEvents
from evaltrace.schema._log_encode import event_id

APP_TRACE, APP_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


def _doc(span: int, index: int, name: str, nested: bool = False) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "gen_ai.evaluation.name": name,
        "gen_ai.evaluation.score.value": 0.5,
        "gen_ai.evaluation.score.label": "pass",
        "eval.run_id": "r",
        "eval.sample_id": f"s{span}",
        "eval.event_id": event_id(1, span, index),
    }
    if nested:  # what OpenSearch keeps when a sender wrote objects instead of dotted keys
        attributes = {
            "gen_ai": {"evaluation": {"name": name, "score": {"value": 0.5, "label": "pass"}}},
            "eval": {"run_id": "r", "sample_id": f"s{span}", "event_id": event_id(1, span, index)},
        }
    return {
        "_source": {
            "@timestamp": f"2026-12-05T18:00:0{span}.000000000Z",
            "traceId": APP_TRACE,
            "spanId": APP_SPAN,
            "eventName": "gen_ai.evaluation.result",
            "attributes": attributes,
        },
        "sort": [event_id(1, span, index)],
    }


def _reader(handler: Any) -> OpenSearchEvents:
    options = ClientOptions(transport=httpx.MockTransport(handler), retries=1, backoff=0)
    return OpenSearchEvents("http://os:9200", index="otel-logs", options=options)


def test_a_run_comes_back_once_each_in_logging_order() -> None:
    """Two pages (the second asked with search_after), a duplicate across them and a nested
    document: each event once, ordered by time then place on its span, with both the evaluated
    span's ids and the result span's."""
    page = [_doc(2, 1, "b"), _doc(1, 0, "a", nested=True)] + [_doc(3, i, "c") for i in range(998)]
    asked: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        query = json.loads(request.url.params["source"])
        asked.append(query)
        assert request.url.path == "/otel-logs/_search"
        hits = page if "search_after" not in query else [_doc(2, 1, "b"), _doc(4, 0, "d")]
        return httpx.Response(200, json={"hits": {"hits": hits}})

    events = _reader(handler).get_evaluation_events("r")
    assert {"term": {"attributes.eval.run_id": "r"}} in asked[0]["query"]["bool"]["filter"]
    assert asked[1]["search_after"] == page[-1]["sort"]
    assert len(events) == 1 + 1 + 998 + 1
    assert [e.name for e in events[:2]] == ["a", "b"] and events[-1].name == "d"
    assert [int(e.event_id.rsplit("-", 1)[1]) for e in events if e.name == "c"] == list(range(998))
    first = events[0]
    assert (first.trace_id, first.span_id) == (APP_TRACE, APP_SPAN)
    assert (first.result_trace_id, first.result_span_id) == (f"{1:032x}", f"{1:016x}")
    assert (first.score_value, first.score_label, first.sample_id) == (0.5, "pass", "s1")


def test_no_index_yet_is_no_events() -> None:
    """404 (nothing indexed yet): an empty list, not an error."""
    reader = _reader(lambda _: httpx.Response(404, json={"error": "no such index"}))
    assert reader.get_evaluation_events("r") == []


def test_an_opensearch_error_is_translated() -> None:
    """A 400 from OpenSearch raises the library's own error with OpenSearch's message."""
    reader = _reader(
        lambda _: httpx.Response(400, json={"error": {"message": "bad query"}, "status": 400})
    )
    with pytest.raises(BackendResponseError, match="bad query"):
        reader.get_evaluation_events("r")
