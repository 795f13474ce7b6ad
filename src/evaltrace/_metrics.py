"""Quality as metrics: each committed result's scores, as OpenTelemetry metrics over OTLP.

Made here, in the tracker, once per *committed* result (not in the collector from the spans):
spans are delivered at least once (the outbox re-sends after a crash, ``evaltrace sync``
re-sends, the collector's queue re-sends), so counting spans counts some results twice; the
commit happens once. The points are **cumulative** (per tracker, ``service.instance.id``), so a
re-sent export repeats a point Prometheus already holds instead of adding to it. What this
costs: the last export interval of a process killed before ``close()`` is lost from the
metrics (never from the store or the traces). docs/metrics.md has the names, the labels and
why no other label is there.

Aggregated here (the SDK's instruments spent ~5 us a measurement on their attributes: 36 us a
result of 5 scores against ~8 us this way, in calls of 100 results on a loaded 2-core machine,
docs/metrics.md) and sent by OpenTelemetry's OTLP metric exporter (``_metrics_export``):

* ``gen_ai.evaluation.score`` - histogram of every numeric score;
* ``evaltrace.evaluation.results`` - counter of pass/fail verdicts (boolean scores), with
  ``gen_ai.evaluation.score.label`` = ``pass`` / ``fail``.

Both carry exactly ``eval.project``, ``eval.dataset`` and ``gen_ai.evaluation.name``.
"""

from __future__ import annotations

import bisect
import math
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    Metric,
    MetricExporter,
    MetricsData,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from ._codec import loads
from ._config import Settings
from .delivery._metrics_export import PeriodicExport, build_metric_exporter
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
    "MAX_SERIES",
    "RESULTS_METRIC",
    "SCORE_METRIC",
    "QualityMetrics",
    "observations",
    "quality_metrics",
]

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
"""Score bucket upper bounds (inclusive): tenths of the usual 0..1 range, then 1..5 Likert
scales and 0..100 percentages; the mean (``_sum / _count``) is exact whatever the buckets."""
MAX_SERIES: Final = 2000
"""Distinct (project, dataset, evaluator) per instrument and tracker, as the SDK's cardinality
limit; past it, values go to one series labelled ``otel.metric.overflow=true``."""
_OVERFLOW: Final = (("otel.metric.overflow", True),)

_PASS_KEYS: Final = frozenset({"success", "passed", "pass"})
_PASS_SUFFIXES: Final = ("_success", "_passed")

Observation = tuple[str, float | bool]
"""(evaluator name, numeric score or pass/fail verdict)."""
_Key = tuple[tuple[str, Any], ...]
"""A series' attributes, as sorted pairs."""


_NAMES: dict[tuple[str, bool], str] = {}
"""Evaluator names of the score paths seen so far (results reuse a few dozen paths)."""
_NAMES_MAX: Final = 4096


def _evaluator(path: str, verdict: bool) -> str:
    """The ``gen_ai.evaluation.name`` of a score path (cached)."""
    name = _NAMES.get((path, verdict))
    if name is None:
        name = _name(path, verdict)
        if len(_NAMES) < _NAMES_MAX:  # paths that hold ids would grow it without bound
            _NAMES[(path, verdict)] = name
    return name


def _name(path: str, verdict: bool) -> str:
    """The node a ``score`` (or a ``success`` / ``passed`` verdict) belongs to, as the
    evaluation events name it."""
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


@dataclass(slots=True)
class _Series:
    """One histogram series, cumulative since the tracker started."""

    buckets: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    count: int = 0
    total: float = 0.0
    low: float = math.inf
    high: float = -math.inf

    def extend(self, values: list[float]) -> None:
        buckets = self.buckets
        for value in values:
            buckets[bisect.bisect_left(BUCKETS, value)] += 1
        self.count += len(values)
        self.total += math.fsum(values)
        self.low = min(self.low, min(values))
        self.high = max(self.high, max(values))


class QualityMetrics:
    """One tracker's quality metrics: fed by its commits, exported every ``interval`` seconds
    and at ``flush`` / ``close``."""

    def __init__(
        self,
        resource: Resource,
        exporter: MetricExporter,
        interval: float = 60.0,
    ) -> None:
        # One instance per tracker: two trackers' cumulative totals of one series (shards, or
        # two trackers in one process, which the SDK gives one instance id) would overwrite
        # each other in Prometheus. The resource's own id stays as the prefix.
        own = str(resource.attributes.get(SERVICE_INSTANCE_ID) or "")
        instance = f"{own}.{uuid.uuid4().hex[:12]}" if own else uuid.uuid4().hex
        self._resource = resource.merge(Resource({SERVICE_INSTANCE_ID: instance}))
        self._start_ns = time.time_ns()
        self._lock = threading.Lock()
        self._scores: dict[_Key, _Series] = {}
        self._verdicts: Counter[_Key] = Counter()
        self._export = PeriodicExport(exporter, self.snapshot, interval)

    def committed(self, call: CallRecord, results: Sequence[ResultRow]) -> None:
        """Add the scores of results that were just committed (once per result)."""
        scores: dict[str, list[float]] = {}
        verdicts: Counter[tuple[str, bool]] = Counter()
        for row in results:
            for name, value in observations(loads(row.scores_json)):
                if isinstance(value, bool):
                    verdicts[(name, value)] += 1
                else:
                    scores.setdefault(name, []).append(value)
        if not scores and not verdicts:
            return
        base = ((ATTR_DATASET, call.dataset_name), (ATTR_PROJECT, call.project_name))
        with self._lock:
            for name, values in scores.items():
                key = self._key(self._scores, (*base, (GEN_AI_EVALUATION_NAME, name)))
                series = self._scores.get(key)
                if series is None:
                    series = self._scores[key] = _Series()
                series.extend(values)
            for (name, passed), count in verdicts.items():
                label = "pass" if passed else "fail"
                pairs = (
                    *base,
                    (GEN_AI_EVALUATION_NAME, name),
                    (GEN_AI_EVALUATION_SCORE_LABEL, label),
                )
                self._verdicts[self._key(self._verdicts, pairs)] += count

    @staticmethod
    def _key(known: Mapping[_Key, object], pairs: _Key) -> _Key:
        return pairs if pairs in known or len(known) < MAX_SERIES else _OVERFLOW

    def snapshot(self) -> MetricsData | None:
        """Every series' cumulative point now, as OTLP metrics data (None: nothing yet)."""
        now = time.time_ns()
        start = self._start_ns
        with self._lock:
            histogram = [
                HistogramDataPoint(
                    attributes=dict(key),
                    start_time_unix_nano=start,
                    time_unix_nano=now,
                    count=s.count,
                    sum=s.total,
                    bucket_counts=tuple(s.buckets),
                    explicit_bounds=BUCKETS,
                    min=s.low,
                    max=s.high,
                )
                for key, s in self._scores.items()
            ]
            counts = [
                NumberDataPoint(
                    attributes=dict(key),
                    start_time_unix_nano=start,
                    time_unix_nano=now,
                    value=value,
                )
                for key, value in self._verdicts.items()
            ]
        metrics = []
        cumulative = AggregationTemporality.CUMULATIVE
        if histogram:
            metrics.append(
                Metric(
                    name=SCORE_METRIC,
                    description="Scores of evaluation results, per evaluator",
                    unit="",
                    data=Histogram(data_points=histogram, aggregation_temporality=cumulative),
                )
            )
        if counts:
            metrics.append(
                Metric(
                    name=RESULTS_METRIC,
                    description="Pass/fail verdicts of evaluation results, per evaluator",
                    unit="{result}",
                    data=Sum(
                        data_points=counts, aggregation_temporality=cumulative, is_monotonic=True
                    ),
                )
            )
        if not metrics:
            return None
        scope = InstrumentationScope(SCOPE_NAME)
        return MetricsData(
            resource_metrics=[
                ResourceMetrics(
                    resource=self._resource,
                    scope_metrics=[ScopeMetrics(scope=scope, metrics=metrics, schema_url="")],
                    schema_url="",
                )
            ]
        )

    def flush(self, timeout: float) -> bool:
        """Export the totals now, within ``timeout`` seconds."""
        return self._export.export(timeout)

    def close(self, timeout: float) -> None:
        """A last export, then release the exporter; waits at most ``timeout`` seconds."""
        self._export.close(timeout)


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
    exporter = build_metric_exporter(endpoint or None, settings.otlp_protocol, headers)
    return QualityMetrics(resource, exporter, settings.metrics_interval)
