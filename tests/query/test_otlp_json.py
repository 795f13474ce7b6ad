"""Decoding the OTLP/JSON that Jaeger and Tempo answer with, and TraceQL quoting."""

from __future__ import annotations

import base64

from evaltrace.query._otlp_json import any_value, hex_id, span_views
from evaltrace.query._tempo import traceql


def test_ids_hex_or_base64() -> None:
    """Trace ids come back as hex from Jaeger and as base64 from Tempo; both normalise to hex."""
    raw = bytes(range(16))
    assert hex_id(raw.hex(), 16) == raw.hex()
    assert hex_id(base64.b64encode(raw).decode(), 16) == raw.hex()


def test_attribute_values_keep_their_types() -> None:
    """OTLP/JSON ints (decimal strings), doubles, bools and arrays decode to Python types."""
    assert any_value({"intValue": "42"}) == 42
    assert any_value({"doubleValue": 0.5}) == 0.5
    assert any_value({"boolValue": True}) is True
    assert any_value({"stringValue": "x"}) == "x"
    assert any_value({"arrayValue": {"values": [{"doubleValue": 1.0}]}}) == (1.0,)


def test_span_views_keep_what_readers_decode() -> None:
    """Identifiers and payloads are converted; flat metrics (already in the JSON) are not."""
    body = [
        {
            "scopeSpans": [
                {
                    "spans": [
                        {
                            "name": "evaltrace.result",
                            "traceId": "00" * 16,
                            "spanId": "01" * 8,
                            "startTimeUnixNano": "1700000000000000000",
                            "attributes": [
                                {"key": "eval.seq", "value": {"intValue": "42"}},
                                {"key": "eval.run_id", "value": {"stringValue": "r"}},
                                {"key": "eval.metric.m.score", "value": {"doubleValue": 0.5}},
                                {"key": "eval.result", "value": {"stringValue": "{}"}},
                            ],
                        }
                    ]
                }
            ]
        }
    ]
    (view,) = span_views(body)
    assert view.attributes == {"eval.seq": 42, "eval.run_id": "r", "eval.result": "{}"}
    assert view.start_ns == 1_700_000_000_000_000_000


def test_traceql_quotes_cannot_escape() -> None:
    """Quotes, backslashes and newlines stay inside the TraceQL string literal."""
    query = traceql({"eval.run_id": 'a"} || { true'})
    assert query == '{ span.eval.run_id = "a\\"} || { true" }'
    assert traceql({"eval.run_id": "x\\\ny"}) == '{ span.eval.run_id = "x\\\\\\ny" }'


def test_auth_options_become_one_header() -> None:
    """Bearer and basic auth become the Authorization header both transports send."""
    from evaltrace import ClientOptions

    assert ClientOptions(headers={"X-Org": "1"}, bearer_token="tok").auth_headers() == {
        "X-Org": "1",
        "Authorization": "Bearer tok",
    }
    assert ClientOptions(basic_auth=("u", "p")).auth_headers() == {"Authorization": "Basic dTpw"}
    assert "s3cr3t" not in repr(ClientOptions(bearer_token="s3cr3t", headers={"X-Key": "v"}))
    assert "secret" not in repr(ClientOptions(headers={"X-Key": "secret"}))
