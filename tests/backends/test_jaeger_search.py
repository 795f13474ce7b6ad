"""The Jaeger searches the README shows, run through the query API Jaeger's own UI calls
(`GET /api/traces?service=&tags=`), find what they say they find."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from evaltrace import JaegerQueryAdapter
from evaltrace import OpenTelemetryExperimentTracker as Tracker

from .conftest import Backends

pytestmark = pytest.mark.backends


def _ui_search(backends: Backends, tags: dict[str, str], expected: int) -> list[dict[str, Any]]:
    """What the Jaeger UI's search shows for these tags (waits, bounded, for ingestion)."""
    from ..support.wait import wait_for

    found: list[dict[str, Any]] = []

    def search() -> bool:
        answer = httpx.get(
            f"{backends.jaeger_url}/api/traces",
            params={
                "service": "evaltrace",
                "tags": json.dumps(tags),
                "limit": 100,
                "lookback": "1h",
            },
            timeout=10,
        )
        answer.raise_for_status()
        found[:] = answer.json()["data"] or []
        return len(found) >= expected

    wait_for(search, 60, f"Jaeger to find {tags}")
    return found


def _sample_ids(traces: list[dict[str, Any]]) -> set[str]:
    return {
        tag["value"]
        for t in traces
        for span in t["spans"]
        for tag in span["tags"]
        if tag["key"] == "eval.sample_id"
    }


def test_the_readme_searches_find_a_run_a_sample_a_failure_and_an_app_trace(
    backends: Backends,
) -> None:
    """The four README searches, on a run whose config leaves would once have used up the
    flat-attribute budget: each finds exactly what it says."""
    run_id = f"e2e-search-{uuid.uuid4().hex[:8]}"
    app_trace = uuid.uuid4().hex
    config = {f"map@{k}": {"threshold": 0.5, "strict_mode": False, "k": k} for k in range(1, 40)}
    with Tracker(
        "e2e",
        store=False,
        otlp_endpoint=backends.collector_grpc,
        otlp_protocol="grpc",
        query=JaegerQueryAdapter(backends.jaeger_grpc),
    ) as tracker:
        for i in range(6):
            row = {"id": f"{run_id}-q{i}", "traceparent": f"00-{app_trace}-{i + 1:016x}-01"}
            result = {**config, "qa": {"passed": i != 4, "token_f1": {"score": i / 10}}}
            tracker.log(result, "search", row, run_id=run_id)
        assert len(tracker.get_run_results(run_id)) == 6
    assert len(_ui_search(backends, {"eval.run_id": run_id}, 6)) == 6
    sample = f"{run_id}-q2"
    assert _sample_ids(_ui_search(backends, {"eval.sample_id": sample}, 1)) == {sample}
    failing = _ui_search(backends, {"eval.run_id": run_id, "eval.metric.qa.passed": "false"}, 1)
    assert _sample_ids(failing) == {f"{run_id}-q4"}
    linked = _ui_search(backends, {"eval.link.trace_id": app_trace}, 6)
    assert len(_sample_ids(linked)) == 6
