"""Offline stand-ins for Grafana Tempo's and Jaeger v2's query APIs, as ``httpx.MockTransport``
handlers. They hold OTLP/JSON made by OpenTelemetry's own encoder from spans evaltrace itself
wrote, validate each request the way the documented API does, and answer in its shapes:

- Tempo (grafana.com/docs/tempo/latest/api_docs, query frontend source):
  ``GET /api/search?q=&start=&end=&limit=&spss=`` (unix seconds; ``end <= start`` and
  ``end - start > max_duration`` (168h) are 400s with plain-text bodies; ``traceID`` hex with
  leading zeros dropped), ``GET /api/v2/traces/<hex id>`` (``{"trace": {"resourceSpans": ..}}``,
  ids base64 inside, ``"status": "PARTIAL"`` + ``"message"`` when cut at max_bytes_per_trace).
- Jaeger v2.13 (``cmd/jaeger/internal/extension/jaegerquery/.../apiv3/http_gateway.go``):
  ``GET /api/v3/traces?query.service_name=&query.start_time_min=&query.start_time_max=`` (RFC
  3339, both required), ``query.num_traces``; ``{"result": {"resourceSpans": ..}}`` with hex ids,
  404 ``{"error": {"httpCode": 404, "message": "No traces found"}}``; ``query.attributes`` ignored,
  ``query.operation_name`` honoured (a trace with a span of that name; measured on v2.13).
"""

from __future__ import annotations

import asyncio
import base64
import copy
import re
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace

from ..support.spans import logged_spans

Json = dict[str, Any]
Reply = httpx.Response | Exception


def logged(log: Callable[[evaltrace.OpenTelemetryExperimentTracker], object]) -> list[ReadableSpan]:
    """The spans evaltrace writes for ``log(tracker)``, finished and in memory (the run-summary
    spans of its close left out: tests/query/test_summary_history.py reads those)."""
    memory = InMemorySpanExporter()
    with evaltrace.OpenTelemetryExperimentTracker("p", store=False, exporters=[memory]) as tracker:
        log(tracker)
    return list(logged_spans(memory))


def reference(spans: Sequence[ReadableSpan]) -> evaltrace.InMemoryQueryAdapter:
    """What the same spans read back as straight from memory: the expected answer."""
    memory = InMemorySpanExporter()
    memory.export(spans)
    return evaltrace.InMemoryQueryAdapter(memory)


def one_and_batch(run_id: str, n: int = 3) -> list[ReadableSpan]:
    """One ``log`` and one ``log_batch`` of ``n`` results (its own batch trace) in ``run_id``."""

    def log(tracker: evaltrace.OpenTelemetryExperimentTracker) -> None:
        tracker.log(
            {"judge": {"score": 1, "explanation": "é🚀"}}, "qa", {"id": "s0"}, run_id=run_id
        )
        asyncio.run(
            tracker.log_batch(
                [{"geval": {"score": i / 10}} for i in range(n)],
                "qa",
                [{"id": f"s{i + 1}", "nan": float("nan")} for i in range(n)],
                run_id=run_id,
            )
        )

    return logged(log)


def singles(run_id: str, n: int) -> list[ReadableSpan]:
    """``n`` single-result traces in ``run_id``."""

    def log(tracker: evaltrace.OpenTelemetryExperimentTracker) -> None:
        for i in range(n):
            tracker.log({"i": i}, "paging", {"id": i}, run_id=run_id)

    return logged(log)


NASTY = {  # run id -> its TraceQL string literal, as Go's strconv.Unquote reads it back
    'q"uote': r'"q\"uote"',
    "back\\slash": r'"back\\slash"',
    "new\nline": r'"new\nline"',
    "tab\there": r'"tab\there"',
    "nul\x00bell\x07": r'"nul\u0000bell\u0007"',
    'a"} || { true': r'"a\"} || { true"',
    "é🚀\u2028": '"é🚀\u2028"',
    "run": '"run"',
    "run-1": '"run-1"',
}


SECRET = "s3cr3t-Pa55"
"""A credential that must never be shown (``dXNlcjpz`` starts its basic-auth base64)."""


def _b64_to_hex(value: str) -> str:
    return base64.b64decode(value).hex()


class Trace:
    """One stored trace: its OTLP/JSON ``resourceSpans`` (ids base64, as protobuf JSON has them)."""

    def __init__(self, resource_spans: list[Json]) -> None:
        self.resource_spans = resource_spans

    @property
    def spans(self) -> list[Json]:
        return [s for r in self.resource_spans for sc in r["scopeSpans"] for s in sc["spans"]]

    @property
    def hex_id(self) -> str:
        return _b64_to_hex(self.spans[0]["traceId"])

    @property
    def start_ns(self) -> int:
        return min(int(s["startTimeUnixNano"]) for s in self.spans)

    def with_hex_ids(self) -> list[Json]:
        """The same spans with hex ids, as Jaeger's API v3 JSON writes them."""
        out = copy.deepcopy(self.resource_spans)
        for resource in out:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    for key in ("traceId", "spanId", "parentSpanId"):
                        if span.get(key):
                            span[key] = _b64_to_hex(span[key])
                    for link in span.get("links", []):
                        link["traceId"] = _b64_to_hex(link["traceId"])
                        link["spanId"] = _b64_to_hex(link["spanId"])
        return out


def traces(
    spans: Sequence[ReadableSpan],
    *,
    at: int | None = None,
    trace_id: bytes | None = None,
    drop: Callable[[ReadableSpan], bool] | None = None,
    duplicate: bool = False,
) -> list[Trace]:
    """OTLP/JSON traces of ``spans``, one per trace id, through OpenTelemetry's own encoder.

    ``at`` moves every trace to start at that unix second (keeping offsets); ``trace_id``
    renames a (single) trace; ``drop`` leaves spans out (a half-stored trace); ``duplicate``
    stores every span twice (at-least-once delivery).
    """
    by_trace: dict[int, list[ReadableSpan]] = {}
    for span in spans:
        if drop is None or not drop(span):
            assert span.context is not None
            by_trace.setdefault(span.context.trace_id, []).append(span)
    out: list[Trace] = []
    for group in by_trace.values():
        encoded = MessageToDict(encode_spans(group + group if duplicate else group))
        trace = Trace(encoded["resourceSpans"])
        if at is not None:
            shift = at * 10**9 - trace.start_ns
            for encoded_span in trace.spans:
                for key in ("startTimeUnixNano", "endTimeUnixNano"):
                    encoded_span[key] = str(int(encoded_span[key]) + shift)
        if trace_id is not None:
            for encoded_span in trace.spans:
                encoded_span["traceId"] = base64.b64encode(trace_id).decode()
        out.append(trace)
    return out


class _Fake:
    """Stored traces, the requests seen, and replies to give before answering normally."""

    def __init__(self, stored: Iterable[Trace] = ()) -> None:
        self.stored: dict[str, Trace] = {}
        self.requests: list[httpx.Request] = []
        self.replies: deque[Reply] = deque()
        for trace in stored:
            self.add(trace)

    def add(self, trace: Trace) -> None:
        """Store ``trace`` (merging spans into a trace of the same id)."""
        if trace.hex_id in self.stored:
            self.stored[trace.hex_id].resource_spans += trace.resource_spans
        else:
            self.stored[trace.hex_id] = trace

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.method == "GET", request.method
        if self.replies:
            reply = self.replies.popleft()
            if isinstance(reply, Exception):
                raise reply
            return reply
        return self.answer(request)

    def answer(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


# --- Tempo -----------------------------------------------------------------------------------

_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_GO_ESCAPES |= {"\\": "\\", '"': '"'}


class TraceQLError(ValueError):
    """What Tempo answers 400 for: the query does not parse."""


def go_unquote(text: str, at: int) -> tuple[str, int]:
    """Read the Go double-quoted string literal at ``text[at]`` as TraceQL's lexer does
    (``text/scanner`` then ``strconv.Unquote``): returns the value and the index after it."""
    if text[at] != '"':
        raise TraceQLError(f"expected a string at col {at + 1}")
    out: list[str] = []
    i = at + 1
    while True:
        if i >= len(text) or text[i] == "\n":
            raise TraceQLError("literal not terminated")
        char = text[i]
        if char == '"':
            return "".join(out), i + 1
        if char != "\\":
            out.append(char)
            i += 1
            continue
        kind = text[i + 1 : i + 2]
        if kind in _GO_ESCAPES:
            out.append(_GO_ESCAPES[kind])
            i += 2
        elif kind in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[kind]
            digits = text[i + 2 : i + 2 + width]
            if not re.fullmatch(f"[0-9a-fA-F]{{{width}}}", digits):
                raise TraceQLError("invalid char escape")
            code = int(digits, 16)
            if kind != "x" and (0xD800 <= code < 0xE000 or code > 0x10FFFF):
                raise TraceQLError("escape is invalid Unicode code point")
            out.append(chr(code))
            i += 2 + width
        elif re.fullmatch("[0-7]{3}", text[i + 1 : i + 4]) and int(text[i + 1 : i + 4], 8) < 256:
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            raise TraceQLError("invalid char escape")


def parse_traceql(query: str) -> dict[str, str | None]:
    """``{ span.a = "x" && span.b = "y" }`` or ``{ span.a != nil }`` (the shapes evaltrace
    sends) into terms; ``None`` stands for "any value"."""
    match = re.match(r"\{ ", query)
    if not match:
        raise TraceQLError("parse error at line 1, col 1: syntax error: expected {")
    terms: dict[str, str | None] = {}
    i = match.end()
    exists = re.compile(r"span\.([A-Za-z0-9_.]+) != nil \}").fullmatch(query, i)
    if exists:  # existence: the attribute with any value (kept as a term of value None)
        return {exists.group(1): None}
    while True:
        clause = re.compile(r"span\.([A-Za-z0-9_.]+) = ").match(query, i)
        if not clause:
            raise TraceQLError(f"parse error at line 1, col {i + 1}: syntax error")
        if clause.group(1) in terms:
            raise TraceQLError("the same attribute twice")
        terms[clause.group(1)], i = go_unquote(query, clause.end())
        if query.startswith(" && ", i):
            i += 4
        elif query[i:] == " }":
            return terms
        else:
            raise TraceQLError(f"parse error at line 1, col {i + 1}: syntax error")


def _string_attributes(span: Json) -> dict[str, str]:
    return {
        kv["key"]: kv["value"]["stringValue"]
        for kv in span.get("attributes", [])
        if "stringValue" in kv["value"]  # TraceQL: a string literal never equals an int
    }


def _matches(attributes: dict[str, str], terms: dict[str, str | None]) -> bool:
    return all(k in attributes and v in (None, attributes[k]) for k, v in terms.items())


class FakeTempo(_Fake):
    """Tempo's query frontend over the stored traces; ``loose`` makes search return every
    trace (a backend that over-matches) so client-side re-filtering is what is tested."""

    def __init__(
        self, stored: Iterable[Trace] = (), *, max_duration: int = 168 * 3600, loose: bool = False
    ) -> None:
        super().__init__(stored)
        self.max_duration = max_duration
        self.loose = loose
        self.partial: dict[str, str] = {}  # hex trace id -> Tempo's message
        self.gone: set[str] = set()  # hex trace ids the search finds but the fetch does not
        self.searches: list[
            tuple[dict[str, str | None], int, int, int]
        ] = []  # terms, start, end, limit

    def answer(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/search":
            return self._search(request)
        if path.startswith("/api/v2/traces/"):
            return self._trace(path.removeprefix("/api/v2/traces/"))
        return httpx.Response(404, text="404 page not found\n")

    def _search(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        for name in ("q", "start", "end", "limit", "spss"):  # all sent, every time
            assert name in params, f"{name} missing from {request.url}"
        start, end, limit = int(params["start"]), int(params["end"]), int(params["limit"])
        assert limit > 0 and int(params["spss"]) > 0
        if end <= start:
            return httpx.Response(
                400,
                text=f"http parameter start must be before end. received start={start} end={end}",
            )
        if end - start > self.max_duration:
            hours = self.max_duration // 3600
            return httpx.Response(
                400,
                text=f"range specified by start and end exceeds {hours}h0m0s. "
                f"received start={start} end={end}",
            )
        try:
            terms = parse_traceql(params["q"])
        except TraceQLError as exc:
            return httpx.Response(400, text=f"invalid TraceQL query: {exc}")
        self.searches.append((terms, start, end, limit))
        found = []
        for trace in sorted(self.stored.values(), key=lambda t: -t.start_ns):
            if not start * 10**9 <= trace.start_ns <= end * 10**9:
                continue
            matched = [s for s in trace.spans if _matches(_string_attributes(s), terms)]
            if matched or self.loose:
                found.append((trace, matched or trace.spans[:1]))
        return httpx.Response(
            200,
            json={
                "traces": [
                    {
                        "traceID": trace.hex_id.lstrip("0"),  # Tempo drops leading zeros
                        "rootServiceName": "evaltrace",
                        "rootTraceName": trace.spans[0]["name"],
                        "startTimeUnixNano": str(trace.start_ns),
                        "durationMs": 1,
                        "spanSets": [
                            {
                                "spans": [{"spanID": _b64_to_hex(matched[0]["spanId"])}],
                                "matched": len(matched),
                            }
                        ],
                    }
                    for trace, matched in found[:limit]
                ],
                "metrics": {"inspectedTraces": len(self.stored), "totalBlocks": 1},
            },
        )

    def _trace(self, trace_id: str) -> httpx.Response:
        assert re.fullmatch("[0-9a-f]{32}", trace_id), trace_id  # hex, as the API takes it
        trace = self.stored.get(trace_id)
        if trace is None or trace_id in self.gone:
            return httpx.Response(404, text="")
        body: Json = {
            "trace": {"resourceSpans": trace.resource_spans},
            "metrics": {"inspectedBytes": "1000"},
        }
        if trace_id in self.partial:
            body |= {"status": "PARTIAL", "message": self.partial[trace_id]}
        return httpx.Response(200, json=body)


# --- Jaeger ----------------------------------------------------------------------------------


def _rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _epoch_ns(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000


class FakeJaeger(_Fake):
    """Jaeger v2.13's ``/api/v3/traces`` over the stored traces: ``query.attributes`` ignored
    (every trace of the service in the window comes back), at most ``query.num_traces``."""

    def __init__(self, stored: Iterable[Trace] = (), *, service: str = "evaltrace") -> None:
        super().__init__(stored)
        self.service = service
        self.searches: list[tuple[datetime, datetime, int]] = []

    @staticmethod
    def _error(status: int, message: str) -> httpx.Response:
        return httpx.Response(status, json={"error": {"httpCode": status, "message": message}})

    def answer(self, request: httpx.Request) -> httpx.Response:
        if request.url.path != "/api/v3/traces":
            return httpx.Response(404, text="404 page not found\n")
        params = request.url.params
        low, high = params.get("query.start_time_min"), params.get("query.start_time_max")
        if not low or not high:
            return self._error(400, "query.start_time_min and query.start_time_max are required")
        start, end = _rfc3339(low), _rfc3339(high)
        assert start.tzinfo is not None and start < end, (low, high)
        assert params["query.raw_traces"] == "true"
        limit = int(params["query.num_traces"])
        self.searches.append((start, end, limit))
        lo_ns, hi_ns = _epoch_ns(start), _epoch_ns(end)
        operation = params.get("query.operation_name")
        found = [
            t
            for t in sorted(self.stored.values(), key=lambda t: -t.start_ns)
            if params.get("query.service_name") == self.service
            and lo_ns <= t.start_ns <= hi_ns
            and (not operation or any(s["name"] == operation for s in t.spans))
        ][:limit]
        if not found:
            return self._error(404, "No traces found")
        spans = [r for t in found for r in t.with_hex_ids()]
        return httpx.Response(200, json={"result": {"resourceSpans": spans}})
