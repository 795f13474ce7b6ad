"""A local OTLP/HTTP receiver for tests: the real protobuf request bodies, kept for inspection.

Not a stand-in for the collector (the backend tests use the real one); it exists to look at
the exact bytes evaltrace sends, and to be taken down and brought back on the same port.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


class Receiver:
    """Accepts ``POST /v1/traces``; ``bodies`` holds every request's raw bytes
    (``metric_bodies`` those of ``POST /v1/metrics``, ``log_bodies`` of ``POST /v1/logs``)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.metric_bodies: list[bytes] = []
        self.log_bodies: list[bytes] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                path = self.path.rstrip("/")
                metrics = path.endswith("/v1/metrics")
                logs = path.endswith("/v1/logs")
                with receiver._lock:
                    kept = (
                        receiver.metric_bodies
                        if metrics
                        else receiver.log_bodies
                        if logs
                        else receiver.bodies
                    )
                    kept.append(body)
                answer = (
                    ExportMetricsServiceResponse()
                    if metrics
                    else ExportLogsServiceResponse()
                    if logs
                    else ExportTraceServiceResponse()
                ).SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def spans(self) -> list[tuple[str, str, str, dict[str, object]]]:
        """(trace id, span id, name, attributes) of every span received, duplicates kept."""
        out = []
        with self._lock:
            bodies = list(self.bodies)
        for body in bodies:
            request = ExportTraceServiceRequest.FromString(body)
            for resource in request.resource_spans:
                for scope in resource.scope_spans:
                    for span in scope.spans:
                        attributes = {
                            kv.key: getattr(
                                kv.value, kv.value.WhichOneof("value") or "string_value"
                            )
                            for kv in span.attributes
                        }
                        out.append((span.trace_id.hex(), span.span_id.hex(), span.name, attributes))
        return out


@contextmanager
def receiver() -> Iterator[Receiver]:
    """A running receiver, stopped afterwards."""
    running = Receiver()
    try:
        yield running
    finally:
        running.stop()
