"""OTLP/JSON (what Jaeger's /api/v3 and Tempo's /api/v2 return) into ``SpanView``s."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from typing import Any

from ..schema import READ_KEYS
from ._base import SpanView

__all__ = ["any_value", "hex_id", "span_views"]


def hex_id(value: str, size: int) -> str:
    """A trace/span id as lower-case hex, whether the backend wrote hex or base64."""
    if len(value) == size * 2:
        try:
            bytes.fromhex(value)
            return value.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value
    return raw.rjust(size, b"\0").hex()


def any_value(value: Mapping[str, Any]) -> Any:
    """One OTLP/JSON AnyValue (ints arrive as decimal strings; a null list as empty)."""
    if "stringValue" in value:
        return str(value["stringValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return tuple(any_value(v) for v in value["arrayValue"].get("values") or ())
    if "kvlistValue" in value:
        items = value["kvlistValue"].get("values") or ()
        return {str(kv["key"]): any_value(kv.get("value") or {}) for kv in items}
    return None


def attributes(items: list[Mapping[str, Any]] | None) -> dict[str, Any]:
    """OTLP KeyValue list into a dict, of the attributes readers decode."""
    return {
        kv["key"]: any_value(kv.get("value") or {}) for kv in items or [] if kv["key"] in READ_KEYS
    }


def span_views(resource_spans: list[Mapping[str, Any]]) -> Iterator[SpanView]:
    """Every span of a ``resourceSpans`` list (``scopeSpans``, or the older name)."""
    for resource in resource_spans:
        scopes = resource.get("scopeSpans") or resource.get("instrumentationLibrarySpans") or []
        for scope in scopes:
            for span in scope.get("spans", []):
                yield SpanView(
                    name=span.get("name", ""),
                    trace_id=hex_id(span.get("traceId", ""), 16),
                    span_id=hex_id(span.get("spanId", ""), 8),
                    start_ns=int(span.get("startTimeUnixNano", 0)),
                    attributes=attributes(span.get("attributes")),
                )
