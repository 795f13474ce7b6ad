"""Sending the quality metrics: OpenTelemetry's OTLP metric exporter, called with a fresh
cumulative snapshot every interval, at ``flush()`` and at ``close()``; one export at a time.

The snapshot is cumulative, so an export repeated (a retry, the collector's queue after a
restart) repeats samples Prometheus already holds: nothing is counted twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

__all__ = ["PeriodicExport", "build_metric_exporter", "metrics_url"]

_log = logging.getLogger("evaltrace")


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
    """Calls ``exporter.export(snapshot())`` every ``interval`` seconds on a daemon thread,
    and on demand; ``snapshot`` returns None when nothing was ever recorded."""

    def __init__(
        self,
        exporter: MetricExporter,
        snapshot: Callable[[], MetricsData | None],
        interval: float,
    ) -> None:
        self._exporter = exporter
        self._snapshot = snapshot
        self._interval = interval
        self._lock = threading.Lock()  # one export at a time, in order
        self._stop = threading.Event()
        self._failing = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="evaltrace-metrics", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.export(self._interval)

    def export(self, timeout: float) -> bool:
        """Send the current snapshot within ``timeout`` seconds; False if it failed."""
        deadline = time.monotonic() + timeout
        if not self._lock.acquire(timeout=max(0.0, timeout)):
            return False
        try:
            data = self._snapshot()
            if data is None:
                return True
            left_ms = max(1.0, (deadline - time.monotonic()) * 1000)
            try:
                ok = self._exporter.export(data, timeout_millis=left_ms) is (
                    MetricExportResult.SUCCESS
                )
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
        finally:
            self._lock.release()

    def close(self, timeout: float) -> None:
        """Stop the thread, send a last snapshot within ``timeout``, release the exporter."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self.export(timeout)
        self._exporter.shutdown(timeout_millis=max(1.0, timeout * 1000))
