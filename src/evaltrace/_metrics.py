"""Quality as metrics: each committed result's scores, as OpenTelemetry metrics over OTLP.

Made here, in the tracker, once per *committed* result (not in the collector from the spans):
spans are delivered at least once (the outbox re-sends after a crash, ``evaltrace sync``
re-sends, the collector's queue re-sends), so counting spans counts some results twice; the
commit happens once. The points are **cumulative** (per process, ``service.instance.id``), so a
re-sent export repeats a point Prometheus already holds instead of adding to it. What this
costs: the last export interval of a process killed before ``close()`` is lost from the
metrics (never from the store or the traces). docs/metrics.md has the names, the labels and
why no other label is there.

Instruments (one ``MeterProvider`` per tracker, never the global one):

* ``gen_ai.evaluation.score`` - histogram of every numeric score;
* ``evaltrace.evaluation.results`` - counter of pass/fail verdicts (boolean scores), with
  ``gen_ai.evaluation.score.label`` = ``pass`` / ``fail``.

Both carry exactly ``eval.project``, ``eval.dataset`` and ``gen_ai.evaluation.name``.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlparse

from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    MeterProvider,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, Resource

from ._codec import loads
from ._config import Settings
from ._history import score_list
from .schema import (
    ATTR_DATASET,
    ATTR_PROJECT,
    GEN_AI_EVALUATION_NAME,
    GEN_AI_EVALUATION_SCORE_LABEL,
    SCOPE_NAME,
)
from .store import CallRecord, ResultRow

__all__ = [
    "BUCKETS",
    "RESULTS_METRIC",
    "SCORE_METRIC",
    "QualityMetrics",
    "metrics_url",
    "observations",
    "quality_metrics",
]

_log = logging.getLogger("evaltrace")

SCORE_METRIC: Final = "gen_ai.evaluation.score"
"""Histogram of numeric scores; Prometheus: ``gen_ai_evaluation_score_bucket/_sum/_count``."""
RESULTS_METRIC: Final = "evaltrace.evaluation.results"
"""Counter of pass/fail verdicts; Prometheus: ``evaltrace_evaluation_results_total``."""
BUCKETS: Final = (
    0.0,
    0.1,
    0.2,
    0.3,
    0.4,
    0.5,
    0.6,
    0.7,
    0.8,
    0.9,
    1.0,
    2.0,
    3.0,
    4.0,
    5.0,
    10.0,
    100.0,
)
"""Score bucket bounds: tenths of the usual 0..1 range, then 1..5 Likert scales and 0..100
percentages; the mean (``_sum / _count``) is exact whatever the buckets."""

_PASS_KEYS: Final = frozenset({"success", "passed", "pass"})
_PASS_SUFFIXES: Final = ("_success", "_passed")
_CUMULATIVE: Final = {
    kind: AggregationTemporality.CUMULATIVE
    for kind in (
        Counter,
        UpDownCounter,
        Histogram,
        ObservableCounter,
        ObservableUpDownCounter,
        ObservableGauge,
    )
}

Observation = tuple[str, float | bool]
"""(evaluator name, numeric score or pass/fail verdict)."""


def _evaluator(path: str, verdict: bool) -> str:
    """The ``gen_ai.evaluation.name`` of a score path: the node a ``score`` (or a ``success``
    / ``passed`` verdict) belongs to, as the evaluation events name it."""
    head, _, last = path.rpartition(".")
    key = last.partition("#")[0].lower()
    if key == "score" or (verdict and key in _PASS_KEYS):
        return head or key
    if verdict:
        for suffix in _PASS_SUFFIXES:
            if key.endswith(suffix):
                return f"{head}.{last[: -len(suffix)]}" if head else last[: -len(suffix)]
    return path


def observations(scores: Iterable[Sequence[Any]]) -> Iterator[Observation]:
    """What one result adds to the metrics, from its ``score_list``: finite numbers to the
    histogram, booleans to the pass/fail counts; NaN and infinities add nothing."""
    for path, value in scores:
        if isinstance(value, bool):
            yield _evaluator(str(path), True), value
        elif isinstance(value, int | float):
            number = float(value)
            if math.isfinite(number):
                yield _evaluator(str(path), False), number


def metrics_url(endpoint: str) -> str:
    """The OTLP/HTTP metrics URL beside a traces endpoint: ``.../v1/traces`` becomes
    ``.../v1/metrics``; a base URL gets ``/v1/metrics`` appended."""
    url = endpoint.rstrip("/")
    path = urlparse(url).path
    if path.endswith("/v1/traces"):
        return url[: -len("/v1/traces")] + "/v1/metrics"
    return url + "/v1/metrics"


def _exporter(
    endpoint: str | None, protocol: str, headers: Mapping[str, str] | None
) -> MetricExporter:
    """OpenTelemetry's OTLP metric exporter, cumulative whatever
    ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`` says (delta re-sends would add)."""
    kwargs: dict[str, Any] = {"preferred_temporality": _CUMULATIVE}
    if headers:
        kwargs["headers"] = dict(headers)
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


class QualityMetrics:
    """One tracker's quality metrics: fed by its commits, exported every
    ``OTEL_METRIC_EXPORT_INTERVAL`` and at ``flush`` / ``close``."""

    def __init__(
        self,
        resource: Resource,
        *,
        endpoint: str | None = None,
        protocol: str = "http/protobuf",
        headers: Mapping[str, str] | None = None,
        exporter: MetricExporter | None = None,
    ) -> None:
        # One instance per tracker: two trackers' cumulative totals of one series (shards, or
        # two trackers in one process, which the SDK gives one instance id) would overwrite
        # each other in Prometheus. The resource's own id stays as the prefix.
        own = str(resource.attributes.get(SERVICE_INSTANCE_ID) or "")
        instance = f"{own}.{uuid.uuid4().hex[:12]}" if own else uuid.uuid4().hex
        resource = resource.merge(Resource({SERVICE_INSTANCE_ID: instance}))
        self._reader = PeriodicExportingMetricReader(
            exporter or _exporter(endpoint, protocol, headers)
        )
        self._provider = MeterProvider(
            resource=resource,
            metric_readers=[self._reader],
            views=[
                View(
                    instrument_name=SCORE_METRIC,
                    aggregation=ExplicitBucketHistogramAggregation(boundaries=BUCKETS),
                )
            ],
        )
        meter = self._provider.get_meter(SCOPE_NAME)
        self._scores = meter.create_histogram(
            SCORE_METRIC, description="Scores of evaluation results, per evaluator"
        )
        self._verdicts = meter.create_counter(
            RESULTS_METRIC,
            unit="{result}",
            description="Pass/fail verdicts of evaluation results, per evaluator",
        )

    def committed(self, call: CallRecord, results: Sequence[ResultRow]) -> None:
        """Record the scores of results that were just committed (once per result). Verdicts
        are summed per call first: the SDK spends ~5 us per measurement on its attributes."""
        scores: dict[str, list[float]] = {}
        verdicts: Tally[tuple[str, bool]] = Tally()
        for row in results:
            listed = (
                loads(row.scores_json)
                if row.scores_json is not None
                else score_list(loads(row.result_json))
            )
            for name, value in observations(listed):
                if isinstance(value, bool):
                    verdicts[(name, value)] += 1
                else:
                    scores.setdefault(name, []).append(value)
        base = {ATTR_PROJECT: call.project_name, ATTR_DATASET: call.dataset_name}
        for name, values in scores.items():
            attrs = {**base, GEN_AI_EVALUATION_NAME: name}
            record = self._scores.record
            for value in values:
                record(value, attrs)
        for (name, passed), count in verdicts.items():
            label = "pass" if passed else "fail"
            self._verdicts.add(
                count, {**base, GEN_AI_EVALUATION_NAME: name, GEN_AI_EVALUATION_SCORE_LABEL: label}
            )

    def flush(self, timeout: float) -> bool:
        """Export what was recorded now, within ``timeout`` seconds."""
        try:
            return self._provider.force_flush(timeout_millis=max(1.0, timeout * 1000))
        except Exception:  # the SDK raises on a deadline; metrics never fail a flush
            _log.warning("evaltrace: quality metrics were not exported within %gs", timeout)
            return False

    def close(self, timeout: float) -> None:
        """A last export, then release the exporter; waits at most ``timeout`` seconds."""
        try:
            self._provider.shutdown(timeout_millis=max(1.0, timeout * 1000))
        except Exception:
            _log.warning("evaltrace: quality metrics were not exported within %gs", timeout)


def quality_metrics(
    wanted: bool,
    resource: Resource,
    endpoint: str | None,
    settings: Settings,
    headers: Mapping[str, str] | None,
) -> QualityMetrics | None:
    """A tracker's metrics, when it forwards over OTLP and ``EVALTRACE_METRICS`` is on: to
    ``otlp_endpoint`` when given, else where the SDK's ``OTEL_EXPORTER_OTLP_*`` variables say
    (``..._METRICS_ENDPOINT``, else ``..._ENDPOINT``)."""
    if not wanted:
        return None
    return QualityMetrics(
        resource, endpoint=endpoint or None, protocol=settings.otlp_protocol, headers=headers
    )
