"""Ctrl-C (any BaseException) at any point of a commit leaves the store usable and whole."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker


def _stored(store: Path, run_id: str) -> list[evaltrace.ResultRecord]:
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        return reader.run_results(run_id)


def _lock_is_free(store: Path) -> bool:
    """Another process could take the write lock right now."""
    other = sqlite3.connect(store, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


_CTRL_C_CHILD = """
import json, os, signal, sqlite3, sys, threading
from evaltrace import OpenTelemetryExperimentTracker as Tracker
store = sys.argv[1]
signal.signal(signal.SIGINT, signal.default_int_handler)  # a terminal's Ctrl-C
with Tracker("proj", store=store) as tracker:
    tracker.log({"score": 1.0}, "ds", {"q": 1}, run_id="r")
    holder = sqlite3.connect(store, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")

    def interrupt_then_release():
        os.kill(os.getpid(), signal.SIGINT)
        holder.execute("COMMIT")

    timer = threading.Timer(0.3, interrupt_then_release)
    timer.start()
    try:
        tracker.log({"score": 2.0}, "ds", {"q": 2}, run_id="r")
        interrupted = False
    except KeyboardInterrupt:
        interrupted = True
    timer.join()
    holder.close()
    other = sqlite3.connect(store, timeout=0, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("ROLLBACK")
    other.close()
    tracker.log({"score": 3.0}, "ds", {"q": 3}, run_id="r")
print(json.dumps({"interrupted": interrupted}))
"""


def test_ctrl_c_while_waiting_for_the_store_lock_leaves_the_tracker_usable(
    store_path: Path,
) -> None:
    """SIGINT while log() waits for another writer's lock: later calls work, no lock kept.

    In a process of its own with Python's SIGINT handler, as a terminal's Ctrl-C meets it: a
    test run started in the background by a non-interactive shell inherits SIGINT ignored,
    which Python then leaves as it is (no KeyboardInterrupt at all).
    """
    store_path.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_CHILD, str(store_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"interrupted": True}
    assert _lock_is_free(store_path)
    scores = [r["evaluation_result"]["score"] for r in _stored(store_path, "r")]
    assert scores in ([1.0, 3.0], [1.0, 2.0, 3.0])


class _Interrupting:
    """A connection that raises KeyboardInterrupt before or after its ``at``-th statement."""

    def __init__(self, conn: sqlite3.Connection, at: int, after: bool) -> None:
        self._conn, self._at, self._after, self.seen = conn, at, after, 0

    def _step(self, method: str, *args: Any) -> Any:
        self.seen += 1
        if self.seen == self._at and not self._after:
            raise KeyboardInterrupt
        out = getattr(self._conn, method)(*args)
        if self.seen == self._at:
            raise KeyboardInterrupt
        return out

    def execute(self, *args: Any) -> Any:
        return self._step("execute", *args)

    def executemany(self, *args: Any) -> Any:
        return self._step("executemany", *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(at=st.integers(1, 14), after=st.booleans(), rows=st.integers(1, 3), fresh=st.booleans())
def test_an_interruption_at_any_statement_of_a_commit_keeps_whole_calls_only(
    tmp_path: Path, at: int, after: bool, rows: int, fresh: bool
) -> None:
    """KeyboardInterrupt before/after any statement of a commit: store usable, whole calls."""
    store = tmp_path / f"s-{at}-{after}-{rows}-{fresh}.db"
    with Tracker("proj", store=store, resource_attributes={"fresh": fresh}) as tracker:
        if not fresh:
            tracker.log({"score": 0.0}, "ds", {"q": 0}, run_id="r")
        writer = tracker._writer
        assert writer is not None
        real = writer._conn
        writer._conn = _Interrupting(real, at, after)  # type: ignore[assignment]
        batch = [{"score": float(i + 1)} for i in range(rows)]
        data = [{"q": i} for i in range(rows)]
        try:
            if rows > 1:
                tracker.log_batch_sync(batch, "ds", data, run_id="r")
            else:
                tracker.log(batch[0], "ds", data[0], run_id="r")
        except KeyboardInterrupt:
            pass
        writer._conn = real
        assert _lock_is_free(store)
        tracker.log({"score": 9.0}, "ds", {"q": 9}, run_id="r")
        tracker.flush()
    scores = [r["evaluation_result"]["score"] for r in _stored(store, "r")]
    before = [] if fresh else [0.0]
    whole = [float(i + 1) for i in range(rows)]
    assert scores in ([*before, 9.0], [*before, *whole, 9.0])


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.integers(1, 200), rows=st.integers(1, 3))  # a commit: ~150 VM steps
def test_a_commit_interrupted_inside_a_statement_keeps_whole_calls_only(
    tmp_path: Path, steps: int, rows: int
) -> None:
    """SQLite interrupted after any number of VM steps of a commit: StoreWriteError or stored
    whole; the lock is free and the next call works."""
    store = tmp_path / f"p-{steps}-{rows}.db"
    with Tracker("proj", store=store) as tracker:
        tracker.log({"score": 0.0}, "ds", {"q": 0}, run_id="r")
        writer = tracker._writer
        assert writer is not None
        counted = [0]

        def interrupt() -> bool:
            counted[0] += 1
            return counted[0] == steps  # once, as a real interruption

        writer._conn.set_progress_handler(interrupt, 1)
        batch = [{"score": float(i + 1)} for i in range(rows)]
        with contextlib.suppress(evaltrace.StoreWriteError):
            tracker.log_batch_sync(batch, "ds", [{"q": i} for i in range(rows)], run_id="r")
        writer._conn.set_progress_handler(None, 1)
        assert _lock_is_free(store)
        tracker.log({"score": 9.0}, "ds", {"q": 9}, run_id="r")
    scores = [r["evaluation_result"]["score"] for r in _stored(store, "r")]
    whole = [float(i + 1) for i in range(rows)]
    assert scores in ([0.0, 9.0], [0.0, *whole, 9.0])
