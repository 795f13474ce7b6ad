"""What the collector answered an OTLP request, which OpenTelemetry's exporters keep to
themselves (they return success or failure only): the status, its reason and a partial success.

The OTLP spec asks different things of each: 400 / ``INVALID_ARGUMENT`` (a bad request) and
413 / ``RESOURCE_EXHAUSTED`` "larger than max" (too large) must not be retried as they are; a
success may carry ``partial_success.rejected_spans``. The HTTP exporter takes a
``requests.Session`` (public ``session=``); this one notes the last answer per thread, for the
forwarder to read right after its ``export()`` returned. The gRPC exporter takes no such
hook: its stub is wrapped instead (``answering_grpc``, the one place that touches its private
``_stub``/``_client``; ``tests/test_delivery_edges.py`` fails if they move), and gRPC answers
are told in the HTTP statuses the forwarder acts on (``INVALID_ARGUMENT`` as 400, a message
over the receiver's limit as 413).

The exporter also logs each attempt (``Transient error ... retrying``, three per failed
export, 200+ characters each) at WARNING/ERROR; on evaltrace's forwarder thread those are
lowered to DEBUG (``quiet_exporter_logs``; the metrics' sending thread too): evaltrace logs
one line with the cause instead. An application's own exporters, on other threads, keep
their lines.
"""

from __future__ import annotations

import logging
import threading
import weakref
from dataclasses import dataclass
from typing import Any, Final

import grpc
import requests
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

__all__ = [
    "FORWARDER_THREAD",
    "GRPC_RETRIED",
    "SPAN_EXPORTER_LOGGERS",
    "Answer",
    "AnsweringSession",
    "answered_by",
    "answering_grpc",
    "last_answer",
    "quiet_exporter_logs",
]

GRPC_RETRIED = frozenset(
    {
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)
"""The OTLP spec's retryable codes but RESOURCE_EXHAUSTED (a message over the
receiver's limit is split by the forwarder, retrying it whole cannot help; any other
RESOURCE_EXHAUSTED is retried by the forwarder's backoff)."""
FORWARDER_THREAD: Final = "evaltrace-forwarder"
SPAN_EXPORTER_LOGGERS: Final = (
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.trace_exporter",
)


@dataclass(frozen=True)
class Answer:
    """The collector's answer to the last request (status None: no answer, ``reason`` says
    why)."""

    status: int | None
    reason: str
    rejected: int = 0
    message: str = ""
    code: str = ""
    """The gRPC status code's name (``UNIMPLEMENTED``...), for a gRPC exporter that failed."""


def _answer(response: requests.Response) -> Answer:
    rejected, message = 0, ""
    if 200 <= response.status_code < 300 and response.content:
        try:
            partial = ExportTraceServiceResponse.FromString(response.content).partial_success
            rejected, message = int(partial.rejected_spans), partial.error_message
        except DecodeError:  # a JSON or empty body: no partial success to read
            pass
    reason = response.reason or ""
    if response.status_code >= 400 and response.text:
        reason = f"{reason}: {response.text[:200].strip()}" if reason else response.text[:200]
    return Answer(response.status_code, reason, rejected, message)


class AnsweringSession(requests.Session):
    """A session that keeps, per thread, the collector's last answer."""

    def __init__(self) -> None:
        super().__init__()
        self._last = threading.local()

    def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        self._last.answer = None
        try:
            response = super().request(method, url, *args, **kwargs)
        except Exception as exc:
            self._last.answer = Answer(None, type(exc).__name__)
            raise
        self._last.answer = _answer(response)
        return response

    def last(self) -> Answer | None:
        """The answer to this thread's last request, then forgotten."""
        answer: Answer | None = getattr(self._last, "answer", None)
        self._last.answer = None
        return answer


def _grpc_answer(error: grpc.RpcError) -> Answer:
    code = error.code() if isinstance(error, grpc.Call) else None
    details = (error.details() or "") if isinstance(error, grpc.Call) else ""
    name = code.name if code is not None else type(error).__name__
    reason = f"gRPC {name}: {details[:200]}".rstrip(": ")
    if code is grpc.StatusCode.INVALID_ARGUMENT:
        return Answer(400, reason, code=name)
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED and "larger than max" in details.lower():
        return Answer(413, reason, code=name)  # the receiver's size limit (grpc-go's wording)
    return Answer(None, reason, code=name)


class _AnsweringStub:
    """A gRPC ``TraceServiceStub`` (or ``LogsServiceStub``) whose ``Export`` keeps its answer
    in ``answers``."""

    def __init__(self, stub: Any, answers: GrpcAnswers) -> None:
        self._stub, self._answers = stub, answers

    def Export(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            response = self._stub.Export(request, *args, **kwargs)
        except grpc.RpcError as error:
            self._answers.keep(_grpc_answer(error))
            raise
        partial = response.partial_success
        spans = hasattr(partial, "rejected_spans")  # else a logs response
        rejected = partial.rejected_spans if spans else partial.rejected_log_records
        self._answers.keep(Answer(200, "gRPC OK", int(rejected), partial.error_message))
        return response


class GrpcAnswers:
    """Per thread, the answer to the gRPC exporter's last call (its retries included: the
    last attempt's answer stands)."""

    def __init__(self) -> None:
        self._last = threading.local()

    def keep(self, answer: Answer) -> None:
        self._last.answer = answer

    def last(self) -> Answer | None:
        answer: Answer | None = getattr(self._last, "answer", None)
        self._last.answer = None
        return answer


def answering_grpc(exporter: Any) -> GrpcAnswers:
    """Wrap ``exporter``'s stub (now and after its reconnects) so ``last_answer`` reads what
    the collector answered; returns the record."""
    answers = GrpcAnswers()
    make_stub = exporter._stub
    exporter._stub = lambda channel: _AnsweringStub(make_stub(channel), answers)
    if exporter._client is not None:
        exporter._client = _AnsweringStub(exporter._client, answers)
    _SESSIONS[exporter] = answers
    return answers


_SESSIONS: weakref.WeakKeyDictionary[object, AnsweringSession | GrpcAnswers] = (
    weakref.WeakKeyDictionary()
)


def answered_by(exporter: object, session: AnsweringSession) -> None:
    """``exporter`` sends through ``session``: ``last_answer`` reads it."""
    _SESSIONS[exporter] = session


def last_answer(exporter: object) -> Answer | None:
    """What the collector answered ``exporter``'s last request on this thread (None for an
    exporter that does not say: an application's own)."""
    session = _SESSIONS.get(exporter)
    return session.last() if session is not None else None


class _OnQuietThreads(logging.Filter):
    """Lowers the exporters' records to DEBUG on evaltrace's own sending threads."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if threading.current_thread().name in self.threads and record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_FILTER: Final = _OnQuietThreads()


def quiet_exporter_logs(
    loggers: tuple[str, ...] = SPAN_EXPORTER_LOGGERS, thread: str = FORWARDER_THREAD
) -> None:
    """Lower the records of ``loggers`` made on the thread named ``thread`` to DEBUG (the
    filter is installed once per logger)."""
    _FILTER.threads.add(thread)
    for name in loggers:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
