"""Opt-in, against a real Grafana Tempo: tracker -> collector -> Tempo -> TempoQueryAdapter.

Tempo cannot be built here (AGPL; the Go module proxy refuses it), so these run only when
``EVALTRACE_TEST_TEMPO_URL`` is set, e.g. with ``deploy/docker-compose.yaml`` up::

    EVALTRACE_TEST_TEMPO_URL=http://127.0.0.1:3200 \\
    EVALTRACE_TEST_COLLECTOR_OTLP=http://127.0.0.1:4317 \\
    .venv/bin/python -m pytest tests/backends/test_tempo_live.py

The collector (OTLP gRPC at ``EVALTRACE_TEST_COLLECTOR_OTLP``) must export to that Tempo, as
collector-config.yaml does when ``TEMPO_OTLP_ENDPOINT`` is set. The offline contract tests
(tests/query/test_tempo.py) pin the same behaviour against the documented API.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace import TempoQueryAdapter

TEMPO_URL = os.environ.get("EVALTRACE_TEST_TEMPO_URL", "")
COLLECTOR = os.environ.get("EVALTRACE_TEST_COLLECTOR_OTLP", "http://127.0.0.1:4317")

pytestmark = [
    pytest.mark.backends,
    pytest.mark.skipif(not TEMPO_URL, reason="EVALTRACE_TEST_TEMPO_URL is not set (no Tempo here)"),
]


def _tracker(store: Path | bool = False, **kwargs: Any) -> Tracker:
    """A tracker sending through the collector (gRPC) and reading Tempo."""
    return Tracker(
        "tempo-live",
        store=store,
        otlp_endpoint=COLLECTOR,
        otlp_protocol="grpc",
        query=TempoQueryAdapter(TEMPO_URL, **kwargs),
    )


def _run_id(name: str) -> str:
    """Tempo keeps what earlier sessions wrote: every run id is new."""
    return f"live-{name}-{uuid.uuid4().hex[:8]}"


def test_tempo_returns_what_the_store_returns(tmp_path: Path) -> None:
    """Results and history read from Tempo equal those read from the embedded store, exactly."""
    store = tmp_path / "live.db"
    run_id = _run_id("equal")
    with _tracker(store=store) as tracker:
        tracker.log(
            {"judge": {"score": 1, "explanation": "é🚀", "success": True}},
            "qa",
            {"id": "s0", "q": "x" * 5000},
            run_id=run_id,
        )
        asyncio.run(
            tracker.log_batch(
                [{"geval": {"score": i / 10}} for i in range(25)],
                "qa",
                [{"id": f"s{i + 1}", "n": None, "nan": float("nan")} for i in range(25)],
                run_id=run_id,
            )
        )
        from_tempo = tracker.get_run_results(run_id)
        history = tracker.get_experiment_history(dataset_name="qa")
    assert len(from_tempo) == 26
    assert repr(from_tempo) == repr(evaltrace.SQLiteQueryAdapter(store).run_results(run_id))
    assert run_id in {r["run_id"] for r in history}


NASTY = ('q"uote', "back\\slash", "{brace}", "new\nline", "é🚀", "run", "run-1")


def test_run_ids_cannot_break_or_widen_a_traceql_query() -> None:
    """Run ids with quotes, backslashes, braces, newlines, unicode or prefixes match only theirs."""
    prefix = _run_id("inj") + "-"
    with _tracker() as tracker:
        for nasty in NASTY:
            tracker.log({"for": nasty}, "inj", {"id": 1}, run_id=prefix + nasty)
        found = {nasty: tracker.get_run_results(prefix + nasty) for nasty in NASTY}
    for nasty, rows in found.items():
        assert [r["evaluation_result"] for r in rows] == [{"for": nasty}], nasty


def test_paging_past_search_limit() -> None:
    """Single-result traces beyond ``search_limit`` are found by splitting the window."""
    run_id = _run_id("paging")
    with _tracker(search_limit=10) as tracker:
        for i in range(30):  # 4 a second: no one-second window holds more than search_limit
            tracker.log({"i": i}, "paging", {"id": i}, run_id=run_id)
            time.sleep(0.25)
        rows = tracker.get_run_results(run_id)
    assert [r["evaluation_result"]["i"] for r in rows] == list(range(30))


def test_a_history_longer_than_168h_is_accepted() -> None:
    """A 10-day history is searched in windows Tempo accepts (it refuses more than 168 h)."""
    run_id = _run_id("long")
    with _tracker() as tracker:
        tracker.log({"x": 1}, "long", {"id": 1}, run_id=run_id)
        tracker.get_run_results(run_id)  # waits until Tempo serves it
    since = datetime.now(UTC) - timedelta(days=10)
    with TempoQueryAdapter(TEMPO_URL) as reader:
        rows = reader.project_results(evaltrace.HistoryFilter("tempo-live", since=since))
    assert run_id in {r["run_id"] for r in rows}


def test_unreachable_tempo_is_backend_unavailable() -> None:
    """A closed port becomes BackendUnavailableError after the bounded retries."""
    options = evaltrace.ClientOptions(timeout=2, retries=1, backoff=0)
    with pytest.raises(evaltrace.BackendUnavailableError):
        TempoQueryAdapter("http://127.0.0.1:9", options=options).run_results("x")
