"""OTLP/JSON trace files: spans to the lines a collector's ``file`` exporter writes, and back.

One ``ExportTraceServiceRequest`` per line in the protobuf JSON mapping (camelCase, int64 as
strings, enums as integers), written by the official classes (the SDK's OTLP encoder,
``google.protobuf.json_format``); trace and span ids are hex, as OTLP/JSON says, where the
generic mapping writes base64 — the one rewrite done after it. Read back as plain JSON
(hex or base64 ids, ``scopeSpans`` or the older ``instrumentationLibrarySpans``).
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan

from .._codec import dumps, loads
from .._exceptions import InvalidInputError
from ..query._otlp_json import any_value, hex_id

__all__ = ["SPANS_PER_LINE", "FileSpan", "read_spans", "request_lines"]

SPANS_PER_LINE: Final = 512
"""Spans in one line's request (the collector's file exporter writes one line per batch)."""

_ID_KEYS: Final = ("traceId", "spanId", "parentSpanId")


def _hex_ids(request: dict[str, Any]) -> None:
    """Rewrite every span's and link's base64 ids in place as hex."""
    for resource in request.get("resourceSpans") or []:
        for scope in resource.get("scopeSpans") or []:
            for span in scope.get("spans") or []:
                for item in (span, *(span.get("links") or [])):
                    for key in _ID_KEYS:
                        if isinstance(item.get(key), str) and item[key]:
                            item[key] = base64.b64decode(item[key]).hex()


def request_lines(spans: Iterable[ReadableSpan]) -> Iterator[str]:
    """The spans as OTLP/JSON lines (each ending in a newline), ``SPANS_PER_LINE`` per line."""
    batch: list[ReadableSpan] = []
    for span in spans:
        batch.append(span)
        if len(batch) == SPANS_PER_LINE:
            yield _line(batch)
            batch = []
    if batch:
        yield _line(batch)


def _line(spans: list[ReadableSpan]) -> str:
    request = json_format.MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    _hex_ids(request)
    # Plain JSON data from the mapping (its doubles are numbers or "NaN"-like strings): the
    # codec's fast path, without the scans a user's value needs (2 s of 10 per 20k spans).
    return dumps(request, "request", None, finite=True) + "\n"


@dataclass(slots=True)
class FileSpan:
    """One span read from a file, with what the store needs of it."""

    line: int
    name: str
    trace_id: int
    span_id: int
    parent_span_id: int | None
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    links: list[tuple[str, str]] = field(default_factory=list)
    """Hex (trace id, span id) of each link."""
    resource: dict[str, Any] = field(default_factory=dict)


def _attributes(items: Any) -> dict[str, Any]:
    return {str(kv["key"]): any_value(kv.get("value") or {}) for kv in items or ()}


def _id(value: Any, size: int, what: str) -> int:
    """A hex (or base64) id of ``size`` bytes as an int; anything else raises."""
    text = hex_id(value, size) if isinstance(value, str) else ""
    if len(text) != size * 2:
        raise ValueError(f"{what} {value!r:.60} is not a {size}-byte id")
    return int(text, 16)


def _spans(request: Any, number: int) -> Iterator[FileSpan]:
    """The spans of one line's request. Read as plain JSON rather than through
    ``json_format.ParseDict``, which took 0.7 ms a span (an import 30x slower than the export
    that wrote it); the structure is checked here instead, every error naming the line."""
    if not isinstance(request, dict) or not isinstance(request.get("resourceSpans"), list):
        raise ValueError(
            "not an OTLP/JSON trace request (no resourceSpans list); expected one per line, as "
            "`evaltrace export --format otlp` or a collector's file exporter writes"
        )
    for resource_spans in request["resourceSpans"]:
        resource = _attributes((resource_spans.get("resource") or {}).get("attributes"))
        scopes = resource_spans.get("scopeSpans") or resource_spans.get(
            "instrumentationLibrarySpans"
        )
        for scope in scopes or ():
            for span in scope.get("spans") or ():
                name = str(span.get("name", ""))
                parent = span.get("parentSpanId")
                yield FileSpan(
                    number,
                    name,
                    _id(span.get("traceId"), 16, f"span {name!r}: traceId"),
                    _id(span.get("spanId"), 8, f"span {name!r}: spanId"),
                    _id(parent, 8, f"span {name!r}: parentSpanId") if parent else None,
                    int(span.get("startTimeUnixNano") or 0),
                    int(span.get("endTimeUnixNano") or 0),
                    _attributes(span.get("attributes")),
                    [
                        (
                            f"{_id(link.get('traceId'), 16, 'link traceId'):032x}",
                            f"{_id(link.get('spanId'), 8, 'link spanId'):016x}",
                        )
                        for link in span.get("links") or ()
                    ],
                    resource,
                )


def read_spans(lines: Iterable[str], name: str) -> Iterator[FileSpan]:
    """Every span of an OTLP/JSON trace file, in file order (blank lines skipped); a line that
    is not a trace request raises ``InvalidInputError`` naming the file and line."""
    for number, text in enumerate(lines, 1):
        if not text.strip():
            continue
        where = f"{name} line {number}"
        try:
            request = loads(text)
        except (ValueError, RecursionError) as exc:
            raise InvalidInputError(f"{where}: not JSON ({exc})") from None
        try:
            spans = list(_spans(request, number))
        except InvalidInputError:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            text = str(exc) if isinstance(exc, ValueError) else f"malformed ({exc!r:.80})"
            if not text.startswith("not an OTLP"):
                text = f"not an OTLP/JSON trace request: {text}"
            raise InvalidInputError(f"{where}: {text}") from None
        yield from spans
