"""Results and history as pandas DataFrames."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from evaltrace import OpenTelemetryExperimentTracker as Tracker

if os.environ.get("CI", "").lower() == "true":
    import pandas  # under CI the dev extra (with pandas) is required: missing, it fails
else:
    pandas = pytest.importorskip("pandas")


def test_results_dataframe_has_a_column_per_score(tracker: Tracker) -> None:
    """Scores become columns (config leaves do not); ids, time, data ride along."""
    rows = [{"id": f"q{i}", "question": f"q {i}"} for i in range(3)]
    results = [{"f1": {"score": i / 4, "threshold": 0.5}, "passed": i > 0} for i in range(3)]
    run_id = tracker.log_batch_sync(results, "qa", rows)
    frame = tracker.results_dataframe(run_id)
    assert list(frame["sample_id"]) == ["q0", "q1", "q2"]
    assert list(frame["f1.score"]) == [0.0, 0.25, 0.5]
    assert list(frame["passed"]) == [False, True, True]
    assert "f1.threshold" not in frame and frame["timestamp"].dt.tz is not None
    assert frame["data"][1] == rows[1]


def test_history_dataframe_has_a_row_per_run(tracker: Tracker) -> None:
    """One row per run with <metric>.<stat> columns."""
    tracker.log_batch_sync([{"f1": {"score": 0.5}}] * 2, "qa", [{"id": 1}, {"id": 2}], run_id="a")
    tracker.log({"f1": {"score": 1.0}}, "qa", {"id": 1}, run_id="b")
    frame = tracker.history_dataframe()
    by_run = frame.set_index("run_id")
    assert by_run.loc["a", "f1.score.mean"] == 0.5 and by_run.loc["b", "num_results"] == 1


def test_importing_evaltrace_does_not_import_pandas() -> None:
    """pandas stays an optional extra: nothing imports it until a frame is asked for."""
    code = "import sys, evaltrace; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
