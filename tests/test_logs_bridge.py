"""deploy/scripts/otlp_logs_opensearch.py, the collector's log store for STORAGE=opensearch,
offline (OpenSearch answered by httpx.MockTransport): a document per record under its event id,
an answer only once OpenSearch took them (503 to retry, partial success for refusals)."""

from __future__ import annotations

import gzip
import importlib.util
import json
import threading
from pathlib import Path
from typing import Any

import httpx
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext, TraceFlags

from evaltrace.delivery._log_records import records_of

SCRIPT = Path(__file__).resolve().parents[1] / "deploy" / "scripts" / "otlp_logs_opensearch.py"
_spec = importlib.util.spec_from_file_location("otlp_logs_opensearch", SCRIPT)
assert _spec and _spec.loader
bridge: Any = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bridge)


def _body(events: int = 2) -> bytes:
    span = ReadableSpan(
        "evaltrace.result",
        context=SpanContext(5, 6, is_remote=False, trace_flags=TraceFlags(1)),
        resource=Resource({"service.name": "p"}),
        attributes={"eval.run_id": "r"},
        events=[
            Event("gen_ai.evaluation.result", {"gen_ai.evaluation.name": f"m{i}"}, 10**18)
            for i in range(events)
        ],
        links=[Link(SpanContext(7, 8, is_remote=True))],
        start_time=10**18,
        end_time=10**18 + 1,
    )
    return bytes(encode_logs(records_of([span])).SerializeToString())


def test_one_document_per_record_under_its_event_id() -> None:
    """Each record is a document whose id is its eval.event_id, with the parent span's ids,
    the event name, nanosecond time and the attributes."""
    docs = bridge.documents(_body())
    assert [doc_id for doc_id, _ in docs] == [f"{5:032x}-{6:016x}-0", f"{5:032x}-{6:016x}-1"]
    _, doc = docs[0]
    assert (doc["traceId"], doc["spanId"]) == (f"{7:032x}", f"{8:016x}")
    assert doc["eventName"] == "gen_ai.evaluation.result"
    assert doc["@timestamp"] == "2001-09-09T01:46:40.000000000Z"
    assert doc["attributes"]["eval.run_id"] == "r"
    assert doc["resource"]["attributes"]["service.name"] == "p"


def _serve(handler: Any) -> tuple[Any, str, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[no-any-return]

    store = bridge.Store(["http://os:9200"], "otel-logs")
    store.client = httpx.Client(transport=httpx.MockTransport(record))
    server = bridge.serve("127.0.0.1:0", store)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1/logs", seen


def _bulk(items: list[int]) -> httpx.Response:
    return httpx.Response(
        200,
        json={"items": [{"index": {"status": s, "error": {"type": "x"}}} for s in items]},
    )


def test_answers_only_once_opensearch_took_the_records() -> None:
    """All indexed (gzip-encoded, as the collector sends): 200 (the index template first);
    OpenSearch asking to retry or down: 503, so the collector keeps the request; a document
    refused for good: a partial success."""
    answers = iter([httpx.Response(200, json={}), _bulk([201, 201])])
    server, url, seen = _serve(lambda _: next(answers))
    try:
        # gzip: what the collector's otlphttp exporter sends by default
        gzipped = gzip.compress(_body())
        assert (
            httpx.post(url, content=gzipped, headers={"Content-Encoding": "gzip"}).status_code
            == 200
        )
        assert seen[0].url.path == "/_index_template/otel-logs"
        lines = seen[1].content.decode().splitlines()
        assert json.loads(lines[0]) == {
            "index": {"_index": "otel-logs", "_id": f"{5:032x}-{6:016x}-0"}
        }
    finally:
        server.shutdown()
    server, url, _ = _serve(
        lambda r: httpx.Response(200, json={}) if "template" in r.url.path else _bulk([201, 429])
    )
    try:
        assert httpx.post(url, content=_body()).status_code == 503
    finally:
        server.shutdown()
    server, url, _ = _serve(
        lambda r: httpx.Response(200, json={}) if "template" in r.url.path else _bulk([201, 400])
    )
    try:
        answer = httpx.post(url, content=_body())
        assert answer.status_code == 200
        partial = ExportLogsServiceResponse.FromString(answer.content).partial_success
        assert partial.rejected_log_records == 1 and "x" in partial.error_message
    finally:
        server.shutdown()

    def down(_: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    server, url, _ = _serve(down)
    try:
        assert httpx.post(url, content=_body()).status_code == 503
        assert httpx.post(url, content=b"not protobuf \xff").status_code == 400
    finally:
        server.shutdown()
