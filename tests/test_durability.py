"""The commit point: a result whose call returned survives the process, whatever ends it."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker

CHILD = Path(__file__).parent / "support" / "child.py"


def _child(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _returned_until(proc: subprocess.Popen[str], target: int) -> int:
    """Read the child's reports until at least ``target`` results returned."""
    assert proc.stdout is not None
    last = 0
    for line in proc.stdout:
        if line.startswith("returned "):
            last = int(line.split()[1])
            if last >= target:
                return last
    raise AssertionError(
        f"child ended after {last} results: {proc.stderr.read() if proc.stderr else ''}"
    )


def _stored(store: Path, run_id: str) -> list[evaltrace.ResultRecord]:
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        return reader.run_results(run_id)


def test_two_seeded_processes_keep_both_runs(tmp_path: Path) -> None:
    """random.seed(42) in two processes: both runs complete, no trace or span id shared."""
    store = tmp_path / "s.db"
    runs = [f"seeded-{i}-{uuid.uuid4().hex[:6]}" for i in range(2)]
    procs = [_child(str(store), run, "seeded", "50") for run in runs]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    a, b = (_stored(store, run) for run in runs)
    assert len(a) == len(b) == 50
    assert not {r["trace_id"] for r in a} & {r["trace_id"] for r in b}
    with Tracker("child", store=store) as reader:
        assert {r["run_id"]: r["num_results"] for r in reader.get_experiment_history()} == {
            runs[0]: 50,
            runs[1]: 50,
        }


def test_seeding_random_does_not_repeat_ids(store_path: Path) -> None:
    """Ids come from the OS: reseeding ``random`` between calls cannot mint an id twice."""
    with Tracker("p", store=store_path) as tracker:
        for i in range(20):
            random.seed(7)
            tracker.log({"m": i}, "qa", {"id": i}, run_id="r")
        rows = tracker.get_run_results("r")
    assert len({r["trace_id"] for r in rows}) == len({r["span_id"] for r in rows}) == 20


@pytest.mark.parametrize("batch", [False, True])
def test_many_threads_one_tracker_lose_nothing(store_path: Path, batch: bool) -> None:
    """8 threads x 2,000 log(), or 16 threads x 20 log_batch_sync of 100: every result stored."""
    threads, calls = (16, 20) if batch else (8, 2000)
    with Tracker("p", store=store_path) as tracker:

        def work(t: int) -> None:
            for c in range(calls):
                if batch:
                    rows = [{"id": f"{t}-{c}-{i}"} for i in range(100)]
                    tracker.log_batch_sync([{"m": i} for i in range(100)], "qa", rows, run_id="r")
                else:
                    tracker.log({"m": c}, "qa", {"id": f"{t}-{c}"}, run_id="r")

        workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        expected = threads * calls * (100 if batch else 1)
        assert tracker.stats.results_stored == tracker.stats.results_logged == expected
    rows = _stored(store_path, "r")
    assert len(rows) == len({r["sample_id"] for r in rows}) == expected


def test_sigkill_loses_no_returned_batch_and_splits_none(tmp_path: Path) -> None:
    """SIGKILL at a random point after batch k returned: >= k batches stored, each whole."""
    store = tmp_path / "k.db"
    run_id = f"kill-{uuid.uuid4().hex[:6]}"
    proc = _child(str(store), run_id, "batch", "100000")
    returned = _returned_until(proc, 100 * random.randint(3, 12))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    rows = _stored(store, run_id)
    assert len(rows) >= returned
    assert len(rows) % 100 == 0  # never half a batch
    with sqlite3.connect(store) as conn:  # every batch (call) holds its 100 results
        per_call = Counter(call for (call,) in conn.execute("SELECT call_id FROM results"))
    assert set(per_call.values()) == {100}


def test_sigterm_in_a_log_loop_keeps_every_returned_result(tmp_path: Path) -> None:
    """SIGTERM mid-loop: the process ends by SIGTERM, and every returned log() is stored."""
    store = tmp_path / "t.db"
    run_id = f"term-{uuid.uuid4().hex[:6]}"
    proc = _child(str(store), run_id, "log", "0")
    returned = _returned_until(proc, 1400)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == -signal.SIGTERM  # not swallowed
    assert len(_stored(store, run_id)) >= returned


def test_sigterm_runs_the_applications_own_handler(tmp_path: Path) -> None:
    """The tracker flushes, then chains to the handler the application installed."""
    store = tmp_path / "h.db"
    run_id = f"handler-{uuid.uuid4().hex[:6]}"
    proc = _child(str(store), run_id, "handler", "0")
    returned = _returned_until(proc, 200)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 3
    assert "app handler ran" in out
    assert len(_stored(store, run_id)) >= returned


def test_exit_without_close_keeps_everything(tmp_path: Path) -> None:
    """A script that never calls close() still leaves every result stored."""
    store = tmp_path / "n.db"
    run_id = f"noclose-{uuid.uuid4().hex[:6]}"
    proc = _child(str(store), run_id, "noclose", "300")
    assert proc.wait(timeout=120) == 0
    assert [r["evaluation_result"]["m"] for r in _stored(store, run_id)] == list(range(300))


def test_four_processes_one_store(tmp_path: Path) -> None:
    """4 processes x 2,000 results into one store: all 8,000 there, four complete runs."""
    store = tmp_path / "p.db"
    runs = [f"proc-{i}-{uuid.uuid4().hex[:6]}" for i in range(4)]
    procs = [_child(str(store), run, "log", "2000") for run in runs]
    for proc in procs:
        assert proc.wait(timeout=300) == 0, proc.stderr.read() if proc.stderr else ""
    assert [len(_stored(store, run)) for run in runs] == [2000] * 4


def test_a_refused_batch_stores_nothing(store_path: Path) -> None:
    """A bad row anywhere refuses the whole batch before anything is committed."""
    with Tracker("p", store=store_path) as tracker:
        tracker.log({"m": 1}, "qa", {"id": 0}, run_id="r")
        with pytest.raises(
            evaltrace.InvalidInputTypeError, match=r"data\.id \(row 2\): an object of type object"
        ):
            tracker.log_batch_sync(
                [{"m": 1}] * 3, "qa", [{"id": 1}, {"id": 2}, {"id": object()}], run_id="r"
            )
        assert len(tracker.get_run_results("r")) == 1


def test_store_file_and_folder_are_private(tmp_path: Path) -> None:
    """The store holds prompts and answers: file 0600, folder 0700."""
    store = tmp_path / "private" / "e.db"
    with Tracker("p", store=store) as tracker:
        tracker.log({"m": 1}, "qa", {"id": 0})
    assert os.stat(store).st_mode & 0o777 == 0o600
    assert os.stat(store.parent).st_mode & 0o777 == 0o700
