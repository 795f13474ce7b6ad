"""Score columns: what compare reads instead of every result, the same from every path."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from evaltrace import OpenTelemetryExperimentTracker
from evaltrace._compare import Changes, compare_runs, compare_scores
from evaltrace._provenance_diff import diff_fingerprints
from evaltrace.query import HistoryFilter, QueryAdapter, ResultRecord, RunScores, SQLiteQueryAdapter
from evaltrace.schema._columns import from_results
from evaltrace.store import _score_columns


class _Listed(QueryAdapter):
    """An adapter over result dicts: its ``run_scores`` is the interface's default."""

    def __init__(self, results: list[ResultRecord]) -> None:
        self.results = results

    def run_results(self, run_id: str) -> list[ResultRecord]:
        return [r for r in self.results if r["run_id"] == run_id]

    def project_results(self, filters: HistoryFilter) -> list[ResultRecord]:
        return self.results


def _rows(n: int, seed: int, shift: float = 0.0) -> tuple[list[Any], list[Any]]:
    rng = np.random.default_rng(seed)
    results = [
        {
            "qa": {"score": float(rng.random()) + shift, "higher_is_better": False, "k": 3},
            "ok": {"success": bool(rng.random() < 0.6)},
            "hits": int(rng.integers(5)),
            **({"late": float("nan") if i % 7 == 0 else 0.5} if i > n // 2 else {}),
        }
        for i in range(n)
    ]
    data = [{"id": f"s{i % (n - 40)}", "question": f"q{i}"} for i in range(n)]
    return results, data


def _same(a: RunScores, b: RunScores) -> None:
    assert a.sample_ids == b.sample_ids
    assert a.columns.keys() == b.columns.keys()
    for path, column in a.columns.items():
        other = b.columns[path]
        assert np.array_equal(column.values, other.values, equal_nan=True), path
        assert np.array_equal(column.present, other.present), path
        assert (column.kind, column.direction) == (other.kind, other.direction), path


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Two interleaved runs, logged as batches and single calls, in blocks of 64."""
    monkeypatch.setattr(_score_columns, "BLOCK", 64)
    path = str(tmp_path / "s.db")
    with OpenTelemetryExperimentTracker("p", store=path) as tracker:
        for run, seed, shift in (("a", 1, 0.0), ("b", 2, 0.05)):
            results, data = _rows(300, seed, shift)
            tracker.log_batch_sync(results[:200], "ds", data[:200], run_id=run)
            for result, row in zip(results[200:], data[200:], strict=True):
                tracker.log(result, "ds", row, run_id=run)
    return path


def test_the_store_columns_are_the_results_scores(store: str) -> None:
    """``run_scores`` from the store's blocks and the rows past them equals the columns built
    from ``get_run_results``: values, presence, NaN, kinds and declared directions."""
    with SQLiteQueryAdapter(store) as reader:
        (blocks,) = sqlite3.connect(store).execute("SELECT count(*) FROM score_columns").fetchone()
        assert blocks >= 8  # 2 runs x 300 rows in blocks of 64, the rest read from results
        for run in ("a", "b"):
            stored = reader.run_scores(run)
            _same(stored, from_results(reader.run_results(run)))
            assert stored.columns["qa.score"].direction == "lower"
            assert stored.columns["ok.success"].kind == "b"
            assert stored.columns["hits"].kind == "i"
        assert list(reader.run_scores("a", metrics=["qa.*"]).columns) == ["qa.score"]
        assert len(reader.run_scores("nope")) == 0


def test_a_store_without_the_table_reads_from_results(store: str) -> None:
    """A store written before the columns existed reads the same (from ``results.scores``)."""
    with SQLiteQueryAdapter(store) as reader:
        expected = reader.run_scores("a")
    conn = sqlite3.connect(store)
    conn.execute("DROP TABLE score_columns")
    conn.commit()
    conn.close()
    with SQLiteQueryAdapter(store) as reader:
        _same(reader.run_scores("a"), expected)


def test_compare_from_columns_is_compare_from_results(store: str) -> None:
    """One compare: from the store's columns, from an adapter's default and from result
    dicts, the same ``Comparison`` (every statistic, every per-sample move, in order, and
    the dataset difference from the kept fingerprints)."""
    with SQLiteQueryAdapter(store) as reader:
        results_a, results_b = reader.run_results("a"), reader.run_results("b")
        kept = diff_fingerprints(reader.sample_fingerprints("a"), reader.sample_fingerprints("b"))
        columns = compare_scores(reader.run_scores("a"), reader.run_scores("b"), dataset=kept)
    memory = _Listed(results_a + results_b)
    default = compare_scores(
        memory.run_scores("a"),
        memory.run_scores("b"),
        dataset=diff_fingerprints(memory.sample_fingerprints("a"), memory.sample_fingerprints("b")),
    )
    dicts = compare_runs(results_a, results_b)
    assert columns.to_dict() == dicts.to_dict() == default.to_dict()
    assert isinstance(columns.changes, Changes) and len(columns.changes) > 0
    assert columns.changes == list(dicts.changes)
    assert columns.changes[0].gain <= columns.changes[-1].gain
    assert columns.changes.worse() == sum(ch.gain < 0 for ch in dicts.changes)


def test_a_sample_and_a_page_are_found_by_rowid(store: str) -> None:
    """``sample_results``, ``results_at`` and ``run_stats`` from the store equal the
    interface's defaults over the run read whole."""
    with SQLiteQueryAdapter(store) as reader:
        results = reader.run_results("a")
        listed = _Listed(results)
        scores = reader.run_scores("a")
        assert scores.row_ids is not None and len(scores.row_ids) == len(results)
        for sample in (["s3"], ["s250", "s0", "nope"], []):
            assert reader.sample_results("a", sample) == listed.sample_results("a", sample)
        positions = [299, 0, 150, 64, 63]
        assert reader.results_at("a", positions, scores) == listed.results_at("a", positions)
        assert reader.results_at("a", positions) == [results[i] for i in positions]
        assert reader.run_stats("a") == listed.run_stats("a")


def test_a_run_without_columns_is_backfilled_when_next_folded(store: str) -> None:
    """A run logged before the columns existed gets its blocks once a writer folds it."""
    conn = sqlite3.connect(store)
    conn.execute("DROP TABLE score_columns")
    conn.commit()
    conn.close()
    with OpenTelemetryExperimentTracker("p", store=store) as tracker:
        tracker.log({"qa": {"score": 0.5}}, "ds", {"id": "late"}, run_id="a")
    conn = sqlite3.connect(store)
    blocks = conn.execute("SELECT run_id, count(*) FROM score_columns GROUP BY run_id").fetchall()
    conn.close()
    assert blocks == [("a", 301 // 64)]  # every full block of the run, the untouched run none
    with SQLiteQueryAdapter(store) as reader:
        _same(reader.run_scores("a"), from_results(reader.run_results("a")))
