"""An OTLP/HTTP receiver that answers as told: 400, 413 over a size, a partial success, or
never (a hung collector). For the forwarder's handling of each answer the OTLP spec names.
``POST /v1/logs`` is answered by ``logs_answer`` (default: accepted) and decoded
(``log_records``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord

Answer = Callable[[bytes], tuple[int, bytes]]
"""body -> (status, response body)."""


def ok(_: bytes) -> tuple[int, bytes]:
    """Accept everything."""
    return 200, ExportTraceServiceResponse().SerializeToString()


def over(limit: int) -> Answer:
    """413 for bodies over ``limit`` bytes, like a collector's receive limit."""

    def answer(body: bytes) -> tuple[int, bytes]:
        return (413, b"request entity too large") if len(body) > limit else ok(body)

    return answer


def partial(rejected: int, message: str) -> Answer:
    """200 with ``partial_success`` rejecting ``rejected`` spans."""

    def answer(_: bytes) -> tuple[int, bytes]:
        response = ExportTraceServiceResponse()
        response.partial_success.rejected_spans = rejected
        response.partial_success.error_message = message
        return 200, response.SerializeToString()

    return answer


class AnsweringReceiver:
    """``POST /v1/traces`` answered by ``answer``; ``bodies`` keeps each request with its
    status. ``hang`` makes it read span requests and never answer (``hang_all``: any
    request). Other paths (the tracker's ``/v1/metrics``) are answered 200, kept in
    ``other``."""

    def __init__(
        self,
        answer: Answer = ok,
        hang: bool = False,
        hang_all: bool = False,
        logs_answer: Answer = ok,
    ) -> None:
        self.answer, self.hang, self.hang_all = answer, hang or hang_all, hang_all
        self.logs_answer = logs_answer
        self.bodies: list[tuple[int, bytes]] = []  # POST /v1/traces: (status, body)
        self.log_bodies: list[tuple[int, bytes]] = []  # POST /v1/logs: (status, body)
        self.other: list[tuple[str, bytes]] = []  # any other path: (path, body), answered 200
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if receiver.hang_all:
                    receiver._release.wait(30)
                    return
                if self.path.endswith("/v1/logs"):
                    status, answer = receiver.logs_answer(body)
                    receiver.log_bodies.append((status, body))
                    self.send_response(status)
                    self.send_header("Content-Type", "application/x-protobuf")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                    return
                if not self.path.endswith("/v1/traces"):  # the tracker's quality metrics
                    receiver.other.append((self.path, body))
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if receiver.hang:
                    receiver._release.wait(30)
                    return
                status, answer = receiver.answer(body)
                receiver.bodies.append((status, body))
                self.send_response(status)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def span_names(self, status: int = 200) -> list[str]:
        """Names of the spans of requests answered ``status``, duplicates kept."""
        out = []
        for answered, body in self.bodies:
            if answered == status:
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        out.extend(span.name for span in scope.spans)
        return out

    def log_records(self, status: int = 200) -> list[tuple[LogRecord, dict[str, object]]]:
        """The log records of requests answered ``status`` (duplicates kept), each with its
        attributes as a plain dict."""
        out: list[tuple[LogRecord, dict[str, object]]] = []
        for answered, body in self.log_bodies:
            if answered != status:
                continue
            for resource in ExportLogsServiceRequest.FromString(body).resource_logs:
                for scope in resource.scope_logs:
                    for record in scope.log_records:
                        attributes = {
                            kv.key: getattr(
                                kv.value, kv.value.WhichOneof("value") or "string_value"
                            )
                            for kv in record.attributes
                        }
                        out.append((record, attributes))
        return out

    @staticmethod
    def spans_in(body: bytes) -> int:
        """How many spans one request holds."""
        request = ExportTraceServiceRequest.FromString(body)
        return sum(len(scope.spans) for r in request.resource_spans for scope in r.scope_spans)

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


_TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_LOGS = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"


class GrpcAnsweringReceiver(AnsweringReceiver):
    """The same receiver over OTLP/gRPC (a real ``grpc`` server): 400 is answered
    ``INVALID_ARGUMENT``, 413 ``RESOURCE_EXHAUSTED`` with grpc-go's "received message larger
    than max" (what a collector's gRPC receiver says over ``max_recv_msg_size_mib``), 200 the
    response body (a partial success included). The logs service answers by ``logs_answer``;
    other services answer an empty OK. ``max_message``: the server's own receive limit
    (grpc's answer, not ours)."""

    def __init__(
        self,
        answer: Answer = ok,
        hang: bool = False,
        hang_all: bool = False,
        max_message: int | None = None,
        logs_answer: Answer = ok,
    ) -> None:
        self.answer, self.hang, self.hang_all = answer, hang or hang_all, hang_all
        self.logs_answer = logs_answer
        self.bodies = []
        self.log_bodies = []
        self.other = []
        self._release = threading.Event()
        receiver = self

        def handle(method: str) -> Callable[[bytes, grpc.ServicerContext], bytes]:
            def call(body: bytes, context: grpc.ServicerContext) -> bytes:
                if receiver.hang_all or (receiver.hang and method == _TRACES):
                    receiver._release.wait(30)
                    context.abort(grpc.StatusCode.UNAVAILABLE, "hung")
                if method not in (_TRACES, _LOGS):
                    receiver.other.append((method, body))
                    return b""
                if method == _LOGS:
                    status, answer = receiver.logs_answer(body)
                    receiver.log_bodies.append((status, body))
                else:
                    status, answer = receiver.answer(body)
                    receiver.bodies.append((status, body))
                if status == 400:
                    context.abort(grpc.StatusCode.INVALID_ARGUMENT, answer.decode())
                if status == 413:
                    context.abort(
                        grpc.StatusCode.RESOURCE_EXHAUSTED,
                        f"grpc: received message larger than max ({len(body)} vs. 1048576)",
                    )
                return answer

            return call

        class Handler(grpc.GenericRpcHandler):
            def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler | None:
                method = str(details.method)  # type: ignore[attr-defined]
                return grpc.unary_unary_rpc_method_handler(handle(method))

        options = [("grpc.max_receive_message_length", max_message)] if max_message else []
        self._grpc = grpc.server(ThreadPoolExecutor(max_workers=8), options=options)
        self._grpc.add_generic_rpc_handlers((Handler(),))
        port = self._grpc.add_insecure_port("127.0.0.1:0")
        self._grpc.start()
        self.endpoint = f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self._release.set()
        self._grpc.stop(grace=None)
