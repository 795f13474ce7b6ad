"""Every environment variable evaltrace reads, declared and parsed in this one module.

Constructor arguments win over the environment; the environment wins over the defaults.
The ``OTEL_*`` names are the OpenTelemetry SDK's own: evaltrace reads them only to decide
*whether* to add an OTLP exporter and which protocol to use; the exporter itself reads the
rest (headers, certificates, timeouts) as the SDK documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Final

from ._exceptions import ConfigurationError

__all__ = ["ENVIRONMENT_VARIABLES", "Settings", "TraceLinks"]

EVALTRACE_STORE: Final = "EVALTRACE_STORE"
"""Path of the embedded SQLite span store (default ``./.evaltrace/evaltrace.db``); ``off``
disables it."""

EVALTRACE_RESULTS_PER_TRACE: Final = "EVALTRACE_RESULTS_PER_TRACE"
"""How many results of one ``log_batch`` share a trace (default 500): bounds trace size in
Jaeger and Tempo (Tempo refuses traces over 5 MB by default)."""

EVALTRACE_MAX_METRIC_ATTRIBUTES: Final = "EVALTRACE_MAX_METRIC_ATTRIBUTES"
"""Most flat ``eval.metric.*`` attributes per span (default 96); the rest are counted in
``eval.metric.omitted`` and stay exact in the JSON payload."""

EVALTRACE_MAX_METRIC_STRING: Final = "EVALTRACE_MAX_METRIC_STRING"
"""Longest string metric copied into a flat attribute (default 256 characters); longer ones are
counted as omitted, never truncated, and stay exact in the JSON payload."""

EVALTRACE_QUEUE_SIZE: Final = "EVALTRACE_QUEUE_SIZE"
"""Span queue of the tracker's own batch processor (default 2048). The tracker flushes
synchronously before the queue can fill, so no span is ever dropped."""

EVALTRACE_READ_TIMEOUT: Final = "EVALTRACE_READ_TIMEOUT"
"""Seconds a read waits for a backend to hold every result this tracker logged (default 30)."""

EVALTRACE_JAEGER_UI_URL: Final = "EVALTRACE_JAEGER_UI_URL"
"""Base URL of a Jaeger UI (e.g. ``http://127.0.0.1:16686``); when set, ``evaltrace ui`` and
``evaltrace report`` link each sample to ``{url}/trace/{trace_id}``."""

EVALTRACE_GRAFANA_URL: Final = "EVALTRACE_GRAFANA_URL"
"""Base URL of a Grafana with a Tempo data source (e.g. ``http://127.0.0.1:3000``); when set,
each sample links to its trace in Grafana Explore. A ``?datasource=UID`` on it names the Tempo
data source (default uid ``tempo``)."""

OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Standard OTLP endpoint; when set (or the traces-specific one), spans are also sent over OTLP."""

OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
"""Standard traces-only OTLP endpoint; wins over ``OTEL_EXPORTER_OTLP_ENDPOINT``."""

OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""``grpc`` or ``http/protobuf`` (the OpenTelemetry default)."""

OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
"""Traces-only protocol; wins over ``OTEL_EXPORTER_OTLP_PROTOCOL``."""

ENVIRONMENT_VARIABLES: Final = (
    EVALTRACE_STORE,
    EVALTRACE_RESULTS_PER_TRACE,
    EVALTRACE_MAX_METRIC_ATTRIBUTES,
    EVALTRACE_MAX_METRIC_STRING,
    EVALTRACE_QUEUE_SIZE,
    EVALTRACE_READ_TIMEOUT,
    EVALTRACE_JAEGER_UI_URL,
    EVALTRACE_GRAFANA_URL,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
)

DEFAULT_STORE: Final = os.path.join(".evaltrace", "evaltrace.db")
PROTOCOLS: Final = ("grpc", "http/protobuf")


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigurationError(f"{name}={value} must be at least {minimum}")
    return value


def _url(name: str) -> str | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    if not raw.startswith(("http://", "https://")):
        raise ConfigurationError(f"{name}={raw!r} is not an http(s) URL")
    return raw


@dataclass(frozen=True, slots=True)
class TraceLinks:
    """Where the UI links a sample's trace: the Jaeger UI and Grafana Explore base URLs."""

    jaeger_ui: str | None
    grafana: str | None

    @classmethod
    def from_env(cls) -> TraceLinks:
        """Read ``EVALTRACE_JAEGER_UI_URL`` and ``EVALTRACE_GRAFANA_URL`` (unset: no link)."""
        return cls(jaeger_ui=_url(EVALTRACE_JAEGER_UI_URL), grafana=_url(EVALTRACE_GRAFANA_URL))


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise ConfigurationError(f"{name}={value} must not be negative")
    return value


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved configuration of one tracker."""

    store: str | None
    otlp_endpoint: str | None
    otlp_protocol: str
    results_per_trace: int
    max_metric_attributes: int
    max_metric_string: int
    queue_size: int
    read_timeout: float

    @classmethod
    def from_env(
        cls,
        *,
        store: str | os.PathLike[str] | bool | None = None,
        otlp_endpoint: str | None = None,
        otlp_protocol: str | None = None,
    ) -> Settings:
        """Resolve arguments over ``EVALTRACE_*`` / ``OTEL_*`` variables over defaults."""
        if store is None or store is True:
            raw = os.environ.get(EVALTRACE_STORE, "").strip()
            resolved_store: str | None = raw or DEFAULT_STORE
            if raw.lower() == "off":
                resolved_store = None
        elif store is False:
            resolved_store = None
        else:
            resolved_store = os.fspath(store)
        endpoint = (
            otlp_endpoint
            or os.environ.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "").strip()
            or os.environ.get(OTEL_EXPORTER_OTLP_ENDPOINT, "").strip()
            or None
        )
        protocol = (
            otlp_protocol
            or os.environ.get(OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "").strip()
            or os.environ.get(OTEL_EXPORTER_OTLP_PROTOCOL, "").strip()
            or "http/protobuf"
        )
        if protocol not in PROTOCOLS:
            raise ConfigurationError(f"otlp_protocol={protocol!r}: expected one of {PROTOCOLS}")
        return cls(
            store=resolved_store,
            otlp_endpoint=endpoint,
            otlp_protocol=protocol,
            results_per_trace=_int(EVALTRACE_RESULTS_PER_TRACE, 500),
            max_metric_attributes=_int(EVALTRACE_MAX_METRIC_ATTRIBUTES, 96, minimum=0),
            max_metric_string=_int(EVALTRACE_MAX_METRIC_STRING, 256, minimum=0),
            queue_size=_int(EVALTRACE_QUEUE_SIZE, 2048, minimum=2),
            read_timeout=_float(EVALTRACE_READ_TIMEOUT, 30.0),
        )
