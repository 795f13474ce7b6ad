"""What the collector answered an OTLP/HTTP request, which OpenTelemetry's exporter keeps to
itself (it returns success or failure only): the status, its reason and a partial success.

The OTLP spec asks different things of each: 400 (a bad request) and 413 (too large) must
not be retried as they are; a 200 may carry ``partial_success.rejected_spans``. The exporter
takes a ``requests.Session`` (public ``session=``); this one notes the last answer per thread,
for the forwarder to read right after its ``export()`` returned.

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

import requests
from google.protobuf.message import DecodeError
from grpc import StatusCode
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

__all__ = [
    "FORWARDER_THREAD",
    "SPAN_EXPORTER_LOGGERS",
    "Answer",
    "AnsweringSession",
    "answered_by",
    "answered_by_grpc",
    "last_answer",
    "quiet_exporter_logs",
]

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


_SESSIONS: weakref.WeakKeyDictionary[object, AnsweringSession] = weakref.WeakKeyDictionary()


def answered_by(exporter: object, session: AnsweringSession) -> None:
    """``exporter`` sends through ``session``: ``last_answer`` reads it."""
    _SESSIONS[exporter] = session


_GRPC: weakref.WeakSet[object] = weakref.WeakSet()


def answered_by_grpc(exporter: object) -> None:
    """``exporter`` is a gRPC one of evaltrace's: ``last_answer`` reads the status code it
    logged (it returns success or failure only, and logs the code: ``_OnQuietThreads``)."""
    _GRPC.add(exporter)


def last_answer(exporter: object) -> Answer | None:
    """What the collector answered ``exporter``'s last request on this thread (None for an
    exporter that does not say: an application's own, or a gRPC span exporter)."""
    session = _SESSIONS.get(exporter)
    if session is not None:
        return session.last()
    if exporter in _GRPC:
        code = _FILTER.take_code()
        return Answer(None, code, code=code) if code else Answer(None, "")
    return None


class _OnQuietThreads(logging.Filter):
    """Lowers the exporters' records to DEBUG on evaltrace's own sending threads."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[str] = set()
        self._code = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if threading.current_thread().name in self.threads and record.levelno > logging.DEBUG:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            # The gRPC exporter's failure lines carry the status code as an argument.
            args = record.args if isinstance(record.args, tuple) else ()
            for arg in args:
                if isinstance(arg, StatusCode):
                    self._code.name = arg.name
        return True

    def take_code(self) -> str:
        """The last gRPC status code logged on this thread since the last call, then forgotten."""
        code: str = getattr(self._code, "name", "")
        self._code.name = ""
        return code


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
