"""The embedded store's promises: private files, read-only reads, foreign files left alone."""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import evaltrace
from evaltrace import OpenTelemetryExperimentTracker as Tracker
from evaltrace.cli import main

from .support.old_stores import as_version_2_layout


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture
def immutable_store(tmp_path: Path) -> Iterator[Path]:
    """A store on a medium that refuses every write, even root's: chattr +i on the file and
    on its folder (ext4's immutable attribute)."""
    folder = tmp_path / "ro"
    store = folder / "e.db"
    with Tracker("p", store=store) as tracker:
        tracker.log_batch_sync(
            [{"m": i} for i in range(5)], "qa", [{"id": i} for i in range(5)], run_id="r"
        )
    if shutil.which("chattr") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("chattr is required under CI=true (e2fsprogs)")
        pytest.skip("chattr is not installed")
    files = [str(p) for p in folder.iterdir()]
    made = subprocess.run(["chattr", "+i", *files, str(folder)], capture_output=True, text=True)
    if made.returncode != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"chattr +i failed under CI=true: {made.stderr}")
        pytest.skip(f"this filesystem has no immutable attribute: {made.stderr}")
    try:
        yield store
    finally:
        subprocess.run(["chattr", "-i", *files, str(folder)], check=True)


def test_an_immutable_store_is_fully_readable(immutable_store: Path) -> None:
    """Library and every CLI read command work on it, and nothing in its folder changes."""
    before = _digest(immutable_store.parent)
    assert list(before) == ["e.db"]  # the writer's close checkpointed and removed its WAL
    with pytest.raises(PermissionError):
        immutable_store.write_bytes(b"")  # truly read-only, even for root
    on_it = Tracker("p", store=immutable_store)  # it reads; its first write says why not
    with pytest.raises(evaltrace.StoreWriteError, match="read-only"):
        on_it.log({"m": 1}, "qa", {"id": 1})
    on_it.close()
    with Tracker("p", query=evaltrace.SQLiteQueryAdapter(immutable_store)) as reader:
        assert len(reader.get_run_results("r")) == 5
        assert [r["num_results"] for r in reader.get_experiment_history()] == [5]
    runner = CliRunner()
    for args in (["runs"], ["results", "r"], ["export", "r"], ["compare", "r", "r"]):
        done = runner.invoke(main, [*args, "--store", str(immutable_store)])
        assert done.exit_code == 0, (args, done.output)
    assert _digest(immutable_store.parent) == before


def test_reading_never_writes_a_byte(tmp_path: Path) -> None:
    """Reads leave the database as they found it (no cache written back, no migration)."""
    store = tmp_path / "e.db"
    with Tracker("p", store=store) as tracker:
        tracker.log({"m": 1}, "qa", {"id": 1}, run_id="r")
    before = _digest(tmp_path)
    with evaltrace.SQLiteQueryAdapter(store) as reader:
        assert len(reader.run_results("r")) == 1
        reader.history(evaltrace.HistoryFilter())
    assert CliRunner().invoke(main, ["runs", "--store", str(store)]).exit_code == 0
    after = _digest(tmp_path)
    # SQLite's own coordination files may appear (an empty -wal, the -shm index readers
    # share); the database itself is byte for byte what it was.
    assert after.pop("e.db") == before.pop("e.db") and before == {}
    assert set(after) <= {"e.db-wal", "e.db-shm"}
    wal = tmp_path / "e.db-wal"
    assert not wal.exists() or wal.stat().st_size == 0


def test_a_foreign_sqlite_file_is_refused_and_left_untouched(tmp_path: Path) -> None:
    """Somebody else's database: a clear error, no table added, no WAL switched on."""
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
        conn.execute("INSERT INTO invoices (total) VALUES (9.5)")
    conn.close()
    before = _digest(tmp_path)
    with pytest.raises(evaltrace.StoreFormatError, match="not an evaltrace store"):
        Tracker("p", store=other)
    with pytest.raises(evaltrace.StoreFormatError, match="not an evaltrace store"):
        evaltrace.SQLiteQueryAdapter(other)
    done = CliRunner().invoke(main, ["runs", "--store", str(other)])
    assert done.exit_code == 1 and "not an evaltrace store" in done.output
    assert _digest(tmp_path) == before


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    """A text file at the store path is an error naming it, and stays as it was."""
    text = tmp_path / "notes.db"
    text.write_text("not a database at all, but a perfectly good note\n" * 10)
    before = text.read_bytes()
    with pytest.raises(evaltrace.StoreFormatError, match=r"notes\.db"):
        Tracker("p", store=text)
    assert text.read_bytes() == before


@pytest.mark.parametrize("word", ["false", "0", "none", "No"])
def test_store_variable_words_that_look_like_off_are_refused(
    word: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EVALTRACE_STORE=false does not create a file named "false"."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVALTRACE_STORE", word)
    with pytest.raises(evaltrace.ConfigurationError, match="write 'off'"):
        Tracker("p")
    assert list(tmp_path.iterdir()) == []


def test_off_turns_the_store_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EVALTRACE_STORE=off (spans to an exporter): no file anywhere, and reading says why."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVALTRACE_STORE", "off")
    with Tracker("p", exporters=[InMemorySpanExporter()]) as tracker:
        tracker.log({"m": 1}, "qa", {"id": 1})
        with pytest.raises(evaltrace.ConfigurationError, match="no query adapter"):
            tracker.get_run_results("r")
    assert list(tmp_path.iterdir()) == []


def test_home_is_expanded_in_store_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``~/runs.db`` is under the home folder, not a folder named "~"."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    with Tracker("p", store="~/evals/runs.db") as tracker:
        tracker.log({"m": 1}, "qa", {"id": 1})
    assert (tmp_path / "evals" / "runs.db").is_file() and not (tmp_path / "~").exists()


def test_a_span_id_already_stored_is_never_overwritten(store_path: Path) -> None:
    """Rows are only ever inserted: a span id committed again (a re-exported span, or other
    content under the same id) never replaces the first, and a run reads it once."""
    from evaltrace.store import CallRecord, ResultRow, StoreWriter

    writer = StoreWriter(str(store_path))
    call = CallRecord("r", "p", "qa", "{}", "{}", None, None, None, "{}")
    row = ResultRow(1, 2, None, 10, 11, 1, None, "s", '{"m":1}', "{}", None, '[["m",1]]')
    writer.commit(call, [row], [], forward=False)
    other = ResultRow(1, 2, None, 10, 11, 2, None, "s", '{"m":2}', "{}", None, '[["m",2]]')
    fresh = ResultRow(1, 3, None, 12, 13, 3, None, "t", '{"m":3}', "{}", None, '[["m",3]]')
    writer.commit(call, [fresh, other], [], forward=False)
    writer.close()
    rows = evaltrace.SQLiteQueryAdapter(store_path).run_results("r")
    assert [r["evaluation_result"] for r in rows] == [{"m": 1}, {"m": 3}]


def test_log_calls_alike_share_one_calls_row(store_path: Path) -> None:
    """Consecutive log() calls with the same run, metadata and context share a calls row;
    any difference gets its own, and every result reads back with its own call's values."""
    with Tracker("p", store=store_path) as tracker:
        for i in range(3):
            tracker.log({"m": i}, "qa", {"id": i}, run_id="r")
        tracker.log({"m": 3}, "qa", {"id": 3}, run_id="r", metadata={"k": 1})
        tracker.log({"m": 4}, "qa", {"id": 4}, run_id="r")
        rows = tracker.get_run_results("r")
    assert [r["metadata"] for r in rows] == [{}, {}, {}, {"k": 1}, {}]
    with sqlite3.connect(store_path) as conn:
        calls = [c for (c,) in conn.execute("SELECT call_id FROM results ORDER BY id")]
        (count,) = conn.execute("SELECT num_results FROM runs WHERE run_id = 'r'").fetchone()
    assert calls[0] == calls[1] == calls[2] != calls[3] != calls[4]
    assert count == 5


def test_a_call_that_starts_earlier_moves_the_runs_start(store_path: Path) -> None:
    """The run's started/ended times span every call's results, whatever order they commit in."""
    from evaltrace.store import CallRecord, ResultRow, StoreReader, StoreWriter

    store_path.parent.mkdir(parents=True, exist_ok=True)
    writer = StoreWriter(str(store_path))
    call = CallRecord("r", "p", "qa", "{}", "{}", None, None, None, "{}")
    for span_id, start in ((1, 200), (2, 100), (3, 150)):
        row = ResultRow(
            span_id,
            span_id,
            None,
            start,
            start + 1,
            span_id,
            None,
            "s",
            "1",
            "{}",
            None,
            '[["value",1]]',
        )
        writer.commit(call, [row], [], forward=False)
    reader = StoreReader(str(store_path))
    assert [r[3:6] for r in reader.runs()] == [(100, 200, 3)]  # not folded yet: read from rows
    writer.close()
    assert [r[3:6] for r in reader.runs()] == [(100, 200, 3)]  # folded at close
    reader.close()
    with sqlite3.connect(store_path) as conn:
        times = conn.execute("SELECT started_ns, ended_ns, num_results FROM runs").fetchall()
    assert times == [(100, 200, 3)]


def _as_version_2(store_path: Path, folded: int, total: int) -> None:
    """Turn a store written by this evaltrace into what version 2 left on disk: the run's row
    counting every result, ``folded_upto`` behind after the first ``folded`` results."""
    from evaltrace._codec import dumps, loads
    from evaltrace.schema._aggregate import aggregate_lists, encode_aggregates

    conn = sqlite3.connect(store_path, isolation_level=None)
    with conn:
        rows = conn.execute("SELECT id, scores FROM results ORDER BY id").fetchall()
        assert len(rows) == total
        aggregates = aggregate_lists(loads(scores) for _, scores in rows[:folded])
        conn.execute("UPDATE runs SET num_results = ?", (total,))
        conn.execute(
            "UPDATE run_metrics SET folded_upto = ?, aggregates = ?",
            (rows[folded - 1][0], dumps(encode_aggregates(aggregates), "aggregates", None)),
        )
    conn.close()
    as_version_2_layout(store_path)


def test_a_version_2_store_reads_and_upgrades_without_losing_a_count(store_path: Path) -> None:
    """A v2 store (from the previous release) is read as v2 (read-only, untouched), and the
    first writer upgrades it: counts and metrics stay those of every result."""
    from evaltrace.store import StoreReader

    with Tracker("p", store=store_path) as tracker:
        tracker.log_batch_sync(
            [{"m": i} for i in range(5)], "qa", [{"i": i} for i in range(5)], run_id="r"
        )
    with Tracker("p", store=store_path) as tracker:  # folded at close: a v3 row of 8
        tracker.log_batch_sync(
            [{"m": 10 + i} for i in range(3)], "qa", [{"i": i} for i in range(3)], run_id="r"
        )
    _as_version_2(store_path, folded=5, total=8)
    before = _digest(store_path.parent)[store_path.name]
    reader = evaltrace.SQLiteQueryAdapter(store_path)
    (run,) = reader.history(evaltrace.HistoryFilter())
    assert run["num_results"] == 8
    assert run["metrics"]["m"]["mean"] == pytest.approx((0 + 1 + 2 + 3 + 4 + 10 + 11 + 12) / 8)
    reader.close()
    assert _digest(store_path.parent)[store_path.name] == before  # reading wrote nothing
    with Tracker("p", store=store_path):
        pass
    upgraded = StoreReader(str(store_path))
    assert upgraded.version == 6
    assert [r[5] for r in upgraded.runs()] == [8]
    (run,) = evaltrace.SQLiteQueryAdapter(store_path).history(evaltrace.HistoryFilter())
    assert run["num_results"] == 8 and run["metrics"]["m"]["mean"] == pytest.approx(43 / 8)
    with sqlite3.connect(store_path) as conn:
        (upto,) = conn.execute("SELECT folded_upto FROM run_metrics").fetchone()
        (last,) = conn.execute("SELECT max(id) FROM results").fetchone()
    assert upto == last
    with sqlite3.connect(store_path) as conn:
        indexes = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        columns = {row[1] for row in conn.execute("PRAGMA table_info(outbox)")}
    assert "results_by_span" not in indexes and {"first_result", "last_result"} <= columns
    assert "results_by_run" not in indexes and "run_segments" in indexes


def test_the_wal_is_checkpointed_off_the_log_path_and_stays_bounded(store_path: Path) -> None:
    """The checkpoint thread copies the WAL into the database while the tracker still logs,
    and the WAL restarts (its frames stay under the backstop) however long the run."""
    from evaltrace.store._checkpoint import BACKSTOP, FRAMES

    from .support.wait import wait_for

    wal = store_path.with_name(store_path.name + "-wal")
    frames: list[int] = []
    with Tracker("p", store=store_path) as tracker:
        start = store_path.stat().st_size if store_path.exists() else 0
        i = 0
        # ~4 frames a log() commit: enough for several checkpoints and one restart.
        while i < 3 * BACKSTOP // 4:
            tracker.log({"m": i, "text": "x" * 600}, "qa", {"id": i}, run_id="r")
            i += 1
            if i % 500 == 0:
                frames.append(wal.stat().st_size // 4120)
        wait_for(
            lambda: store_path.stat().st_size > start + FRAMES * 4096 // 2,
            what="the checkpoint thread copied pages into the database",
        )
        assert max(frames) <= BACKSTOP + 100
        assert any(b < a for a, b in itertools.pairwise(frames)), frames  # WAL restarted
    assert len(evaltrace.SQLiteQueryAdapter(store_path).run_results("r")) == i
