"""Quality as metrics: what the tracker sends over OTLP metrics, and that each committed
result counts once whatever is re-sent (docs/metrics.md)."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.resources import Resource

from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace import _metrics
from evaltrace._config import Settings
from evaltrace._exceptions import ConfigurationError
from evaltrace._metrics import BUCKETS, RESULTS_METRIC, SCORE_METRIC, QualityMetrics, observations
from evaltrace.cli import main
from evaltrace.delivery._metrics_export import metrics_url
from evaltrace.store import CallRecord, ResultRow

from .support.answering_receiver import AnsweringReceiver
from .support.metrics import Point, keep_acknowledged, last_points, requeue_acknowledged
from .support.otlp_receiver import Receiver, receiver
from .support.wait import wait_for

LABELS = {"eval.project", "eval.dataset", "gen_ai.evaluation.name"}


def _by_metric(rx: Receiver) -> dict[tuple[str, frozenset[tuple[str, str]]], Point]:
    """Latest points summed over writers (instances), keyed by metric and attributes."""
    out: dict[tuple[str, frozenset[tuple[str, str]]], Point] = {}
    for (_, name, attrs), p in last_points(rx.metric_bodies).items():
        known = out.get((name, attrs))
        if known is None:
            out[(name, attrs)] = p
        else:
            buckets = tuple(a + b for a, b in zip(known.buckets, p.buckets, strict=True))
            out[(name, attrs)] = Point(known.count + p.count, known.total + p.total, buckets)
    return out


def _attrs(dataset: str, name: str, label: str | None = None) -> frozenset[tuple[str, str]]:
    pairs = {("eval.project", "p"), ("eval.dataset", dataset), ("gen_ai.evaluation.name", name)}
    if label is not None:
        pairs.add(("gen_ai.evaluation.score.label", label))
    return frozenset(pairs)


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ([["qa.faithfulness.score", 0.5]], [("qa.faithfulness", 0.5)]),
        ([["score", 1]], [("score", 1.0)]),
        ([["qa.token_f1", 0.25]], [("qa.token_f1", 0.25)]),
        ([["relevance_score", 3]], [("relevance_score", 3.0)]),
        ([["qa.passed", True]], [("qa", True)]),
        ([["faith.success", False]], [("faith", False)]),
        ([["exact_match_passed", True]], [("exact_match", True)]),
        ([["m.score#1", 0.1]], [("m", 0.1)]),
        ([["m.score", math.nan], ["n.score", math.inf]], []),
    ],
)
def test_scores_are_named_as_the_evaluation_events_name_them(
    scores: list[list[object]], expected: list[tuple[str, object]]
) -> None:
    """A score's evaluator is the node its ``score`` / verdict belongs to; NaN and inf add
    nothing."""
    assert list(observations(scores)) == expected


_score = st.one_of(st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True))


@given(st.lists(st.tuples(st.sampled_from(["a.score", "b", "c.passed", "d_score"]), _score)))
def test_every_finite_number_and_every_verdict_is_observed_once(
    scores: list[tuple[str, object]],
) -> None:
    """Histogram: each finite non-boolean number; counts: each boolean; nothing else."""
    seen = list(observations(scores))
    numbers = [float(v) for _, v in scores if not isinstance(v, bool) and math.isfinite(v)]  # type: ignore[arg-type]
    verdicts = [v for _, v in scores if isinstance(v, bool)]
    assert [v for _, v in seen if not isinstance(v, bool)] == numbers
    assert [v for _, v in seen if isinstance(v, bool)] == verdicts


@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        ("http://c:4318", "http://c:4318/v1/metrics"),
        ("http://c:4318/", "http://c:4318/v1/metrics"),
        ("http://c:4318/v1/traces", "http://c:4318/v1/metrics"),
        ("https://gw/otlp", "https://gw/otlp/v1/metrics"),
    ],
)
def test_metrics_go_beside_the_traces(endpoint: str, url: str) -> None:
    """The metrics URL is the traces endpoint's sibling, or the base URL's ``/v1/metrics``."""
    assert metrics_url(endpoint) == url


def test_the_histogram_and_counts_hold_each_committed_score(store_path: Path) -> None:
    """Count, sum and buckets match numpy over the logged scores; pass/fail counts match;
    the labels are project, dataset and evaluator only (no run, no sample)."""
    rng = np.random.default_rng(7)
    scores = rng.beta(2, 2, size=200)
    scores[:5] = [0.0, 0.1, 1.0, 2.5, 100.0]  # bucket bounds are upper-inclusive
    passed = scores > 0.5
    results = [
        {"qa": {"score": float(s), "success": bool(p)}} for s, p in zip(scores, passed, strict=True)
    ]
    with receiver() as rx:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log_batch_sync(results[:150], "nightly", [{"i": i} for i in range(150)])
            for i in range(150, 200):
                tracker.log(results[i], "nightly", {"i": i}, run_id="another-run")
        points = _by_metric(rx)
    hist = points[(SCORE_METRIC, _attrs("nightly", "qa"))]
    assert hist.count == 200
    assert hist.total == pytest.approx(math.fsum(scores), rel=1e-12)
    expected = np.bincount(
        np.searchsorted(BUCKETS, scores, side="left"), minlength=len(BUCKETS) + 1
    )
    assert hist.buckets == tuple(expected)
    verdicts = Counter(bool(p) for p in passed)
    assert points[(RESULTS_METRIC, _attrs("nightly", "qa", "pass"))].count == verdicts[True]
    assert points[(RESULTS_METRIC, _attrs("nightly", "qa", "fail"))].count == verdicts[False]
    assert len(points) == 3
    for _, attrs in points:
        assert {k for k, _ in attrs} - {"gen_ai.evaluation.score.label"} == LABELS


def test_re_sent_spans_add_nothing_to_the_metrics(store_path: Path) -> None:
    """Spans delivered, their acknowledgement lost, re-sent by ``evaltrace sync`` and by the
    store's next tracker: the receiver has them twice, the metrics count each result once."""
    with Tracker("p", store=store_path):
        pass  # creates the store
    keep_acknowledged(store_path)
    with receiver() as rx:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log_batch_sync([{"m": {"score": 0.5}}] * 40, "d", [{"i": i} for i in range(40)])
        assert requeue_acknowledged(store_path) > 0
        done = CliRunner().invoke(
            main, ["sync", "--store", str(store_path), "--endpoint", rx.endpoint]
        )
        assert done.exit_code == 0, done.output
        assert requeue_acknowledged(store_path) > 0
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as again:
            assert again.flush(timeout=30)
            assert again.stats.spans_resent > 0
        results = [s for s in rx.spans() if s[2] == "evaltrace.result"]
        assert len(results) == 3 * 40  # sent, re-sent by sync, re-sent by a tracker
        assert _by_metric(rx)[(SCORE_METRIC, _attrs("d", "m"))].count == 40


def test_two_writers_of_one_run_keep_separate_series(store_path: Path, tmp_path: Path) -> None:
    """Each tracker is its own ``service.instance.id``: cumulative totals of two shards never
    overwrite each other, and add up."""
    with receiver() as rx:
        for k, store in enumerate((store_path, tmp_path / "other.db")):
            with Tracker("p", store=store, otlp_endpoint=rx.endpoint) as tracker:
                tracker.log_batch_sync(
                    [{"m": {"score": 1.0}}] * (10 + k),
                    "d",
                    [{"i": i} for i in range(10 + k)],
                    run_id="r",
                )
        instances = {instance for instance, _, _ in last_points(rx.metric_bodies)}
        assert len(instances) == 2 and "" not in instances
        assert _by_metric(rx)[(SCORE_METRIC, _attrs("d", "m"))].count == 21


def test_metrics_can_be_turned_off(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``EVALTRACE_METRICS=off``: spans still go, no metrics request is made."""
    monkeypatch.setenv("EVALTRACE_METRICS", "off")
    with receiver() as rx:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log({"m": {"score": 1.0}}, "d", {"i": 1})
        assert rx.spans() and rx.metric_bodies == []


def test_a_bad_metrics_switch_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Anything but on/off fails loudly, naming ``EVALTRACE_METRICS``."""
    monkeypatch.setenv("EVALTRACE_METRICS", "sometimes")
    with pytest.raises(ConfigurationError, match="EVALTRACE_METRICS"):
        Settings.from_env()
    monkeypatch.setenv("EVALTRACE_METRICS", "OFF")
    assert Settings.from_env().metrics is False
    monkeypatch.delenv("EVALTRACE_METRICS")
    assert Settings.from_env().metrics is True


def test_metrics_are_sent_every_interval(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``OTEL_METRIC_EXPORT_INTERVAL`` short, the totals arrive while the tracker is open
    (what a killed process has sent by then is kept)."""
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "100")
    with receiver() as rx, Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        tracker.log({"m": {"score": 0.25}}, "d", {"i": 1})
        wait_for(lambda: bool(rx.metric_bodies), 30, "a periodic metrics export")
        assert _by_metric(rx)[(SCORE_METRIC, _attrs("d", "m"))].count == 1


def test_series_past_the_limit_share_one_overflow_series(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Evaluator names past ``MAX_SERIES`` are counted in one ``otel.metric.overflow`` series,
    never dropped and never new series."""
    monkeypatch.setattr(_metrics, "MAX_SERIES", 3)
    with receiver() as rx:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log_batch_sync(
                [{f"m{i}": {"score": 0.5}} for i in range(10)], "d", [{"i": i} for i in range(10)]
            )
        points = _by_metric(rx)
    assert len(points) == 4
    overflow = points[(SCORE_METRIC, frozenset({("otel.metric.overflow", "")}))]
    assert overflow.count == 7 and sum(p.count for p in points.values()) == 10


class _Flaky(MetricExporter):
    """Refuses the first ``failures`` exports, then keeps what it is given."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.failures = failures
        self.got: list[MetricsData] = []

    def export(self, metrics_data: MetricsData, timeout_millis: float = 0, **kw: object) -> Any:
        if self.failures:
            self.failures -= 1
            return MetricExportResult.FAILURE
        self.got.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 0) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 0, **kw: object) -> None:
        pass


def test_an_undelivered_export_warns_once_and_the_next_sends_the_totals(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two failed exports say so once; the next export carries every result so far."""
    exporter = _Flaky(failures=2)
    metrics = QualityMetrics(Resource.create({}), exporter)
    call = CallRecord("r", "p", "d", "{}", "{}", None, None, None, "{}")
    row = ResultRow(
        1, 1, None, 0, 0, 0, 0, "s", '{"m": {"score": 0.5}}', "{}", None, '[["m.score",0.5]]'
    )
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        metrics.committed(call, [row])
        assert not metrics.flush(5)
        metrics.committed(call, [row, row])
        assert not metrics.flush(5)
        assert metrics.flush(5)
        metrics.close(5)
    said = [r for r in caplog.records if "quality metrics were not delivered" in r.message]
    assert len(said) == 1
    (point,) = exporter.got[0].resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    assert point.count == 3 and point.sum == 1.5  # type: ignore[union-attr]


def test_a_hung_collector_holds_close_to_the_exit_timeout_without_retry_noise(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Spans and metrics both unanswered: close() keeps to EVALTRACE_EXIT_TIMEOUT (not the
    metric exporter's 10 s request timeout and its retries), and OpenTelemetry's own retry
    lines stay below WARNING; evaltrace says the last export did not finish."""
    monkeypatch.setenv("EVALTRACE_EXIT_TIMEOUT", "1")
    rx = AnsweringReceiver(hang_all=True)
    caplog.set_level(logging.DEBUG)
    try:
        tracker = Tracker("p", store=store_path, otlp_endpoint=rx.endpoint)
        tracker.log({"m": 0.5}, "qa", {"q": 1}, run_id="r")
        started = time.monotonic()
        tracker.close()
        took = time.monotonic() - started
    finally:
        rx.stop()
    assert took < 2.5, took
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r.getMessage() for r in loud if r.name.startswith("opentelemetry")]
    assert any("last quality-metrics export did not finish" in r.getMessage() for r in loud)


def test_a_dead_collector_s_metric_retries_stay_quiet(
    store_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing listening: flush() reports failure; the metric exporter's retry lines are
    DEBUG, evaltrace's one warning says what happened."""
    rx = AnsweringReceiver()
    rx.stop()
    caplog.set_level(logging.DEBUG)
    with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
        tracker.log({"m": 0.5}, "qa", {"q": 1}, run_id="r")
        assert not tracker.flush(timeout=3)
        tracker.close(timeout=0.5)
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [r.getMessage() for r in loud if r.name.startswith("opentelemetry")]
    assert [
        r
        for r in caplog.records
        if r.name.startswith("opentelemetry.exporter.otlp.proto.http.metric")
    ]
