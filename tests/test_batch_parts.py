"""A large ``log_batch`` planned and stored in parts: still one call, whole or nothing."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace import _tracker

from .support.otlp_receiver import receiver
from .support.wait import wait_for


@pytest.fixture(autouse=True)
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parts of 8 rows, traces of 3 results: parts cut on whole traces (6 rows a part)."""
    monkeypatch.setattr(_tracker, "PART_ROWS", 8)
    monkeypatch.setenv("EVALTRACE_RESULTS_PER_TRACE", "3")


def _rows(n: int) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    return [{"m": {"score": i / n}} for i in range(n)], [{"id": f"s{i}"} for i in range(n)]


def test_a_batch_in_parts_reads_back_as_one_call(tmp_path: Path) -> None:
    """Rows, their batch indexes, traces and batch roots are those of one call."""
    store = tmp_path / "s.db"
    results, data = _rows(20)
    with Tracker("p", store=store) as tracker:
        tracker.log_batch_sync(results, "qa", data, run_id="r")
        read = tracker.get_run_results("r")  # checks every trace holds what its root says
        assert tracker.stats.results_logged == tracker.stats.results_stored == 20
    assert [r["evaluation_result"] for r in read] == results
    assert [r["sample_id"] for r in read] == [d["id"] for d in data]
    conn = sqlite3.connect(store)
    assert conn.execute("SELECT count(*), min(batch_size) FROM calls").fetchone() == (1, 20)
    assert [r for (r,) in conn.execute("SELECT row FROM results ORDER BY id")] == list(range(20))
    roots = conn.execute("SELECT chunk_start, chunk_size FROM batch_roots ORDER BY chunk_start")
    assert roots.fetchall() == [(i, min(3, 20 - i)) for i in range(0, 20, 3)]


def test_a_bad_row_in_a_later_part_stores_nothing(tmp_path: Path) -> None:
    """A row refused in the third part rolls back the two parts inserted before it."""
    results, data = _rows(20)
    data[15] = {"id": object()}
    with Tracker("p", store=tmp_path / "s.db") as tracker:
        tracker.log({"m": 1}, "qa", {"id": "x"}, run_id="r")
        with pytest.raises(evaltrace.InvalidInputTypeError, match=r"data\.id \(row 15\)"):
            tracker.log_batch_sync(results, "qa", data, run_id="r")
        assert len(tracker.get_run_results("r")) == 1
        assert tracker.stats.results_logged == 1


def test_a_batch_in_parts_reaches_the_collector_whole(tmp_path: Path) -> None:
    """Forwarded from the outbox after the commit: every result span and root, once each."""
    results, data = _rows(20)
    with receiver() as otlp:
        tracker = Tracker(
            "p", store=tmp_path / "s.db", otlp_endpoint=otlp.endpoint, otlp_protocol="http/protobuf"
        )
        try:
            asyncio.run(tracker.log_batch(results, "qa", data, run_id="r"))
            assert tracker.flush(timeout=30)
        finally:
            tracker.close()
        ours = {"evaltrace.result", "evaltrace.batch"}
        wait_for(lambda: len({s[1] for s in otlp.spans() if s[2] in ours}) >= 27)
        spans = {s[1]: s[2] for s in otlp.spans() if s[2] in ours}
    names = list(spans.values())
    assert (names.count("evaltrace.batch"), names.count("evaltrace.result")) == (7, 20)
