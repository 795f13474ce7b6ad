"""OTLP/HTTP logs in, OpenSearch documents out: the collector's log store for STORAGE=opensearch.

Why this and not the contrib ``opensearchexporter``: the Go module proxy serves no build of it
(nor of ``elasticsearchexporter``) for the collector version evaltrace builds (v0.159.0: 404,
v0.158.0: 403; v0.130.0, the nearest served, predates the collector core's API), so the
collector cannot have it here. The collector's own ``otlphttp`` exporter (persistent queue,
retry without limit) sends the logs pipeline here; this process indexes each record with the
bulk API and answers only once OpenSearch has taken them (503 otherwise: the collector keeps
the request and retries, so nothing acknowledged is lost).

A record's document id is its ``eval.event_id`` attribute (evaltrace's evaluation events), else
a hash of the encoded record and its resource: a re-sent record overwrites itself, so the index
holds each record once however often it arrives. Strings are indexed as keywords (exact terms:
``attributes.eval.run_id``), numbers as numbers.

    python otlp_logs_opensearch.py --listen 127.0.0.1:14319 \
        --opensearch http://127.0.0.1:9200,http://127.0.0.1:9201 --index otel-logs

Needs ``opentelemetry-proto`` and ``httpx`` (both evaltrace dependencies).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import zlib
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

EVENT_ID = "eval.event_id"
TEMPLATE = {
    "priority": 100,
    "template": {
        "settings": {"number_of_shards": 1, "number_of_replicas": 1},
        "mappings": {
            "dynamic_templates": [
                {"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}
            ],
            "properties": {
                "@timestamp": {"type": "date_nanos"},
                "observedTimestamp": {"type": "date_nanos"},
                "traceId": {"type": "keyword"},
                "spanId": {"type": "keyword"},
                "eventName": {"type": "keyword"},
            },
        },
    },
}


def value(v: AnyValue) -> Any:
    """An OTLP AnyValue as JSON."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def _time(ns: int) -> str | None:
    if not ns:
        return None
    seconds, rest = divmod(ns, 10**9)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{rest:09d}Z"


def documents(body: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(document id, document) per log record of an OTLP logs request."""
    out = []
    request = ExportLogsServiceRequest.FromString(body)
    for resource_logs in request.resource_logs:
        resource = {kv.key: value(kv.value) for kv in resource_logs.resource.attributes}
        resource_bytes = resource_logs.resource.SerializeToString(deterministic=True)
        for scope_logs in resource_logs.scope_logs:
            scope = {"name": scope_logs.scope.name, "version": scope_logs.scope.version}
            for record in scope_logs.log_records:
                attributes = {kv.key: value(kv.value) for kv in record.attributes}
                doc_id = attributes.get(EVENT_ID)
                if not isinstance(doc_id, str) or not doc_id:
                    digest = hashlib.sha256(resource_bytes)
                    digest.update(record.SerializeToString(deterministic=True))
                    doc_id = digest.hexdigest()
                document = {
                    "@timestamp": _time(record.time_unix_nano or record.observed_time_unix_nano),
                    "observedTimestamp": _time(record.observed_time_unix_nano),
                    "traceId": record.trace_id.hex(),
                    "spanId": record.span_id.hex(),
                    "flags": record.flags,
                    "eventName": record.event_name,
                    "severityNumber": record.severity_number,
                    "severityText": record.severity_text,
                    "body": value(record.body) if record.HasField("body") else None,
                    "attributes": attributes,
                    "resource": {"attributes": resource},
                    "instrumentationScope": scope,
                }
                out.append((doc_id, document))
    return out


class Store:
    """The OpenSearch cluster: bulk-indexes documents, trying each node in turn."""

    def __init__(self, urls: list[str], index: str) -> None:
        self.urls, self.index = urls, index
        self.client = httpx.Client(timeout=30)
        self._template = False
        self._lock = threading.Lock()

    def _post(self, path: str, content: bytes, method: str = "POST") -> httpx.Response:
        last: Exception | None = None
        for url in self.urls:
            try:
                return self.client.request(
                    method,
                    url + path,
                    content=content,
                    headers={"Content-Type": "application/x-ndjson"},
                )
            except httpx.HTTPError as exc:
                last = exc
        raise ConnectionError(f"no OpenSearch node answered: {last}")

    def _ensure_template(self) -> None:
        with self._lock:
            if self._template:
                return
            body = json.dumps({"index_patterns": [self.index], **TEMPLATE}).encode()
            answer = self._post(f"/_index_template/{self.index}", body, "PUT")
            answer.raise_for_status()
            self._template = True

    def index_all(self, docs: list[tuple[str, dict[str, Any]]]) -> tuple[bool, int, str]:
        """(all retryable failures absent, records refused for good, the first refusal)."""
        self._ensure_template()
        lines = []
        for doc_id, doc in docs:
            lines.append(json.dumps({"index": {"_index": self.index, "_id": doc_id}}))
            lines.append(json.dumps(doc))
        answer = self._post("/_bulk", ("\n".join(lines) + "\n").encode())
        if answer.status_code >= 300:
            return False, 0, f"bulk answered {answer.status_code}"
        refused, first, retry = 0, "", False
        for item in answer.json().get("items", []):
            status = item["index"].get("status", 500)
            if status >= 300:
                if status == 429 or status >= 500:
                    retry = True
                else:
                    refused += 1
                    first = first or json.dumps(item["index"].get("error"))[:300]
        return not retry, refused, first


def serve(listen: str, store: Store) -> ThreadingHTTPServer:
    host, port = listen.rsplit(":", 1)

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, status: int, body: bytes, kind: str = "application/x-protobuf") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802 - health
            self._answer(200, b"ok\n", "text/plain")

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if not self.path.rstrip("/").endswith("/v1/logs"):
                self._answer(404, b"only /v1/logs", "text/plain")
                return
            # The collector's otlphttp exporter compresses with gzip by default.
            encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
            if encoding not in ("identity", "gzip", "deflate"):
                self._answer(415, f"Content-Encoding {encoding}: use gzip".encode(), "text/plain")
                return
            try:
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                docs = documents(body)
            except Exception as exc:  # not an OTLP logs request: the sender's mistake
                print(f"otlp_logs_opensearch: 400: cannot decode: {exc}", file=sys.stderr)
                self._answer(400, f"cannot decode: {exc}".encode(), "text/plain")
                return
            try:
                done, refused, first = store.index_all(docs) if docs else (True, 0, "")
            except Exception as exc:  # OpenSearch down or failing: the collector retries
                print(f"otlp_logs_opensearch: 503: {exc}", file=sys.stderr)
                self._answer(503, f"OpenSearch: {exc}".encode()[:300], "text/plain")
                return
            if not done:
                self._answer(503, b"OpenSearch asked to retry", "text/plain")
                return
            response = ExportLogsServiceResponse()
            if refused:
                response.partial_success.rejected_log_records = refused
                response.partial_success.error_message = first
            self._answer(200, response.SerializeToString())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    return server


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", default="127.0.0.1:14319")
    parser.add_argument("--opensearch", default="http://127.0.0.1:9200")
    parser.add_argument("--index", default="otel-logs")
    args = parser.parse_args(argv)
    store = Store([u.rstrip("/") for u in args.opensearch.split(",") if u], args.index)
    server = serve(args.listen, store)
    print(f"otlp_logs_opensearch: {args.listen} -> {args.opensearch} index {args.index}")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
