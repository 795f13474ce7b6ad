"""Every environment variable evaltrace reads, declared and parsed in this one module.

Constructor arguments win over the environment; the environment wins over the defaults. A
value that cannot be right fails loudly, naming the variable. The ``OTEL_*`` names are the
OpenTelemetry SDK's own: evaltrace reads them only to decide *whether* to forward over OTLP,
with which protocol, and what content may leave; the exporter reads the rest (headers,
certificates, timeouts) as the SDK documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from hashlib import blake2b
from typing import Final

from ._capture import ALL, LOCAL, MODES
from ._exceptions import ConfigurationError
from ._urls import check_endpoint

__all__ = [
    "ENVIRONMENT_VARIABLES",
    "INTEGRATION_VARIABLES",
    "Settings",
    "TraceLinks",
    "deepeval_test_name",
    "default_spool",
    "destination_key",
    "inspect_project",
    "store_path",
    "ui_url",
]

EVALTRACE_STORE: Final = "EVALTRACE_STORE"
"""Path of the embedded SQLite store, the commit point of every log call (default
``./.evaltrace/evaltrace.db``; ``~`` expanded); ``off`` disables it."""

EVALTRACE_SPOOL: Final = "EVALTRACE_SPOOL"
"""Without a store, where results wait until the collector acknowledges them (default
``$XDG_CACHE_HOME/evaltrace/spool/<project>-<endpoint hash>.db``, else ``~/.cache/...``);
``off`` keeps them in memory only (lost if the process dies)."""

EVALTRACE_CAPTURE_CONTENT: Final = "EVALTRACE_CAPTURE_CONTENT"
"""``all`` (default), ``local`` (no text over OTLP; the store keeps everything) or ``none``
(no text kept anywhere): see ``docs/reliability.md``."""

EVALTRACE_RESULTS_PER_TRACE: Final = "EVALTRACE_RESULTS_PER_TRACE"
"""How many results of one ``log_batch`` share a trace (default 500): bounds trace size in
Jaeger and Tempo (Tempo refuses traces over 5 MB by default)."""

EVALTRACE_MAX_METRIC_ATTRIBUTES: Final = "EVALTRACE_MAX_METRIC_ATTRIBUTES"
"""Most flat ``eval.metric.*`` attributes per span (default 96); the rest are counted in
``eval.omitted.metric_attributes`` and stay exact in the JSON payload."""

EVALTRACE_MAX_METRIC_STRING: Final = "EVALTRACE_MAX_METRIC_STRING"
"""Longest string metric copied into a flat attribute (default 256 characters); longer ones are
counted as omitted, never truncated, and stay exact in the JSON payload."""

EVALTRACE_QUEUE_SIZE: Final = "EVALTRACE_QUEUE_SIZE"
"""Spans the OTLP forwarder keeps in memory (default 2048); past it, committed spans are sent
from the outbox instead (or, with ``spool=False``, the oldest are dropped and counted)."""

EVALTRACE_OUTBOX_MAX_SPANS: Final = "EVALTRACE_OUTBOX_MAX_SPANS"
"""Most spans the outbox holds for the collector (default 1,000,000); past it the oldest are
dropped from the outbox, counted and logged (the store keeps their results)."""

EVALTRACE_OUTBOX_MAX_AGE: Final = "EVALTRACE_OUTBOX_MAX_AGE"
"""Seconds an undelivered span stays in the outbox (default 604800, 7 days)."""

EVALTRACE_OTLP_MAX_REQUEST_BYTES: Final = "EVALTRACE_OTLP_MAX_REQUEST_BYTES"
"""Most bytes of one OTLP request, encoded (default 4,000,000: under the collector's 4 MiB
gRPC receive limit; its OTLP/HTTP limit is 20 MiB). Requests are packed by encoded size; a
single span larger than this is dropped, counted (``too_large``) and logged."""

EVALTRACE_EXIT_TIMEOUT: Final = "EVALTRACE_EXIT_TIMEOUT"
"""Seconds ``close()``, interpreter exit and SIGTERM wait for the collector to acknowledge
what is pending (default 5); the rest stays in the outbox."""

EVALTRACE_READ_TIMEOUT: Final = "EVALTRACE_READ_TIMEOUT"
"""Seconds a read waits for a backend to hold every result this tracker logged (default 30)."""

EVALTRACE_SUMMARY_EVERY: Final = "EVALTRACE_SUMMARY_EVERY"
"""Results of a run between two of its run-summary spans (default 2000), besides the ones
sent at ``flush()`` and ``close()``; only when the tracker forwards (OTLP or ``exporters=``)."""

EVALTRACE_JAEGER_UI_URL: Final = "EVALTRACE_JAEGER_UI_URL"
"""Base URL of a Jaeger UI (e.g. ``http://127.0.0.1:16686``); when set, ``evaltrace ui`` and
``evaltrace report`` link each sample to ``{url}/trace/{trace_id}``."""

EVALTRACE_GRAFANA_URL: Final = "EVALTRACE_GRAFANA_URL"
"""Base URL of a Grafana with a Tempo data source (e.g. ``http://127.0.0.1:3000``); when set,
each sample links to its trace in Grafana Explore. A ``?datasource=UID`` on it names the Tempo
data source (default uid ``tempo``)."""

EVALTRACE_UI_URL: Final = "EVALTRACE_UI_URL"
"""Base URL where ``evaltrace ui`` is served (default ``http://127.0.0.1:8000``, its ``--host``
/ ``--port`` defaults); the gllm-evals bridge links each run to ``{url}/runs/{run_id}``."""

EVALTRACE_INSPECT: Final = "EVALTRACE_INSPECT"
"""``1`` turns on the Inspect AI hook (each task execution logged as a run); off by default, so
installing evaltrace beside Inspect changes nothing until asked."""

EVALTRACE_INSPECT_PROJECT: Final = "EVALTRACE_INSPECT_PROJECT"
"""Project name of the runs the Inspect AI hook logs (default ``inspect``)."""
EVALTRACE_METRICS: Final = "EVALTRACE_METRICS"
"""``on`` (default) or ``off``: whether a tracker that forwards over OTLP also sends quality
metrics (a ``gen_ai.evaluation.score`` histogram and ``evaltrace.evaluation.results`` pass/fail
counts, docs/metrics.md) to the same endpoint; ``off`` when the collector has no metrics
pipeline. Exported every ``OTEL_METRIC_EXPORT_INTERVAL``, at ``flush()`` and ``close()``."""

EVALTRACE_OTLP_LOGS: Final = "EVALTRACE_OTLP_LOGS"
"""``on`` (default) or ``off``: whether a tracker (or ``evaltrace sync``) that forwards over
OTLP also sends each result's ``gen_ai.evaluation.result`` events as OTLP log records, through
the same outbox as the spans. A collector without a logs pipeline is detected (404 /
UNIMPLEMENTED) and said once; ``off`` does not try."""

OTEL_METRIC_EXPORT_INTERVAL: Final = "OTEL_METRIC_EXPORT_INTERVAL"
"""The OpenTelemetry SDK's metric export interval in milliseconds (default 60000): how often a
tracker sends its quality metrics; what a killed process has not sent is lost from them."""

OTEL_EXPORTER_OTLP_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_ENDPOINT"
"""Standard OTLP endpoint; when set (or the traces-specific one), spans are also sent over OTLP."""

OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Final = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
"""Standard traces-only OTLP endpoint; wins over ``OTEL_EXPORTER_OTLP_ENDPOINT``."""

OTEL_EXPORTER_OTLP_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_PROTOCOL"
"""``grpc`` or ``http/protobuf`` (the OpenTelemetry default)."""

OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: Final = "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
"""Traces-only protocol; wins over ``OTEL_EXPORTER_OTLP_PROTOCOL``."""

OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT: Final = (
    "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
)
"""The OpenTelemetry GenAI content switch: ``false`` / ``NO_CONTENT`` means ``local`` here
(nothing of the text leaves over telemetry) unless ``EVALTRACE_CAPTURE_CONTENT`` says otherwise."""

ENVIRONMENT_VARIABLES: Final = (
    EVALTRACE_STORE,
    EVALTRACE_SPOOL,
    EVALTRACE_CAPTURE_CONTENT,
    EVALTRACE_RESULTS_PER_TRACE,
    EVALTRACE_MAX_METRIC_ATTRIBUTES,
    EVALTRACE_MAX_METRIC_STRING,
    EVALTRACE_QUEUE_SIZE,
    EVALTRACE_OUTBOX_MAX_SPANS,
    EVALTRACE_OUTBOX_MAX_AGE,
    EVALTRACE_OTLP_MAX_REQUEST_BYTES,
    EVALTRACE_EXIT_TIMEOUT,
    EVALTRACE_READ_TIMEOUT,
    EVALTRACE_SUMMARY_EVERY,
    EVALTRACE_JAEGER_UI_URL,
    EVALTRACE_GRAFANA_URL,
    EVALTRACE_UI_URL,
    EVALTRACE_METRICS,
    EVALTRACE_OTLP_LOGS,
    OTEL_METRIC_EXPORT_INTERVAL,
    OTEL_EXPORTER_OTLP_ENDPOINT,
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
    OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT,
)

DEEPEVAL_RUN_TEST_NAME: Final = "CONFIDENT_AI_RUN_TEST_NAME"
"""DeepEval's own (read, never set): under pytest it names every unnamed test case after the
running test, so the DeepEval bridge does not take that name for a test case's id."""

INTEGRATION_VARIABLES: Final = (EVALTRACE_INSPECT, EVALTRACE_INSPECT_PROJECT)
"""The framework bridges' variables, documented in docs/integrations.md (README's table to come)."""

DEFAULT_STORE: Final = os.path.join(".evaltrace", "evaltrace.db")
DEFAULT_UI_URL: Final = "http://127.0.0.1:8000"
DEFAULT_MAX_REQUEST_BYTES: Final = 4_000_000
PROTOCOLS: Final = ("grpc", "http/protobuf")
_OFF: Final = "off"
_LOOKS_LIKE_OFF: Final = frozenset({"false", "0", "no", "none", "null", "disable", "disabled"})


def _int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", ""))
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


def inspect_project() -> str | None:
    """The Inspect hook's project name when ``EVALTRACE_INSPECT`` turns it on, else ``None``."""
    raw = os.environ.get(EVALTRACE_INSPECT, "").strip().lower()
    if raw in ("", *_LOOKS_LIKE_OFF, _OFF):
        return None
    if raw not in ("1", "true", "yes", "on"):
        raise ConfigurationError(f"{EVALTRACE_INSPECT}={raw!r}: expected 1 (on) or 0 (off)")
    return os.environ.get(EVALTRACE_INSPECT_PROJECT, "").strip() or "inspect"


def deepeval_test_name() -> str | None:
    """The name DeepEval gives unnamed test cases under pytest (``CONFIDENT_AI_RUN_TEST_NAME``)."""
    return os.environ.get(DEEPEVAL_RUN_TEST_NAME) or None


def ui_url(explicit: str | None = None) -> str:
    """Where ``evaltrace ui`` answers: ``explicit``, else ``EVALTRACE_UI_URL``, else the default
    (no trailing slash)."""
    if explicit is not None and not explicit.startswith(("http://", "https://")):
        raise ConfigurationError(f"ui_url={explicit!r} is not an http(s) URL")
    return (explicit or _url(EVALTRACE_UI_URL) or DEFAULT_UI_URL).rstrip("/")


def _switch(name: str, default: bool) -> bool:
    """``on`` / ``off`` (and the usual spellings of each); anything else fails, naming it."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw == _OFF or raw in _LOOKS_LIKE_OFF:
        return False
    raise ConfigurationError(f"{name}={raw!r}: expected 'on' or 'off'")


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if not value >= 0:
        raise ConfigurationError(f"{name}={value} must not be negative")
    return value


def _path_or_off(name: str, raw: str) -> str | None:
    """A path (``~`` expanded), or None for ``off``; refuses words that look like "off"."""
    value = raw.strip()
    if value.lower() == _OFF:
        return None
    if value.lower() in _LOOKS_LIKE_OFF:
        raise ConfigurationError(
            f"{name}={raw!r}: write 'off' to turn it off, or give a path (evaltrace will not "
            f"create a file named {value!r})"
        )
    return os.path.expanduser(value)


def store_path(store: str | os.PathLike[str] | bool | None) -> str | None:
    """The store a tracker or CLI command uses: the argument, else ``EVALTRACE_STORE``, else
    the default; None when turned off."""
    if store is False:
        return None
    if store is None or store is True:
        raw = os.environ.get(EVALTRACE_STORE, "")
        return _path_or_off(EVALTRACE_STORE, raw) if raw.strip() else DEFAULT_STORE
    return os.path.expanduser(os.fspath(store))


def destination_key(endpoint: str, protocol: str) -> str:
    """A short stable key of where a tracker forwards (a hash: no endpoint, no credentials in
    the file): outbox entries carry it, so a tracker only sends its own collector's."""
    return blake2b(f"{protocol} {endpoint}".encode(), digest_size=4).hexdigest()


def default_spool(project_name: str, endpoint: str, protocol: str) -> str:
    """Where a project's spool lives when nothing else is said: one per project *and*
    destination, so that a process sending to another collector never forwards (or
    acknowledges) this one's pending spans."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache")
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in project_name) or "default"
    where = destination_key(endpoint, protocol)
    return os.path.expanduser(os.path.join(base, "evaltrace", "spool", f"{safe}-{where}.db"))


def _capture(explicit: str | None) -> str:
    raw = explicit or os.environ.get(EVALTRACE_CAPTURE_CONTENT, "").strip().lower()
    if raw:
        if raw not in MODES:
            name = "capture_content" if explicit else EVALTRACE_CAPTURE_CONTENT
            raise ConfigurationError(f"{name}={raw!r}: expected one of {MODES}")
        return raw
    genai = os.environ.get(OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT, "").strip().lower()
    return LOCAL if genai in ("false", "no_content") else ALL


@dataclass(frozen=True, slots=True)
class Settings:
    """The resolved configuration of one tracker."""

    store: str | None
    spool: str | None
    otlp_endpoint: str | None
    otlp_protocol: str
    capture_content: str
    results_per_trace: int
    max_metric_attributes: int
    max_metric_string: int
    queue_size: int
    outbox_max_spans: int
    outbox_max_age: float
    max_request_bytes: int
    exit_timeout: float
    read_timeout: float
    summary_every: int
    metrics: bool
    """Quality metrics over OTLP beside the spans (``EVALTRACE_METRICS``), when forwarding."""
    metrics_interval: float
    """Seconds between two exports of the quality metrics (``OTEL_METRIC_EXPORT_INTERVAL``)."""
    logs: bool = True
    """Evaluation events as OTLP log records beside the spans (``EVALTRACE_OTLP_LOGS``)."""

    @classmethod
    def from_env(
        cls,
        *,
        project_name: str = "default",
        store: str | os.PathLike[str] | bool | None = None,
        spool: str | os.PathLike[str] | bool | None = None,
        otlp_endpoint: str | None = None,
        otlp_protocol: str | None = None,
        capture_content: str | None = None,
    ) -> Settings:
        """Resolve arguments over ``EVALTRACE_*`` / ``OTEL_*`` variables over defaults."""
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
        if endpoint:
            named = (
                "otlp_endpoint"
                if otlp_endpoint
                else OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
                if os.environ.get(OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, "").strip()
                else OTEL_EXPORTER_OTLP_ENDPOINT
            )
            check_endpoint(endpoint, named, grpc=protocol == "grpc")
        resolved_store = store_path(store)
        resolved_spool: str | None = None
        if resolved_store is None and endpoint and spool is not False:
            if spool is None or spool is True:
                raw = os.environ.get(EVALTRACE_SPOOL, "")
                resolved_spool = (
                    _path_or_off(EVALTRACE_SPOOL, raw)
                    if raw.strip()
                    else default_spool(project_name, endpoint, protocol)
                )
            else:
                resolved_spool = os.path.expanduser(os.fspath(spool))
        return cls(
            store=resolved_store,
            spool=resolved_spool,
            otlp_endpoint=endpoint,
            otlp_protocol=protocol,
            capture_content=_capture(capture_content),
            results_per_trace=_int(EVALTRACE_RESULTS_PER_TRACE, 500),
            max_metric_attributes=_int(EVALTRACE_MAX_METRIC_ATTRIBUTES, 96, minimum=0),
            max_metric_string=_int(EVALTRACE_MAX_METRIC_STRING, 256, minimum=0),
            queue_size=_int(EVALTRACE_QUEUE_SIZE, 2048, minimum=2),
            outbox_max_spans=_int(EVALTRACE_OUTBOX_MAX_SPANS, 1_000_000),
            outbox_max_age=_float(EVALTRACE_OUTBOX_MAX_AGE, 7 * 24 * 3600.0),
            max_request_bytes=_int(
                EVALTRACE_OTLP_MAX_REQUEST_BYTES, DEFAULT_MAX_REQUEST_BYTES, minimum=1024
            ),
            exit_timeout=_float(EVALTRACE_EXIT_TIMEOUT, 5.0),
            read_timeout=_float(EVALTRACE_READ_TIMEOUT, 30.0),
            summary_every=_int(EVALTRACE_SUMMARY_EVERY, 2000),
            metrics=_switch(EVALTRACE_METRICS, True),
            metrics_interval=_int(OTEL_METRIC_EXPORT_INTERVAL, 60_000) / 1000,
            logs=_switch(EVALTRACE_OTLP_LOGS, True),
        )
