"""Stores at their edges: nothing kept silently, a store is never taken for a spool, readers
never read part of a store nor leave files behind, a read-only store still reads."""

from __future__ import annotations

import hashlib
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.cli import main
from evaltrace.query import InMemoryQueryAdapter
from evaltrace.store import _wal

from .support.otlp_receiver import Receiver


def test_a_tracker_that_would_keep_nothing_is_refused_naming_what_to_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """EVALTRACE_STORE=off and no endpoint: construction fails, naming the variables."""
    monkeypatch.setenv("EVALTRACE_STORE", "off")
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPIONT", "http://localhost:4318")  # misspelt
    with pytest.raises(evaltrace.ConfigurationError) as caught:
        Tracker("proj")
    for name in ("EVALTRACE_STORE", "OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint"):
        assert name in str(caught.value)


def test_a_reading_tracker_refuses_to_log_instead_of_dropping() -> None:
    """query= without store=: reads work, log() raises instead of keeping nothing."""
    with Tracker("proj", query=InMemoryQueryAdapter(InMemorySpanExporter())) as reader:
        assert reader.get_run_results("nothing") == []
        with pytest.raises(evaltrace.ConfigurationError, match="only reads"):
            reader.log({"m": 1}, "ds", {"q": 1})


def _digest(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


@pytest.mark.parametrize("legacy", [False, True])
def test_sync_spool_on_a_store_is_refused_and_deletes_nothing(
    store_path: Path, legacy: bool
) -> None:
    """`sync --spool` on a store (marked, or an older unmarked one): refused, file unchanged."""
    rx = Receiver()
    try:
        with Tracker("p", store=store_path, otlp_endpoint=rx.endpoint) as tracker:
            tracker.log_batch_sync(
                [{"m": i} for i in range(50)], "qa", [{"id": i} for i in range(50)], run_id="r"
            )
            assert tracker.flush(timeout=30)
        if legacy:
            with sqlite3.connect(store_path) as conn:
                conn.execute("DELETE FROM evaltrace_meta WHERE key = 'kind'")
            conn.close()
        before = _digest(store_path)
        done = CliRunner().invoke(
            main, ["sync", "--spool", "--store", str(store_path), "--endpoint", rx.endpoint]
        )
    finally:
        rx.stop()
    assert done.exit_code == 1 and "not a spool" in done.output, done.output
    assert "Traceback" not in done.output
    assert _digest(store_path) == before
    with evaltrace.SQLiteQueryAdapter(store_path) as reader:
        assert len(reader.run_results("r")) == 50


@pytest.mark.parametrize("what", ["file", "folder", "both"])
def test_a_tracker_on_a_read_only_store_reads_and_its_first_write_says_why(
    tmp_path: Path, what: str
) -> None:
    """chattr +i on file, folder or both: reads history; log() names the path and the cause."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    folder = tmp_path / "ro"
    store = folder / "e.db"
    with Tracker("p", store=store) as tracker:
        tracker.log({"m": 1}, "qa", {"id": 1}, run_id="r")
    targets = {"file": [store], "folder": [folder], "both": [store, folder]}[what]
    made = subprocess.run(["chattr", "+i", *map(str, targets)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this filesystem has no immutable attribute: {made.stderr}")
    try:
        with Tracker("p", store=store) as tracker:
            assert len(tracker.get_run_results("r")) == 1
            assert [r["num_results"] for r in tracker.get_experiment_history()] == [1]
            with pytest.raises(evaltrace.StoreWriteError) as caught:
                tracker.log({"m": 2}, "qa", {"id": 2}, run_id="r")
            message = str(caught.value)
            assert str(store) in message and "read-only" in message
            assert ("Operation not permitted" in message) or ("not writable" in message)
    finally:
        subprocess.run(["chattr", "-i", *map(str, targets)], check=True)


_KILLED_WRITER = """
import os, signal, sys
from evaltrace import OpenTelemetryExperimentTracker as Tracker
store = sys.argv[1]
with Tracker("p", store=store) as t:
    t.log_batch_sync([{"m": i} for i in range(100)], "qa", [{"id": i} for i in range(100)],
                     run_id="r")
t = Tracker("p", store=store)
t.log_batch_sync([{"m": i} for i in range(400)], "qa", [{"id": i} for i in range(400)],
                 run_id="r")
os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("copy_fails", [False, True])
def test_a_killed_writers_wal_is_read_without_its_shm_in_a_read_only_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, copy_fails: bool
) -> None:
    """A copy of store + WAL (no -shm) in a read-only folder: all 500 rows, nothing left out;
    where no private copy can be made, a clear refusal, never a partial read."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    live = tmp_path / "live" / "e.db"
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(live)], capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert Path(f"{live}-wal").stat().st_size > 0  # the last 400 are in the WAL only
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("e.db", "e.db-wal"):
        shutil.copyfile(live.parent / name, copy / name)
    made = subprocess.run(["chattr", "+i", str(copy)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"this filesystem has no immutable attribute: {made.stderr}")
    try:
        if copy_fails:
            full = OSError(28, "No space left on device")
            monkeypatch.setattr(_wal.tempfile, "mkdtemp", lambda **_: (_ for _ in ()).throw(full))
            with pytest.raises(evaltrace.ConfigurationError, match="-wal holds transactions"):
                evaltrace.SQLiteQueryAdapter(copy / "e.db").run_results("r")
            runs = CliRunner().invoke(main, ["runs", "--store", str(copy / "e.db")])
            assert runs.exit_code == 1 and "No space left" in runs.output, runs.output
            assert "Traceback" not in runs.output
        else:
            with evaltrace.SQLiteQueryAdapter(copy / "e.db") as reader:
                assert len(reader.run_results("r")) == 500
            runs = CliRunner().invoke(main, ["runs", "--store", str(copy / "e.db")])
            assert runs.exit_code == 0 and " 500 " in runs.output, runs.output
        assert sorted(p.name for p in copy.iterdir()) == ["e.db", "e.db-wal"]
    finally:
        subprocess.run(["chattr", "-i", str(copy)], check=True)


def test_readers_leave_no_wal_or_shm_behind(tmp_path: Path) -> None:
    """Library reads and CLI reads of a closed store: only the database file remains."""
    store = tmp_path / "e.db"
    with Tracker("p", store=store) as tracker:
        tracker.log({"m": 1}, "qa", {"id": 1}, run_id="r")
    before = _digest(store)
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        assert len(reader.run_results("r")) == 1
    for args in (["runs"], ["results", "r"], ["export", "r"]):
        assert CliRunner().invoke(main, [*args, "--store", str(store)]).exit_code == 0
    assert [p.name for p in tmp_path.iterdir()] == ["e.db"]
    assert _digest(store) == before


def test_a_reader_beside_a_live_writer_leaves_the_writers_files(tmp_path: Path) -> None:
    """A reader closing while a tracker still writes removes nothing of the writer's."""
    store = tmp_path / "e.db"
    with Tracker("p", store=store) as tracker:
        tracker.log({"m": 1}, "qa", {"id": 1}, run_id="r")
        with evaltrace.SQLiteQueryAdapter(store) as reader:
            assert len(reader.run_results("r")) == 1
        tracker.log({"m": 2}, "qa", {"id": 2}, run_id="r")
        assert {"e.db-wal", "e.db-shm"} <= {p.name for p in tmp_path.iterdir()}
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        assert len(reader.run_results("r")) == 2
