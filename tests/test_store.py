"""The embedded store's own contracts: records, old layouts, per-run rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace import SQLiteQueryAdapter


def test_record_column_and_attribute_decoding_agree(store_path: Path) -> None:
    """Rows without the record column (older stores) decode to exactly the same results."""
    with Tracker("p", store=store_path) as tracker:
        tracker.log({"m": {"score": 1, "x": None}}, "qa", {"id": 1}, run_id="r", metadata={"k": 2})
        tracker.log_batch_sync(
            [{"m": float("inf")}, {"m": 2}], "qa", [{"id": 2}, {"id": 3}], run_id="r"
        )
        fast = tracker.get_run_results("r")
    with sqlite3.connect(store_path) as conn:
        conn.execute("UPDATE spans SET record = NULL")
    slow = SQLiteQueryAdapter(store_path).run_results("r")
    assert repr(slow) == repr(fast)
    assert len(fast) == 3


def test_store_without_record_column_is_migrated(tmp_path: Path) -> None:
    """Opening a store made before the record column adds it and keeps old rows readable."""
    path = tmp_path / "old.db"
    with Tracker("p", store=path) as tracker:
        tracker.log({"m": 1}, "qa", {"id": 1}, run_id="r")
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE spans DROP COLUMN record")
    with Tracker("p", store=path) as tracker:
        tracker.log({"m": 2}, "qa", {"id": 2}, run_id="r")
        assert [r["evaluation_result"]["m"] for r in tracker.get_run_results("r")] == [1, 2]
