"""The runs page's trend charts: one line per dataset, each point with its interval."""

from __future__ import annotations

from typing import Any

from evaltrace.ui._runs import RunsQuery, runs_view


def _run(run_id: str, dataset: str, mean: float, started: str) -> dict[str, Any]:
    stats = {"count": 100, "mean": mean, "ci_low": mean - 0.05, "ci_high": mean + 0.05}
    return {
        "run_id": run_id,
        "project_name": "p",
        "dataset_name": dataset,
        "started_at": started,
        "ended_at": started,
        "num_results": 100,
        "metadata": {},
        "metrics": {"qa.score": stats},
    }


def test_each_dataset_is_its_own_line_with_error_bars() -> None:
    """Runs of two datasets, interleaved: a series each, gaps at the other's runs, intervals
    kept; never one line joining a faq score to a chat score."""
    history = [  # newest first, as history returns it
        _run("chat-2", "chat", 0.3, "2026-01-04T00:00:00"),
        _run("faq-2", "faq", 0.9, "2026-01-03T00:00:00"),
        _run("chat-1", "chat", 0.2, "2026-01-02T00:00:00"),
        _run("faq-1", "faq", 0.8, "2026-01-01T00:00:00"),
    ]
    (chart,) = runs_view(history, RunsQuery())["charts"]
    lines = {s["label"]: s for s in chart["series"]}
    assert set(lines) == {"faq (mean)", "chat (mean)"}
    assert lines["faq (mean)"]["values"] == [0.8, None, 0.9, None]
    assert lines["chat (mean)"]["values"] == [None, 0.2, None, 0.3]
    assert lines["faq (mean)"]["low"][0] == 0.8 - 0.05 and lines["faq (mean)"]["high"][1] is None


def test_one_dataset_keeps_one_line_named_for_its_statistic() -> None:
    """A dataset filter (or a single dataset): one series, "mean", as before."""
    history = [_run(f"faq-{i}", "faq", 0.5, f"2026-01-0{i}T00:00:00") for i in (2, 1)]
    (chart,) = runs_view(history, RunsQuery())["charts"]
    assert [s["label"] for s in chart["series"]] == ["mean"]
