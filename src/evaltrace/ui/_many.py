"""The ``/compare?runs=a,b,c`` view: three or more runs side by side.

A leaderboard (runs × main metrics, each a mean or pass rate with its 95 % interval from
``_stats``) and a sample × run matrix of one metric, paged on the server. "Best" is said only
where the leader's interval clears the runner-up's; otherwise the leaders are "tied".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .._stats import Estimate, mean_estimate, pass_rate_estimate
from ..schema._encode import metric_leaves
from ..schema._scores import matches_any, score_paths
from ._links import href, run_path
from ._metrics import fmt, fmt_rate, main_metrics, short_name
from ._sample import sample_label

__all__ = ["ManyQuery", "RunSamples", "cell", "many_view", "run_samples"]

LEADERBOARD_METRICS = 8
"""Metric columns of the leaderboard (scores first, never configuration)."""
PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class RunSamples:
    """One run flattened for the matrix: each sample's leaves and label, first result wins."""

    run_id: str
    project: str
    dataset: str
    leaves: Mapping[str, Mapping[str, float | bool]]
    labels: Mapping[str, str]
    lower: frozenset[str] = frozenset()
    """Score paths whose node says ``higher_is_better: false``."""


def run_samples(run_id: str, results: Sequence[Mapping[str, Any]]) -> RunSamples:
    """From ``run_results`` of ``run_id`` (logging order)."""
    leaves: dict[str, Mapping[str, float | bool]] = {}
    labels: dict[str, str] = {}
    lower: set[str] = set()
    for r in results:
        sid = str(r["sample_id"])
        if sid not in leaves:
            leaves[sid] = metric_leaves(r["evaluation_result"])
            labels[sid] = sample_label(r.get("data"))
            scores = score_paths(r["evaluation_result"])
            lower.update(path for path, score in scores.items() if score.direction == "lower")
    first = results[0] if results else {}
    return RunSamples(
        run_id,
        str(first.get("project_name", "")),
        str(first.get("dataset_name", "")),
        leaves,
        labels,
        frozenset(lower),
    )


@dataclass(frozen=True, slots=True)
class ManyQuery:
    """The N-run page's state, as it appears in its URL."""

    runs: tuple[str, ...] = ()
    metric: str = ""
    """The matrix's metric; empty: the first main metric."""
    page: int = 1
    lower: tuple[str, ...] = field(default=())
    """Globs of metrics where lower is better."""

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> ManyQuery:
        """``runs=a,b,c`` or ``runs=a&runs=b``; duplicates dropped, order kept."""
        runs = tuple(
            dict.fromkeys(
                p.strip() for value in params.get("runs", []) for p in value.split(",") if p.strip()
            )
        )
        raw = (params.get("page") or ["1"])[0].strip()
        page = int(raw) if raw.isascii() and raw.isdigit() and 0 < len(raw) <= 9 else 1
        lower = tuple(
            p.strip() for value in params.get("lower", []) for p in value.split(",") if p.strip()
        )
        return cls(runs, (params.get("metric") or [""])[0].strip(), max(page, 1), lower)

    def params(self) -> dict[str, Any]:
        """Back to query parameters."""
        return {
            "runs": ",".join(self.runs),
            "metric": self.metric,
            "page": self.page if self.page > 1 else None,
            "lower": ",".join(self.lower) or None,
        }


def _estimate(values: Sequence[float | bool]) -> tuple[Estimate, bool]:
    """The run's mean (t interval) or, for a boolean leaf, pass rate (Wilson); finite only."""
    if values and all(isinstance(v, bool) for v in values):
        return pass_rate_estimate(sum(bool(v) for v in values), len(values)), True
    finite = [float(v) for v in values if math.isfinite(float(v))]
    return mean_estimate(finite), False


def _leaders(estimates: Sequence[Estimate | None], higher: bool) -> tuple[int | None, str]:
    """The leading run's index and ``best`` when its interval clears the runner-up's, else
    ``tied`` (or ``only`` with one run measured)."""
    ranked = sorted(
        (i for i, e in enumerate(estimates) if e is not None and e.mean is not None),
        key=lambda i: estimates[i].mean or 0.0,  # type: ignore[union-attr]
        reverse=higher,
    )
    if not ranked:
        return None, ""
    if len(ranked) == 1:
        return ranked[0], "only"
    lead, second = estimates[ranked[0]], estimates[ranked[1]]
    assert lead is not None and second is not None
    if None in (lead.low, lead.high, second.low, second.high):
        return ranked[0], "tied"
    clear = lead.low > second.high if higher else lead.high < second.low  # type: ignore[operator]
    return ranked[0], "best" if clear else "tied"


def cell(leaves: Mapping[str, float | bool], metric: str, higher: bool = True) -> dict[str, Any]:
    """One matrix cell: pass/fail from the metric's own ``success`` boolean leaf, else from its
    ``threshold`` leaf, else the score itself as a heat cell (``kind`` says which)."""
    value = leaves.get(metric)
    if value is None:
        return {"kind": "missing", "text": "–"}
    if isinstance(value, bool):
        return {"kind": "pass" if value else "fail", "text": "pass" if value else "fail"}
    parent, _, leaf = metric.rpartition(".")
    prefix = parent + "." if parent else ""
    # gllm-evals pairs aggregate_score with aggregate_success, score with success.
    success = leaves.get(prefix + leaf.replace("score", "success")) if "score" in leaf else None
    if not isinstance(success, bool):
        success = leaves.get(prefix + "success")
    if isinstance(success, bool):
        return {
            "kind": "pass" if success else "fail",
            "text": ("pass " if success else "fail ") + fmt(value),
            "rule": "success leaf",
        }
    threshold = leaves.get(prefix + "threshold")
    if isinstance(threshold, int | float) and not isinstance(threshold, bool):
        passed = value >= threshold if higher else value <= threshold
        return {
            "kind": "pass" if passed else "fail",
            "text": ("pass " if passed else "fail ") + fmt(value),
            "rule": f"threshold {fmt(threshold)}",
        }
    return {"kind": "heat", "text": fmt(value), "value": float(value)}


def _lower(metric: str, globs: Sequence[str], runs: Sequence[RunSamples]) -> bool:
    """Compare's rule: the node's ``higher_is_better`` flag, else a ``lower=`` glob."""
    return any(metric in r.lower for r in runs) or matches_any(metric, globs)


def _shown(estimate: Estimate, boolean: bool) -> str:
    if estimate.mean is None:
        return "–"
    if estimate.low is None or estimate.high is None:
        return fmt_rate(estimate.mean) if boolean else fmt(estimate.mean)
    half = max(estimate.mean - estimate.low, estimate.high - estimate.mean)
    if boolean:
        return f"{100 * estimate.mean:.1f} ± {100 * half:.1f} %"
    return f"{fmt(estimate.mean)} ± {fmt(half)}"


def many_view(runs: Sequence[RunSamples], query: ManyQuery) -> dict[str, Any]:
    """Leaderboard, the project/dataset warning, and one page of the sample × run matrix."""
    paths = [p for r in runs for s in r.leaves.values() for p in s]
    metrics = main_metrics(paths, LEADERBOARD_METRICS)
    state = query.params()
    board_rows: list[dict[str, Any]] = [
        {
            "run_id": r.run_id,
            "href": run_path(r.run_id),
            "project": r.project,
            "dataset": r.dataset,
            "cells": [],
        }
        for r in runs
    ]
    columns = []
    for metric in metrics:
        higher = not _lower(metric, query.lower, runs)
        found = []
        for r in runs:
            values = [s[metric] for s in r.leaves.values() if metric in s]
            found.append(_estimate(values) if values else None)
        estimates = [f[0] if f else None for f in found]
        lead, mark = _leaders(estimates, higher)
        columns.append(
            {
                "metric": metric,
                "short": short_name(metric, metrics),
                "direction": "higher" if higher else "lower",
                "mark": mark,
                "href": href("/compare", state, metric=metric, page=None),
            }
        )
        for i, (row, f) in enumerate(zip(board_rows, found, strict=True)):
            e = f[0] if f else None
            row["cells"].append(
                {
                    "text": _shown(e, f[1]) if e and f else "–",
                    "n": e.n if e else 0,
                    "mean": e.mean if e else None,
                    "low": e.low if e else None,
                    "high": e.high if e else None,
                    "mark": mark if i == lead and mark in ("best", "tied") else "",
                    "title": f"95 % interval {fmt(e.low)} – {fmt(e.high)} ({e.method}, n={e.n})"
                    if e and e.low is not None
                    else "",
                }
            )
    metric = query.metric if query.metric in metrics or query.metric in paths else ""
    metric = metric or (metrics[0] if metrics else "")
    higher = not _lower(metric, query.lower, runs)
    ids = list(dict.fromkeys(sid for r in runs for sid in r.leaves))
    pages = max(1, math.ceil(len(ids) / PER_PAGE))
    page = min(query.page, pages)
    shown = ids[(page - 1) * PER_PAGE : page * PER_PAGE]
    heat = [
        float(v)
        for r in runs
        for s in r.leaves.values()
        if isinstance(v := s.get(metric), int | float)
        and not isinstance(v, bool)
        and math.isfinite(v)
    ]
    low, high = (min(heat), max(heat)) if heat else (0.0, 1.0)
    matrix = []
    for sid in shown:
        cells = []
        for r in runs:
            c: dict[str, Any] = (
                cell(r.leaves[sid], metric, higher)
                if sid in r.leaves
                else {"kind": "missing", "text": "–"}
            )
            if c["kind"] == "heat":
                share = (c["value"] - low) / (high - low) if high > low else 0.5
                c["level"] = round(10 * (share if higher else 1 - share))
            cells.append(c)
        label = next((r.labels[sid] for r in runs if r.labels.get(sid)), "")
        matrix.append({"sample_id": sid, "label": label, "cells": cells})
    projects = sorted({(r.project, r.dataset) for r in runs})
    return {
        "runs": board_rows,
        "columns": columns,
        "mixed": [f"{p} / {d}" for p, d in projects] if len(projects) > 1 else [],
        "metric": metric,
        "metric_options": [
            {
                "metric": m,
                "href": href("/compare", state, metric=m, page=None),
                "selected": m == metric,
            }
            for m in metrics
        ],
        "matrix": matrix,
        "samples": len(ids),
        "page": page,
        "pages": pages,
        "first": (page - 1) * PER_PAGE + 1 if shown else 0,
        "last": (page - 1) * PER_PAGE + len(shown),
        "prev": href("/compare", state, page=page - 1 if page > 2 else None) if page > 1 else None,
        "next": href("/compare", state, page=page + 1) if page < pages else None,
        "query": state,
        "charts": _charts(columns, board_rows),
    }


def _charts(columns: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """One chart per metric (its own scale), a bar per run with its 95 % interval."""
    return [
        {
            "id": f"many-{j}",
            "title": col["metric"],
            "type": "bars",
            "x": list(range(len(rows))),
            "xlabels": [f"#{i + 1}" for i in range(len(rows))],
            "series": [
                {
                    "label": "mean",
                    "values": [r["cells"][j]["mean"] for r in rows],
                    "low": [r["cells"][j]["low"] for r in rows],
                    "high": [r["cells"][j]["high"] for r in rows],
                }
            ],
        }
        for j, col in enumerate(columns)
    ]
