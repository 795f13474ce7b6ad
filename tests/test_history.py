"""get_experiment_history: one summary per run, filters, exact statistics."""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy
import pytest

from evaltrace import OpenTelemetryExperimentTracker as Tracker


def assert_same_stats(got: Mapping[str, Any], want: Mapping[str, Any], path: str) -> None:
    """The same keys; floats within 1e-12 relative (merge order), the rest (counts, flags,
    interval names, None) exactly."""
    assert got.keys() == want.keys(), path
    for key, value in want.items():
        if isinstance(value, float):
            assert got[key] == pytest.approx(value, rel=1e-12), (path, key)
        else:
            assert got[key] == value, (path, key)


def test_history_summarises_each_run(tracker: Tracker) -> None:
    """Each run has counts, times, metadata and numeric/boolean metric statistics."""
    scores = [0.1, 0.4, 0.35, 0.8, 0.9, 0.2, 0.65]
    run_a = tracker.log_batch_sync(
        [{"judge": {"score": s, "success": s > 0.5}} for s in scores],
        "qa",
        [{"id": i} for i in range(len(scores))],
        metadata={"model": "a"},
    )
    logged_ns = time.time_ns()
    while time.time_ns() <= logged_ns:  # run_b starts strictly later
        pass
    run_b = tracker.log({"judge": {"score": 1.0}}, "other", {"id": 0}, metadata={"model": "b"})
    history = tracker.get_experiment_history()
    assert [r["run_id"] for r in history] == [run_b, run_a]
    run = history[1]
    assert (
        run["num_results"] == 7
        and run["dataset_name"] == "qa"
        and run["metadata"] == {"model": "a"}
    )
    assert datetime.fromisoformat(run["started_at"]) <= datetime.fromisoformat(run["ended_at"])
    stats = run["metrics"]["judge.score"]
    assert stats["count"] == 7
    assert stats["mean"] == pytest.approx(statistics.fmean(scores))
    assert (stats["min"], stats["max"]) == (0.1, 0.9)
    # p50/p90: few distinct values, so exact: numpy's default (linear) quantile, to the bit
    # (docs/schema.md, "What get_experiment_history returns").
    assert (stats["p50"], stats["p90"]) == tuple(numpy.quantile(scores, [0.5, 0.9]).tolist())
    assert stats["quantiles_exact"] is True
    assert run["metrics"]["judge.success"]["pass_rate"] == pytest.approx(3 / 7)


def test_history_filters(tracker: Tracker, caplog: pytest.LogCaptureFixture) -> None:
    """dataset_name, metadata, since/until and limit filter and cut the runs; an unknown
    filter name is warned about (once), never an error (gllm-evals passes its own)."""
    tracker.log({"m": 1}, "qa", {"q": 1}, run_id="r1", metadata={"model": "a"})
    (first,) = tracker.get_experiment_history()
    middle = datetime.fromisoformat(first["started_at"])
    start_ns = int(middle.timestamp() * 1e9)
    while time.time_ns() <= start_ns + 1_000:  # the next runs start strictly later
        pass
    tracker.log({"m": 1}, "qa", {"q": 1}, run_id="r2", metadata={"model": "b"})
    tracker.log({"m": 1}, "kb", {"q": 1}, run_id="r3", metadata={"model": "b"})
    ids = lambda **kw: [r["run_id"] for r in tracker.get_experiment_history(**kw)]  # noqa: E731
    assert ids(dataset_name="qa") == ["r2", "r1"]
    assert ids(metadata={"model": "b"}) == ["r3", "r2"]
    assert ids(since=middle + timedelta(microseconds=1)) == ["r3", "r2"]
    assert ids(until=middle.isoformat()) == ["r1"]
    assert ids(limit=1) == ["r3"]
    with caplog.at_level(logging.WARNING, logger="evaltrace"):
        assert ids(datasett="qa") == ["r3", "r2", "r1"]
        assert ids(datasett="qa") == ["r3", "r2", "r1"]
    assert [r.getMessage() for r in caplog.records if "datasett" in r.getMessage()] == [
        "evaltrace: get_experiment_history() ignores keyword argument(s) ['datasett'] (said once)"
    ]


def test_history_is_scoped_to_project(store_path: Path) -> None:
    """A tracker lists its own project's runs unless asked for another."""
    with Tracker("a", store=store_path) as a, Tracker("b", store=store_path) as b:
        a.log({"m": 1}, "qa", {"q": 1}, run_id="ra")
        b.log({"m": 1}, "qa", {"q": 1}, run_id="rb")
        b.flush()  # reads see what *this* tracker logged; the other one flushes itself
        assert [r["run_id"] for r in a.get_experiment_history()] == ["ra"]
        assert [r["run_id"] for r in a.get_experiment_history(project_name="b")] == ["rb"]


def test_history_summary_follows_new_results(tracker: Tracker) -> None:
    """A cached run summary is recomputed once the run grows."""
    tracker.log({"m": 1.0}, "qa", {"q": 1}, run_id="r")
    assert tracker.get_experiment_history()[0]["metrics"]["m"]["mean"] == 1.0
    tracker.log({"m": 3.0}, "qa", {"q": 2}, run_id="r")
    (run,) = tracker.get_experiment_history()
    assert run["num_results"] == 2 and run["metrics"]["m"]["mean"] == 2.0


def test_nan_is_counted_apart(tracker: Tracker) -> None:
    """Non-finite scores are excluded from statistics and counted as non_finite."""
    tracker.log_batch_sync(
        [{"m": 1.0}, {"m": float("nan")}, {"m": 3.0}], "qa", [{}, {}, {}], run_id="r"
    )
    stats = tracker.get_experiment_history()[0]["metrics"]["m"]
    assert stats["count"] == 2 and stats["non_finite"] == 1 and stats["mean"] == 2.0


def test_second_process_reads_the_store(store_path: Path) -> None:
    """A new tracker on the same store sees earlier runs (the store is the source of truth)."""
    with Tracker("p", store=store_path) as writer:
        run_id = writer.log({"m": 1}, "qa", {"q": 1})
    with Tracker("p", store=store_path) as reader:
        assert [r["evaluation_result"] for r in reader.get_run_results(run_id)] == [{"m": 1}]
        assert reader.get_experiment_history()[0]["run_id"] == run_id


def test_history_reads_the_same_from_the_store_and_from_spans(store_path: Path) -> None:
    """The store's commit-time aggregates give what decoding every result gives (the path
    Jaeger and Tempo take), across calls, with negatives, zeros, NaN, booleans, huge ints."""
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    import evaltrace

    memory = InMemorySpanExporter()
    values = [0.0, -2.5, 3.0, float("nan"), 10**400, 7, -0.001, 1e-300, 2.0, 2.0]
    with Tracker("p", store=store_path, exporters=[memory]) as tracker:
        for i, v in enumerate(values):
            tracker.log({"m": {"score": v}, "ok": i % 3 == 0}, "qa", {"id": i}, run_id="r")
        tracker.log_batch_sync(
            [{"m": {"score": v / 3}, "ok": True} for v in range(50)],
            "qa",
            [{"id": f"b{v}"} for v in range(50)],
            run_id="r",
        )
        (stored,) = tracker.get_experiment_history()
    (decoded,) = evaltrace.InMemoryQueryAdapter(memory).history(evaltrace.HistoryFilter())
    assert stored["num_results"] == decoded["num_results"] == 60
    assert stored["metrics"].keys() == decoded["metrics"].keys() == {"m.score", "ok"}
    for path, stats in decoded["metrics"].items():
        assert_same_stats(stored["metrics"][path], stats, path)
    assert stored["metrics"]["m.score"]["non_finite"] == 1


def test_history_does_not_read_results(store_path: Path) -> None:
    """On the store, a run's summary comes from its aggregates: with the results themselves
    gone (deleted behind evaltrace's back), history still has every statistic."""
    import sqlite3

    with Tracker("p", store=store_path) as tracker:
        tracker.log_batch_sync(
            [{"f1": i / 10} for i in range(11)], "qa", [{"id": i} for i in range(11)], run_id="r"
        )
        (before,) = tracker.get_experiment_history()
    with sqlite3.connect(store_path) as conn:
        conn.execute("DELETE FROM results")
    conn.close()
    with Tracker("p", store=store_path) as tracker:
        (after,) = tracker.get_experiment_history()
    assert after["metrics"] == before["metrics"] and after["metrics"]["f1"]["max"] == 1.0


def test_folding_the_aggregates_changes_no_number(store_path: Path) -> None:
    """Per-call aggregates folded into one row per run (every few hundred commits and at close)
    read exactly as they did unfolded, and the folded store keeps one row per run."""
    import sqlite3

    tracker = Tracker("p", store=store_path)
    for i in range(300):  # past one folding
        tracker.log({"f1": (i % 17) / 16, "ok": i % 3 == 0}, "qa", {"id": i}, run_id="r")
    (live,) = tracker.get_experiment_history()
    tracker.close()
    with sqlite3.connect(store_path) as conn:
        counts = list(
            conn.execute(
                "SELECT count(*), max(folded_upto) = (SELECT max(id) FROM results) FROM run_metrics"
            ).fetchone()
        )
    conn.close()
    with Tracker("p", store=store_path) as reader:
        (folded,) = reader.get_experiment_history()
    assert counts == [1, 1]  # one row for the run, folded up to its last result
    assert folded["metrics"].keys() == live["metrics"].keys()
    for path, stats in live["metrics"].items():
        assert_same_stats(folded["metrics"][path], stats, path)
    assert folded["metrics"]["f1"]["count"] == 300 and folded["metrics"]["ok"]["pass_count"] == 100


@pytest.mark.parametrize("value", [1.7976931348623157e308, -1.7976931348623157e308, 1e308])
def test_scores_at_the_end_of_the_double_range_read_back_exactly(
    tracker: Tracker, value: float
) -> None:
    """A score next to the largest double (its sketch bucket's value overflows) is still
    history's exact min, max and percentiles, never an error."""
    run_id = tracker.log({"m": value}, "qa", {"id": 1})
    tracker.log({"m": value}, "qa", {"id": 2}, run_id=run_id)
    (row,) = [r for r in tracker.get_experiment_history() if r["run_id"] == run_id]
    stats = row["metrics"]["m"]
    assert (stats["min"], stats["max"], stats["p50"], stats["p90"]) == (value,) * 4


def test_history_quantiles_and_intervals_through_the_store(tracker: Tracker) -> None:
    """The issue's instances through a store: a 0/1 score with 90 % ones has p50 exactly 1.0;
    p90 of {0.2, 0.9, 1.0} is numpy's 0.98; the mean carries scipy's t interval and the pass
    rate its Wilson interval."""
    import scipy.stats

    rows = [{"b": float(i % 10 != 0), "ok": i % 4 != 0} for i in range(300)]
    tracker.log_batch_sync(rows, "qa", [{"id": i} for i in range(300)], run_id="r")
    tracker.log_batch_sync([{"t": t} for t in (0.2, 0.9, 1.0)], "qa", [{}] * 3, run_id="s")
    (small, run) = tracker.get_experiment_history()
    binary, ok, three = run["metrics"]["b"], run["metrics"]["ok"], small["metrics"]["t"]
    assert (binary["p50"], binary["quantiles_exact"]) == (1.0, True)
    assert three["p90"] == 0.98
    values = [r["b"] for r in rows]
    sem = scipy.stats.sem(values)
    ci = scipy.stats.t.interval(0.95, 299, loc=numpy.mean(values), scale=sem)
    assert binary["se"] == pytest.approx(sem, rel=1e-9)
    assert (binary["ci_low"], binary["ci_high"]) == pytest.approx(ci, rel=1e-9)
    wilson = scipy.stats.binomtest(225, 300).proportion_ci(method="wilson")
    assert (ok["pass_ci_low"], ok["pass_ci_high"]) == pytest.approx((wilson.low, wilson.high))


def test_a_store_folded_before_intervals_gets_them_once_a_writer_opens_it(
    store_path: Path,
) -> None:
    """A run_metrics row written by an older evaltrace (9-field entries, no refold mark) reads
    through a reader with exact counts and null se; the first writer on the store refolds it
    from its results once (same count), so its interval is scipy's, also after more results."""
    import sqlite3

    import scipy.stats

    from evaltrace import SQLiteQueryAdapter

    values = [i / 10 for i in range(20)]
    with Tracker("p", store=store_path) as tracker:
        tracker.log_batch_sync([{"m": v} for v in values], "qa", [{}] * 20, run_id="r")
    with sqlite3.connect(store_path) as conn:
        (text,) = conn.execute("SELECT aggregates FROM run_metrics").fetchone()
        old = [entry[:9] for entry in json.loads(text)]
        conn.execute("UPDATE run_metrics SET aggregates = ?", (json.dumps(old),))
        conn.execute("DELETE FROM evaltrace_meta WHERE key = 'aggregates_with_spread'")
    conn.close()
    with Tracker("p", store=False, query=SQLiteQueryAdapter(store_path)) as reader:
        (before,) = reader.get_experiment_history()
    assert before["metrics"]["m"]["count"] == 20 and before["metrics"]["m"]["se"] is None
    with Tracker("p", store=store_path) as tracker:
        (refolded,) = tracker.get_experiment_history()
        tracker.log_batch_sync([{"m": 0.5}] * 5, "qa", [{}] * 5, run_id="r")
    with Tracker("p", store=store_path) as tracker:
        (after,) = tracker.get_experiment_history()
    assert (refolded["metrics"]["m"]["count"], after["metrics"]["m"]["count"]) == (20, 25)
    assert refolded["metrics"]["m"]["se"] == pytest.approx(scipy.stats.sem(values), rel=1e-9)
    assert after["metrics"]["m"]["se"] == pytest.approx(
        scipy.stats.sem(values + [0.5] * 5), rel=1e-9
    )
    assert after["metrics"]["m"]["quantiles_exact"] is True
