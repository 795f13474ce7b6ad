"""The OTLP exporter the outbox forwards through, and what to say when it cannot deliver.

The exporters are OpenTelemetry's own (``opentelemetry-exporter-otlp``). What evaltrace adds
is the diagnosis of the usual mistake: the gRPC port with the HTTP protocol or the reverse
(the exporter then fails every export with only its own log lines to show for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlparse

from opentelemetry.sdk.trace.export import SpanExporter

from .._urls import redact_url
from ._otlp_answer import (
    GRPC_RETRIED,
    AnsweringSession,
    answered_by,
    answering_grpc,
    quiet_exporter_logs,
)

__all__ = ["build_exporter", "describe", "port_hint", "redact_url"]

GRPC_PORT = 4317
HTTP_PORT = 4318


def describe(endpoint: str | None, protocol: str) -> str:
    """How logs and errors name the destination (credentials removed)."""
    return f"{redact_url(endpoint) if endpoint else '(OTEL_EXPORTER_OTLP_* default)'} ({protocol})"


def port_hint(endpoint: str | None, protocol: str) -> str | None:
    """What is wrong when the endpoint's port belongs to the other OTLP protocol."""
    if not endpoint:
        return None
    try:
        port = urlparse(endpoint if "://" in endpoint else f"http://{endpoint}").port
    except ValueError:
        return None
    if protocol == "http/protobuf" and port == GRPC_PORT:
        return f"{GRPC_PORT} is the OTLP/gRPC port; pass otlp_protocol='grpc' or use :{HTTP_PORT}"
    if protocol == "grpc" and port == HTTP_PORT:
        return (
            f"{HTTP_PORT} is the OTLP/HTTP port; pass otlp_protocol='http/protobuf' or use "
            f":{GRPC_PORT}"
        )
    return None


def build_exporter(
    endpoint: str | None, protocol: str, headers: Mapping[str, str] | None
) -> SpanExporter:
    """OpenTelemetry's OTLP span exporter for ``protocol``; ``endpoint`` None lets it read the
    standard ``OTEL_EXPORTER_OTLP_*`` variables itself."""
    kwargs: dict[str, Any] = {"headers": dict(headers)} if headers else {}
    quiet_exporter_logs()
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as Grpc

        if endpoint:
            kwargs["endpoint"] = endpoint
            kwargs["insecure"] = urlparse(endpoint).scheme == "http"
        # RESOURCE_EXHAUSTED is left to the forwarder: a message over the receiver's limit is
        # split there (retrying it whole cannot help); any other one is retried by its backoff.
        grpc_exporter = Grpc(retryable_error_codes=GRPC_RETRIED, **kwargs)
        answering_grpc(grpc_exporter)  # INVALID_ARGUMENT, too large and partial success
        return grpc_exporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as Http

    if endpoint:
        url = endpoint.rstrip("/")
        kwargs["endpoint"] = url if urlparse(url).path else url + "/v1/traces"
    session = AnsweringSession()  # 400, 413 and partial success are read from it
    exporter = Http(session=session, **kwargs)
    answered_by(exporter, session)
    return exporter
