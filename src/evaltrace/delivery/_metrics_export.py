"""Sending the quality metrics: OpenTelemetry's OTLP metric exporter, called with a fresh
cumulative snapshot every interval, at ``flush()`` and at ``close()``; one export at a time.

The snapshot is cumulative, so an export repeated (a retry, the collector's queue after a
restart) repeats samples Prometheus already holds: nothing is counted twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, Final
from urllib.parse import urlparse

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from ._otlp_answer import quiet_exporter_logs

__all__ = ["METRICS_THREAD", "PeriodicExport", "build_metric_exporter", "metrics_url"]

METRICS_THREAD: Final = "evaltrace-metrics"

_log = logging.getLogger("evaltrace")

_METRIC_EXPORTER_LOGGERS: Final = (
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
)


def metrics_url(endpoint: str) -> str:
    """The OTLP/HTTP metrics URL beside a traces endpoint: ``.../v1/traces`` becomes
    ``.../v1/metrics``; a base URL gets ``/v1/metrics`` appended."""
    url = endpoint.rstrip("/")
    if urlparse(url).path.endswith("/v1/traces"):
        return url[: -len("/v1/traces")] + "/v1/metrics"
    return url + "/v1/metrics"


def build_metric_exporter(
    endpoint: str | None, protocol: str, headers: Mapping[str, str] | None
) -> MetricExporter:
    """OpenTelemetry's OTLP metric exporter for ``protocol``; ``endpoint`` None lets it read
    the standard ``OTEL_EXPORTER_OTLP_*`` variables itself (``..._METRICS_ENDPOINT`` first)."""
    kwargs: dict[str, Any] = {"headers": dict(headers)} if headers else {}
    # its retry lines, on the metrics thread: evaltrace says once that delivery failed
    quiet_exporter_logs(_METRIC_EXPORTER_LOGGERS, METRICS_THREAD)
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as Grpc,
        )

        if endpoint:
            kwargs["endpoint"] = endpoint
            kwargs["insecure"] = urlparse(endpoint).scheme == "http"
        return Grpc(**kwargs)
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as Http

    if endpoint:
        kwargs["endpoint"] = metrics_url(endpoint)
    return Http(**kwargs)


class PeriodicExport:
    """Calls ``exporter.export(snapshot())`` every ``interval`` seconds, and on demand, always
    on its own daemon thread (``METRICS_THREAD``); ``snapshot`` returns None when nothing was
    ever recorded.

    A caller waits for its export at most its ``timeout``: OpenTelemetry's exporter keeps its
    own request timeout (10 s) and retry backoff, which a hung collector would otherwise add
    to ``flush()`` and ``close()``. An export still hanging is left to its daemon thread; the
    next one sends the totals again (they are cumulative).
    """

    def __init__(
        self,
        exporter: MetricExporter,
        snapshot: Callable[[], MetricsData | None],
        interval: float,
    ) -> None:
        self._exporter = exporter
        self._snapshot = snapshot
        self._interval = interval
        self._cond = threading.Condition()
        self._asked = 0  # exports asked for by callers
        self._done = 0  # the last asked-for export finished (0: none yet)
        self._result = True  # of the last finished export
        self._stop = False
        self._failing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=METRICS_THREAD, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._stop or self._asked > self._done, self._interval)
                stop, asked = self._stop, self._asked
            ok = self._send()
            with self._cond:
                self._done, self._result = asked, ok
                self._cond.notify_all()
            if stop:
                return

    def _send(self) -> bool:
        data = self._snapshot()
        if data is None:
            return True
        try:
            ok = self._exporter.export(data) is MetricExportResult.SUCCESS
        except Exception:
            _log.exception("evaltrace: the OTLP metric exporter raised")
            ok = False
        if not ok and not self._failing:
            _log.warning(
                "evaltrace: quality metrics were not delivered; the next export sends the "
                "totals again (said once until it works again)"
            )
        self._failing = not ok
        return ok

    def export(self, timeout: float) -> bool:
        """Send the current snapshot; False if it failed or is not done within ``timeout``."""
        with self._cond:
            if self._stop:
                return False
            self._asked += 1
            ticket = self._asked
            self._cond.notify_all()
            if not self._cond.wait_for(lambda: self._done >= ticket, max(0.0, timeout)):
                return False
            return self._result

    def close(self, timeout: float) -> None:
        """Send a last snapshot within ``timeout``, stop the thread, release the exporter
        (which cuts short a retry backoff still running)."""
        if self._closed:
            return
        self._closed = True
        with self._cond:
            self._asked += 1
            ticket = self._asked
            self._stop = True
            self._cond.notify_all()
            delivered = self._cond.wait_for(lambda: self._done >= ticket, max(0.0, timeout))
        if not delivered:
            _log.warning(
                "evaltrace: the last quality-metrics export did not finish within %.1f s; "
                "Prometheus keeps the totals of the export before it",
                timeout,
            )
        self._exporter.shutdown(timeout_millis=max(1.0, timeout * 1000))
