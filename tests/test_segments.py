"""A run's results are found by rowid segments: interleaved runs, old stores, reused rowids."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.store import CallRecord, ResultRow, StoreReader, StoreWriter, _reader

from .support.old_stores import as_version_3_layout


def _interleave(store: Path) -> dict[str, list[int]]:
    """Three runs written by two trackers on one store, their calls interleaved (single logs
    and batches, a run left and taken up again); returns what each run logged, in order."""
    logged: dict[str, list[int]] = {"a": [], "b": [], "c": []}
    n = 0

    def log(tracker: Tracker, run: str, size: int) -> None:
        nonlocal n
        values = list(range(n, n + size))
        n += size
        if size == 1:
            tracker.log({"m": values[0]}, "qa", {"id": values[0]}, run_id=run)
        else:
            tracker.log_batch_sync(
                [{"m": v} for v in values], "qa", [{"id": v} for v in values], run_id=run
            )
        logged[run] += values

    with Tracker("p", store=store) as one, Tracker("p", store=store) as two:
        for _ in range(3):
            log(one, "a", 1)
        for round_ in range(4):
            log(one, "a", 1)
            log(two, "b", 3)
            log(two, "b", 1)
            if round_ == 2:
                log(one, "c", 5)
        log(one, "a", 7)
    return logged


def _read(path: Path) -> dict[str, list[int]]:
    adapter = evaltrace.SQLiteQueryAdapter(path)
    try:
        return {
            run: [r["evaluation_result"]["m"] for r in adapter.run_results(run)]
            for run in ("a", "b", "c")
        }
    finally:
        adapter.close()


def _counts(path: Path) -> dict[str, int]:
    reader = StoreReader(str(path))
    try:
        return {row[0]: row[5] for row in reader.runs()}
    finally:
        reader.close()


def test_interleaved_runs_read_back_whole_and_in_order(store_path: Path) -> None:
    """Each run reads exactly its own results in logging order however the calls of several
    runs and writers interleave, and a run gets a new segment only where the store's last
    result changes run."""
    logged = _interleave(store_path)
    assert _read(store_path) == logged
    assert _counts(store_path) == {run: len(values) for run, values in logged.items()}
    with sqlite3.connect(store_path) as conn:
        runs = [r for (r,) in conn.execute("SELECT run_id FROM results ORDER BY id")]
        segments = conn.execute("SELECT run_id FROM run_segments ORDER BY start_id").fetchall()
        (index,) = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name = 'results_by_run'"
        ).fetchone()
    switches = [run for i, run in enumerate(runs) if i == 0 or runs[i - 1] != run]
    assert [s for (s,) in segments] == switches
    assert index == 0


@pytest.mark.parametrize("kept", [2, 4096])
def test_runs_logged_in_turn_read_each_results_own_call(
    store_path: Path, monkeypatch: pytest.MonkeyPatch, kept: int
) -> None:
    """Two runs logged in turn have a call every result or few, fetched a page at a time:
    each result comes back with its own call's metadata and context, also when pages end in
    the middle of a batch (pages of 3 rows, batches of 4), when a page's calls take two
    queries, and when the calls kept for the read overflow on a page that still needs the
    batch's (``kept`` 2)."""
    monkeypatch.setattr(_reader, "_CALLS_KEPT", kept)
    monkeypatch.setattr(_reader, "_PAGE", 3)
    monkeypatch.setattr(_reader, "_CALLS_PER_QUERY", 2)
    expected: dict[str, list[tuple[int, Any, Any]]] = {"x": [], "y": []}
    with Tracker("p", store=store_path) as tracker:
        for i in range(6):
            for run in ("x", "y"):
                size = 4 if i % 2 else 1
                with tracker.context(step=i):
                    tracker.log_batch_sync(
                        [{"m": i}] * size,
                        "qa",
                        [{"id": f"{run}{i}.{k}"} for k in range(size)],
                        run_id=run,
                        metadata={run: i},
                    )
                expected[run] += [(i, {run: i}, {"step": i})] * size
    adapter = evaltrace.SQLiteQueryAdapter(store_path)
    try:
        for run in ("x", "y"):
            got = [
                (r["evaluation_result"]["m"], r["metadata"], r["context"])
                for r in adapter.run_results(run)
            ]
            assert got == expected[run]
    finally:
        adapter.close()


def test_counts_and_metrics_before_folding_come_from_the_segments(store_path: Path) -> None:
    """A reader adds the results committed since a run's last folding, found through the
    segments, while the writers are still open (nothing folded yet)."""
    with Tracker("p", store=store_path) as one, Tracker("p", store=store_path) as two:
        for i in range(6):
            (one if i % 2 else two).log(
                {"m": i}, "qa", {"id": i}, run_id="odd" if i % 2 else "even"
            )
        assert _counts(store_path) == {"odd": 3, "even": 3}
        history = {
            run["run_id"]: run["metrics"]["m"]["mean"]
            for run in evaltrace.SQLiteQueryAdapter(store_path).history(evaltrace.HistoryFilter())
        }
        assert history == {"odd": 3.0, "even": 2.0}


def test_a_version_3_store_reads_as_it_is_and_upgrades(store_path: Path) -> None:
    """A version 3 store (an index on (run_id, id), no segments) reads the same without a byte
    written; the first writer builds its segments and drops the index, and runs go on."""
    logged = _interleave(store_path)
    as_version_3_layout(store_path)
    before = hashlib.sha256(store_path.read_bytes()).hexdigest()
    assert _read(store_path) == logged
    assert _counts(store_path) == {run: len(values) for run, values in logged.items()}
    assert hashlib.sha256(store_path.read_bytes()).hexdigest() == before
    with Tracker("p", store=store_path) as tracker:
        tracker.log({"m": 1000}, "qa", {"id": 1000}, run_id="b")
        tracker.log({"m": 1001}, "qa", {"id": 1001}, run_id="a")
    logged["b"].append(1000)
    logged["a"].append(1001)
    assert StoreReader(str(store_path)).version == 6
    assert _read(store_path) == logged
    assert _counts(store_path) == {run: len(values) for run, values in logged.items()}
    with sqlite3.connect(store_path) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "results_by_run" not in names and "run_segments" in names
    with sqlite3.connect(store_path) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    assert "destination" in columns


def test_rowids_a_spool_hands_out_again_are_marked_afresh(tmp_path: Path) -> None:
    """A spool deletes delivered traces and SQLite reuses their rowids: the reused rows belong
    to the run that wrote them, never to the segment of the rows deleted before."""
    path = tmp_path / "spool.db"
    writer = StoreWriter(str(path), keep_delivered=False)
    span = iter(range(1, 1000))

    def commit(run: str, values: list[int]) -> list[int]:
        call = CallRecord(run, "p", "qa", "{}", "{}", None, None, None, "{}")
        rows = [
            ResultRow(
                next(span),
                next(span),
                None,
                10,
                11,
                v,
                None,
                "s",
                f'{{"m":{v}}}',
                "{}",
                None,
                f'[["m",{v}]]',
            )
            for v in values
        ]
        return list(writer.commit(call, rows, [], forward=True, leased=False).values())

    commit("a", [1, 2])
    delivered = commit("b", [3, 4, 5])
    writer.outbox.acknowledge(delivered)  # b's rows (the last ones) are deleted
    commit("a", [6])  # takes up b's first rowid
    commit("c", [7])
    writer.close()
    reader = StoreReader(str(path))
    read = {run: [r["evaluation_result"]["m"] for r in reader.iter_run(run)] for run in "abc"}
    reader.close()
    assert read == {"a": [1, 2, 6], "b": [], "c": [7]}


def _steps_of_history(path: Path, runs: list[str], per_run: int) -> int:
    """SQLite VM steps (in thousands: no timing) of one cold history read while a writer,
    still open, holds 3 more results a run it has not folded yet."""
    with Tracker("p", store=path) as tracker:
        for run in runs:
            for i in range(3):
                tracker.log({"m": i}, "qa", {"id": i}, run_id=run)
        adapter = evaltrace.SQLiteQueryAdapter(path)
        steps = 0

        def count() -> int:
            nonlocal steps
            steps += 1
            return 0

        adapter._store._conn.set_progress_handler(count, 1000)
        rows = adapter.history(evaltrace.HistoryFilter())
        adapter.close()
    assert sorted(row["num_results"] for row in rows) == [per_run + 3] * len(runs)
    return steps


def _history_steps(path: Path, per_run: int) -> int:
    """History steps of 6 runs of ``per_run`` folded results each."""
    runs = [f"r{run}" for run in range(6)]
    with Tracker("p", store=path) as tracker:
        for run in runs:
            values = range(per_run)
            tracker.log_batch_sync(
                [{"m": i} for i in values], "qa", [{"id": i} for i in values], run_id=run
            )
    return _steps_of_history(path, runs, per_run)


def test_history_reads_runs_not_results(tmp_path: Path) -> None:
    """A cold history read costs the same SQLite work for runs of 20 and of 2,000 folded
    results: it reads each run's aggregate row and the few results committed since, found
    through the segments, never every result."""
    small = _history_steps(tmp_path / "small.db", 20)
    big = _history_steps(tmp_path / "big.db", 2_000)
    assert big <= 2 * small + 5, (small, big)


def _interleaved_history_steps(path: Path, per_run: int) -> int:
    """History steps of two runs whose ``per_run`` calls each were interleaved by two writers
    (a segment per call)."""
    with Tracker("p", store=path) as one, Tracker("p", store=path) as two:
        for i in range(per_run):
            one.log({"m": i}, "qa", {"id": i}, run_id="a")
            two.log({"m": i}, "qa", {"id": i}, run_id="b")
    return _steps_of_history(path, ["a", "b"], per_run)


def test_history_of_interleaved_runs_reads_only_the_segments_since_folding(
    tmp_path: Path,
) -> None:
    """Two writers alternating calls of two runs leave a segment per call; a history read
    still looks only at the segments past each run's folding, not at every segment."""
    small = _interleaved_history_steps(tmp_path / "small.db", 10)
    big = _interleaved_history_steps(tmp_path / "big.db", 1_000)
    assert big <= 2 * small + 5, (small, big)
