"""A large run's page from its score columns is the page read whole would show."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaltrace import OpenTelemetryExperimentTracker
from evaltrace._config import TraceLinks
from evaltrace.query import SQLiteQueryAdapter
from evaltrace.ui import Source
from evaltrace.ui._run import RunQuery, SampleTable, run_view
from evaltrace.ui._run_columns import ColumnTable

LINKS = TraceLinks(None, None)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """120 results: repeated samples, a NaN, a metric on some rows only, a pass boolean and
    a config leaf beside each score."""
    path = tmp_path / "s.db"
    results, data = [], []
    for i in range(120):
        result: dict[str, object] = {
            "qa": {"score": float("nan") if i == 7 else (i * 37 % 101) / 100, "threshold": 0.5},
            "ok": {"success": i % 3 == 0},
        }
        if i % 4 == 0:
            result["extra"] = {"score": i % 5}
        results.append(result)
        data.append({"id": f"s{i % 90:03d}", "question": f"question {i}"})
    with OpenTelemetryExperimentTracker("p", store=path) as tracker:
        tracker.log_batch_sync(results[:60], "qa", data[:60], run_id="r")
        for result, row in zip(results[60:], data[60:], strict=True):
            tracker.log(result, "qa", row, run_id="r")
    return path


QUERIES = [
    RunQuery(),
    RunQuery(page=2, per=25),
    RunQuery(sort="qa.score"),
    RunQuery(sort="qa.score", desc=True, page=3, per=25),
    RunQuery(sort="sample_id", desc=True),
    RunQuery(sort="sample_id"),
    RunQuery(sort="extra.score", desc=True),
    RunQuery(where="qa.score<0.5,ok.success=true"),
    RunQuery(where="extra.score>=2", sort="qa.score"),
    RunQuery(q="S01"),
    RunQuery(q="question 11", sort="qa.score"),
    RunQuery(q="QUESTION"),
    RunQuery(q='"s0'),
    RunQuery(where="qa.scor<0.5"),
]


@pytest.mark.parametrize("query", QUERIES, ids=repr)
def test_the_column_page_is_the_whole_page(store: Path, query: RunQuery) -> None:
    """Rows (ids, cells, positions), counts, pages, statistics and histograms agree."""
    with SQLiteQueryAdapter(store) as reader:
        whole = run_view(SampleTable.build(reader.run_results("r")), query, LINKS, "/runs/r")
        source = Source(reader, "store", columnar_from=1)
        table = source.table("r")
        assert isinstance(table, ColumnTable)
        columns = run_view(table, query, LINKS, "/runs/r")
    for key in ("total", "matched", "page", "pages", "first", "last", "metrics"):
        assert columns[key] == whole[key], key
    # the same message; config leaves (qa.threshold) are no column to filter by at scale
    assert (columns["error"] or "").split(" known:")[0] == (whole["error"] or "").split(" known:")[
        0
    ]
    assert columns["rows"] == whole["rows"]
    assert columns["charts"] == whole["charts"]
    assert columns["run"] == whole["run"]


def test_a_small_run_is_read_whole(store: Path) -> None:
    """Below ``columnar_from`` the page is the cached whole read (every search works)."""
    with SQLiteQueryAdapter(store) as reader:
        assert isinstance(Source(reader, "store").table("r"), SampleTable)
        assert Source(reader, "store", columnar_from=1).table("missing") is None
