"""Quality metrics through the real collector into the real Prometheus (OTLP receiver):
a logged run is a histogram PromQL returns, each result counts once after its spans are
re-sent, and every PromQL of the Grafana dashboard and the rules runs (docs/metrics.md)."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from click.testing import CliRunner

from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.cli import main

from ..support.metrics import keep_acknowledged, requeue_acknowledged
from ..support.otlp_receiver import receiver
from .conftest import ROOT, Backends, _env

pytestmark = pytest.mark.backends

DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "evaltrace-quality.json"


@pytest.fixture(scope="module")
def prometheus(backends: Backends) -> Iterator[httpx.Client]:
    """An HTTP client on the Prometheus that backends-up.sh started beside the collector."""
    url = _env()["EVALTRACE_TEST_PROMETHEUS_URL"]
    with httpx.Client(base_url=url, timeout=30) as client:
        client.get("/-/ready").raise_for_status()
        yield client


def _query(client: httpx.Client, promql: str) -> list[dict[str, Any]]:
    answer = client.post("/api/v1/query", data={"query": promql})
    body = answer.json()
    assert answer.status_code == 200 and body["status"] == "success", (promql, body)
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _value(client: httpx.Client, promql: str) -> float | None:
    """The single value of an instant query, or None when it returns nothing."""
    result = _query(client, promql)
    assert len(result) <= 1, result
    return float(result[0]["value"][1]) if result else None


def _await_value(client: httpx.Client, promql: str, expected: float, timeout: float = 90) -> None:
    """Wait until ``promql`` returns ``expected`` (the collector forwards asynchronously)."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        seen = _value(client, promql)
        if seen is not None and math.isclose(seen, expected, rel_tol=1e-9):
            return
        time.sleep(0.5)
    pytest.fail(f"{promql} = {seen}, expected {expected} within {timeout}s")


def _log_run(store: Path, backends: Backends, project: str, scores: np.ndarray) -> None:
    with Tracker(project, store=store, otlp_endpoint=backends.collector_http) as tracker:
        rows = [{"qa": {"score": float(s), "success": bool(s > 0.5)}} for s in scores]
        half = len(rows) // 2
        tracker.log_batch_sync(rows[:half], "nightly", [{"i": i} for i in range(half)])
        for i in range(half, len(rows)):
            tracker.log(rows[i], "nightly", {"i": i})


def test_a_logged_run_is_a_histogram_in_prometheus(
    backends: Backends, prometheus: httpx.Client, tmp_path: Path
) -> None:
    """Count, sum, a bucket and the pass/fail counts of a run are what PromQL returns; the
    mean as the rules compute it (a ratio of increase()) is numpy's mean."""
    project = f"prom-{uuid.uuid4().hex[:8]}"
    scores = np.random.default_rng(3).beta(2, 2, size=60)
    _log_run(tmp_path / "s.db", backends, project, scores)
    sel = f'eval_project="{project}", eval_dataset="nightly", gen_ai_evaluation_name="qa"'
    _await_value(prometheus, f"sum(gen_ai_evaluation_score_count{{{sel}}})", 60)
    assert _value(prometheus, f"sum(gen_ai_evaluation_score_sum{{{sel}}})") == pytest.approx(
        math.fsum(scores), rel=1e-12
    )
    below = _value(prometheus, f'sum(gen_ai_evaluation_score_bucket{{{sel}, le="0.5"}})')
    assert below == np.count_nonzero(scores <= 0.5)
    passed = _value(
        prometheus,
        f'sum(evaltrace_evaluation_results_total{{{sel}, gen_ai_evaluation_score_label="pass"}})',
    )
    assert passed == np.count_nonzero(scores > 0.5)
    mean = _value(
        prometheus,
        f"sum(increase(gen_ai_evaluation_score_sum{{{sel}}}[1h]))"
        f" / sum(increase(gen_ai_evaluation_score_count{{{sel}}}[1h]))",
    )
    assert mean == pytest.approx(float(np.mean(scores)), rel=1e-9)
    labels = _query(prometheus, f"gen_ai_evaluation_score_count{{{sel}}}")[0]["metric"]
    assert {"run_id", "eval_run_id", "sample_id", "eval_sample_id"}.isdisjoint(labels)
    assert labels["job"] == "evaltrace" and labels["instance"]


def test_each_result_counts_once_after_its_spans_are_re_sent(
    backends: Backends, prometheus: httpx.Client, tmp_path: Path
) -> None:
    """Delivered spans whose acknowledgement was lost, re-sent by ``evaltrace sync`` and by
    the store's next tracker, reach the collector again; the metrics still count 40."""
    project = f"prom-{uuid.uuid4().hex[:8]}"
    store = tmp_path / "s.db"
    with Tracker(project, store=store):
        pass
    keep_acknowledged(store)
    _log_run(store, backends, project, np.linspace(0, 1, 40))
    assert requeue_acknowledged(store) > 0
    done = CliRunner().invoke(
        main, ["sync", "--store", str(store), "--endpoint", backends.collector_http]
    )
    assert done.exit_code == 0, done.output
    assert requeue_acknowledged(store) > 0
    with Tracker(project, store=store, otlp_endpoint=backends.collector_http) as again:
        assert again.flush(timeout=60)
        assert again.stats.spans_resent > 0
    # A later result of the same project: once it is in, whatever the re-sends caused is too.
    with Tracker(project, store=tmp_path / "m.db", otlp_endpoint=backends.collector_http) as t:
        t.log({"qa": {"score": 1.0}}, "marker", {"i": 0})
    _await_value(prometheus, f'sum(gen_ai_evaluation_score_count{{eval_project="{project}"}})', 41)
    sel = f'eval_project="{project}", eval_dataset="nightly"'
    assert _value(prometheus, f"sum(gen_ai_evaluation_score_count{{{sel}}})") == 40
    assert _value(prometheus, f"count(gen_ai_evaluation_score_count{{{sel}}})") == 1


def test_a_re_sent_metrics_export_adds_nothing(prometheus: httpx.Client, tmp_path: Path) -> None:
    """The same cumulative OTLP request delivered three times (a retry, the collector's queue
    after a restart) leaves Prometheus's count where one delivery put it."""
    project = f"prom-{uuid.uuid4().hex[:8]}"
    with receiver() as rx:
        with Tracker(project, store=tmp_path / "s.db", otlp_endpoint=rx.endpoint) as tracker:
            tracker.log_batch_sync([{"qa": {"score": 0.5}}] * 7, "d", [{"i": i} for i in range(7)])
        (body,) = rx.metric_bodies
    for _ in range(3):
        answer = prometheus.post(
            "/api/v1/otlp/v1/metrics",
            content=body,
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert answer.status_code == 200, answer.text
    _await_value(prometheus, f'sum(gen_ai_evaluation_score_count{{eval_project="{project}"}})', 7)
    assert (
        _value(prometheus, f'count(gen_ai_evaluation_score_count{{eval_project="{project}"}})') == 1
    )


def _substitute(expr: str, project: str) -> str:
    for name, value in (
        ("$project", project),
        ("$dataset", ".*"),
        ("$evaluator", ".*"),
        ("$window", "1h"),
    ):
        expr = expr.replace(name, value)
    assert "$" not in expr, expr
    return expr


def test_every_dashboard_query_and_rule_runs_against_prometheus(
    backends: Backends, prometheus: httpx.Client, tmp_path: Path
) -> None:
    """Each Prometheus panel and variable of the Grafana dashboard is valid PromQL that
    Prometheus runs (the mean panel returning the run's mean), and the rules are loaded."""
    project = f"prom-{uuid.uuid4().hex[:8]}"
    scores = np.linspace(0.05, 0.95, 19)
    _log_run(tmp_path / "s.db", backends, project, scores)
    _await_value(prometheus, f'sum(gen_ai_evaluation_score_count{{eval_project="{project}"}})', 19)
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ran = 0
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            if target["datasource"]["type"] != "prometheus":
                continue
            result = _query(prometheus, _substitute(target["expr"], project))
            ran += 1
            if panel["title"].startswith("Mean score"):
                assert len(result) == 1
                assert float(result[0]["value"][1]) == pytest.approx(float(np.mean(scores)))
    assert ran >= 8
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        # label_values(SELECTOR, LABEL), as Grafana sends it: the label values API.
        inner = variable["query"]["query"].removeprefix("label_values(").removesuffix(")")
        selector, _, label = inner.rpartition(",")
        answer = prometheus.get(
            f"/api/v1/label/{label.strip()}/values",
            params={"match[]": _substitute(selector.strip(), project)},
        )
        assert answer.status_code == 200 and answer.json()["status"] == "success"
    assert project in prometheus.get("/api/v1/label/eval_project/values").json()["data"]
    groups = prometheus.get("/api/v1/rules").json()["data"]["groups"]
    rules = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert {"EvaltracePassRateLow", "EvaltraceMeanDropped"} <= set(rules)
    assert all(rule.get("health") != "err" for rule in rules.values()), rules
