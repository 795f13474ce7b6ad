"""The ``/`` view: run summaries (from ``history``) filtered, tabled and charted per metric.

Pure: history rows and the query parameters in, a view-model out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..query import HistoryFilter
from ._links import href, run_path
from ._metrics import INTERVAL_NOTE, fmt, fmt_rate, interval, main_metrics, plus_minus, short_name

__all__ = ["RunsQuery", "runs_view"]

MAIN_METRICS = 5
"""Metric columns of the runs table; the run page has them all."""

TREND_METRICS = 6
"""Trend charts on the runs page."""


@dataclass(frozen=True, slots=True)
class RunsQuery:
    """The runs page's state, as it appears in its URL."""

    project: str = ""
    dataset: str = ""
    since: str = ""
    until: str = ""
    meta: tuple[str, ...] = field(default=())
    """``key=value`` pairs a run's metadata must hold (values compared as text)."""

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> RunsQuery:
        """From parsed query parameters (each name to its list of values)."""

        def one(name: str) -> str:
            return (params.get(name) or [""])[0].strip()

        meta = tuple(m.strip() for m in params.get("meta", []) if "=" in m)
        return cls(one("project"), one("dataset"), one("since"), one("until"), meta)

    def params(self) -> dict[str, Any]:
        """Back to query parameters, for links that keep this state."""
        return {
            "project": self.project,
            "dataset": self.dataset,
            "since": self.since,
            "until": self.until,
            "meta": list(self.meta),
        }

    def history_filter(self) -> HistoryFilter:
        """What the adapter filters on; dataset and metadata are matched in the view, so the
        dataset menu still lists every dataset and ``seed=0`` matches an integer 0."""
        return HistoryFilter.from_kwargs(
            None,
            {
                "project_name": self.project or None,
                "since": self.since or None,
                # A date alone means that whole day.
                "until": (self.until + "T23:59:59.999999" if len(self.until) == 10 else self.until)
                or None,
            },
        )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _meta_matches(metadata: Any, pairs: Sequence[str]) -> bool:
    meta = metadata if isinstance(metadata, Mapping) else {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if key not in meta or _text(meta[key]) != value:
            return False
    return True


def _headline(stats: Mapping[str, Any]) -> float | None:
    value = stats.get("mean", stats.get("pass_rate"))
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _cell(stats: Mapping[str, Any] | None) -> str:
    if not stats:
        return "–"
    low, high = interval(stats)
    if "mean" not in stats and "pass_rate" in stats:
        return fmt_rate(stats["pass_rate"]) + plus_minus(stats["pass_rate"], low, high, rate=True)
    headline = _headline(stats)
    return fmt(headline) + plus_minus(headline, low, high)


def _stats_of(runs: Sequence[Mapping[str, Any]], metric: str) -> Mapping[str, Any]:
    """The first summary of ``metric`` among ``runs`` (to name its kind)."""
    return next((r["metrics"][metric] for r in runs if metric in r["metrics"]), {})


TREND_DATASETS = 4
"""Datasets drawn as lines of one trend chart (one colour each); filter by dataset for others."""


def _trend_series(
    oldest_first: Sequence[Mapping[str, Any]], metric: str, runs: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """One line per dataset (a run's score is never joined to another dataset's), each point
    with its 95 % interval as an error bar; points of other datasets' runs are gaps."""
    kind = "mean" if "mean" in _stats_of(runs, metric) else "pass rate"
    datasets = list(dict.fromkeys(str(r["dataset_name"]) for r in reversed(oldest_first)))
    series = []
    for dataset in datasets[:TREND_DATASETS]:
        stats = [
            r["metrics"].get(metric, {}) if str(r["dataset_name"]) == dataset else {}
            for r in oldest_first
        ]
        if not any(s for s in stats):
            continue
        series.append(
            {
                "label": kind if len(datasets) == 1 else f"{dataset} ({kind})",
                "values": [_headline(s) if s else None for s in stats],
                "low": [interval(s)[0] for s in stats],
                "high": [interval(s)[1] for s in stats],
            }
        )
    return series


def runs_view(history: Sequence[Mapping[str, Any]], query: RunsQuery) -> dict[str, Any]:
    """Runs table (newest first), filter menus and one trend chart per main metric."""
    datasets = sorted({str(r["dataset_name"]) for r in history})
    projects = sorted({str(r["project_name"]) for r in history})
    runs = [
        r
        for r in history
        if (not query.dataset or r["dataset_name"] == query.dataset)
        and _meta_matches(r.get("metadata"), query.meta)
    ]
    metrics = main_metrics((p for r in runs for p in r["metrics"]), MAIN_METRICS)
    rows = [
        {
            "run_id": r["run_id"],
            "href": run_path(str(r["run_id"])),
            "project": r["project_name"],
            "dataset": r["dataset_name"],
            "started": str(r["started_at"])[:19].replace("T", " "),
            "n": fmt(r["num_results"]),
            "metadata": ", ".join(f"{k}={_text(v)}" for k, v in (r.get("metadata") or {}).items()),
            "cells": [_cell(r["metrics"].get(m)) for m in metrics],
            "index": len(runs) - i,
        }
        for i, r in enumerate(runs)
    ]
    oldest_first = list(reversed(runs))
    trends = [
        {
            "id": f"trend-{i}",
            "title": metric,
            "type": "line",
            "x": list(range(len(oldest_first))),
            # Run numbers (as in the table) on the axis, never overlapping; the run and its
            # start in the tooltip.
            "xlabels": [f"#{k + 1}" for k in range(len(oldest_first))],
            "names": [
                f"{r['run_id']} · {str(r['started_at'])[:16].replace('T', ' ')}"
                for r in oldest_first
            ],
            "series": _trend_series(oldest_first, metric, runs),
        }
        for i, metric in enumerate(metrics[:TREND_METRICS])
    ]
    # The newest run against the previous run of its own project and dataset, never across.
    newest = runs[0] if runs else None
    previous = next(
        (
            r
            for r in runs[1:]
            if newest is not None
            and (r["project_name"], r["dataset_name"])
            == (newest["project_name"], newest["dataset_name"])
        ),
        None,
    )
    compare = (
        href("/compare", {}, a=previous["run_id"], b=newest["run_id"])
        if newest is not None and previous is not None
        else None
    )
    return {
        "query": query.params(),
        "datasets": datasets,
        "projects": projects,
        "metrics": metrics,
        "headers": [short_name(m, metrics) for m in metrics],
        "runs": rows,
        "total": len(history),
        "charts": trends,
        "interval_note": INTERVAL_NOTE,
        "compare_latest": compare,
    }
