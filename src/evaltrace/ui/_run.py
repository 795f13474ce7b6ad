"""The ``/runs/{run_id}`` view: per-metric distributions and the per-sample table.

``SampleTable.build`` flattens a run once (the app caches it); ``run_view`` then filters,
sorts and cuts one page, so a 100k-row run sends a browser 50 rows, not 100k.
"""

from __future__ import annotations

import ast
import json
import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Protocol

from .._config import TraceLinks
from ..query._history_rows import metrics_of
from ..schema._aggregate import as_float
from ..schema._encode import metric_leaves
from ._links import href, sample_path, trace_links
from ._metrics import (
    INTERVAL_NOTE,
    fmt,
    fmt_rate,
    interval,
    is_config,
    is_main,
    order_metrics,
    plus_minus,
    short_name,
    success_of,
)
from ._sample import sample_label

__all__ = ["RunQuery", "Sample", "SampleTable", "Table", "readable", "run_view"]

PAGE_SIZES = (25, 50, 100, 250, 500)
BINS = 20
MAX_PAGE = 10**9
"""A larger ``page=`` reads as this (then as the last page)."""

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "!=": operator.ne,
    "==": operator.eq,
    "=": operator.eq,
    "<": operator.lt,
    ">": operator.gt,
}
_WHERE = re.compile(r"^\s*([^<>=!\s]+)\s*(<=|>=|!=|==|=|<|>)\s*(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class Sample:
    """One result as the table needs it."""

    index: int
    sample_id: str
    preview: str
    trace_id: str
    leaves: Mapping[str, float | bool]


def _histogram(values: Sequence[float | bool]) -> dict[str, Any]:
    if values and all(isinstance(v, bool) for v in values):
        return {
            "labels": ["false", "true"],
            "x": [0, 1],
            "y": [values.count(False), values.count(True)],
            "width": 1,
        }
    doubles = (as_float(v) for v in values)  # an int past the double range is no bar
    finite = [v for v in doubles if v is not None and math.isfinite(v)]
    if not finite:
        return {"labels": None, "x": [], "y": [], "width": 1}
    low, high = min(finite), max(finite)
    bins = BINS if high > low else 1
    # Scores of -1e308 and 1e308 span more than a float holds: bin them halved, then scale back.
    half = 1.0 if math.isfinite(high - low) else 0.5
    low_s, width_s = low * half, (high * half - low * half) / bins or 1.0
    counts = [0] * bins
    for v in finite:
        counts[min(int((v * half - low_s) / width_s), bins - 1)] += 1
    centers = [(low_s + width_s * (i + 0.5)) / half for i in range(bins)] if bins > 1 else [low]
    return {"labels": None, "x": centers, "y": counts, "width": width_s / half}


def readable(value: Any) -> Any:
    """Metadata as a structure a page can nest: a dict or list written as its Python or JSON
    text is read back (``ast.literal_eval``, literals only), an enum dumped as
    ``{'_value_': 'map', ...}`` becomes its value."""
    if isinstance(value, str) and value[:1] in "{[(" and value[-1:] in "}])":
        for parse in (json.loads, ast.literal_eval):
            try:
                return readable(parse(value))
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
        return value
    if isinstance(value, Mapping):
        if "_value_" in value:
            return readable(value["_value_"])
        return {str(k): readable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [readable(v) for v in value]
    return value


def run_header(first: Mapping[str, Any], last: Mapping[str, Any]) -> dict[str, Any]:
    """What a run page says of the run, from its first and last results."""
    return {
        "run_id": first["run_id"],
        "project": first["project_name"],
        "dataset": first["dataset_name"],
        "started": str(first["timestamp"])[:19].replace("T", " "),
        "ended": str(last["timestamp"])[:19].replace("T", " "),
        "metadata": readable(first.get("metadata") or {}),
    }


@dataclass(frozen=True, slots=True)
class SampleTable:
    """A run flattened once: its samples, metric columns (scores first) and statistics."""

    run: Mapping[str, Any]
    samples: Sequence[Sample]
    columns: Sequence[str]
    stats: Mapping[str, Mapping[str, Any]]
    histograms: Mapping[str, Mapping[str, Any]]

    @classmethod
    def build(cls, results: Sequence[Mapping[str, Any]]) -> SampleTable:
        """From ``run_results`` (non-empty, logging order)."""
        samples = [
            Sample(
                i,
                str(r["sample_id"]),
                sample_label(r.get("data")),
                str(r["trace_id"]),
                metric_leaves(r["evaluation_result"]),
            )
            for i, r in enumerate(results)
        ]
        columns = order_metrics(p for s in samples for p in s.leaves)
        values: dict[str, list[float | bool]] = {c: [] for c in columns}
        for s in samples:
            for path, leaf in s.leaves.items():
                values[path].append(leaf)
        first, last = results[0], results[-1]
        run = run_header(first, last)
        return cls(
            run=run,
            samples=samples,
            columns=columns,
            stats=metrics_of(r["evaluation_result"] for r in results),
            histograms={c: _histogram(values[c]) for c in columns if not is_config(c)},
        )

    @property
    def total(self) -> int:
        """Results of the run."""
        return len(self.samples)

    @property
    def filterable(self) -> Sequence[str]:
        """The columns ``where=`` and ``sort=`` take."""
        return self.columns

    def select(
        self,
        needle: str,
        conditions: Sequence[tuple[str, str, float | bool]],
        sort: str,
        desc: bool,
    ) -> Sequence[Sample]:
        """The samples matching the text and the conditions, in the order asked."""
        kept = [s for s in self.samples if _keep(s, needle, conditions)]
        if sort in ("sample_id", *self.columns):
            key = _sort_key(sort)
            present = [s for s in kept if key(s)[0] == 0]
            missing = [s for s in kept if key(s)[0] == 1]
            kept = sorted(present, key=key, reverse=desc) + missing
        return kept


@dataclass(frozen=True, slots=True)
class RunQuery:
    """The run page's state, as it appears in its URL."""

    sort: str = ""
    """``sample_id``, a metric path, or empty for logging order."""
    desc: bool = False
    q: str = ""
    """Case-insensitive text to find in a sample's id or data preview."""
    where: str = ""
    """``metric op value`` conditions joined by ``,``: ``qa.f1.score<0.5,qa.passed=false``."""
    page: int = 1
    per: int = 50
    config: bool = False
    """Show configuration leaves (threshold, strict_mode, ...) as sample columns too."""

    @classmethod
    def from_params(cls, params: Mapping[str, Sequence[str]]) -> RunQuery:
        """From parsed query parameters; bad numbers fall back to the defaults."""

        def one(name: str) -> str:
            return (params.get(name) or [""])[0].strip()

        def number(name: str, default: int) -> int:
            raw = one(name)
            if not raw.isascii() or not raw.isdigit():
                return default
            # Thousands of digits are past int()'s limit: any page past the last is the last.
            value = int(raw) if len(raw) <= 9 else MAX_PAGE
            return min(value, MAX_PAGE) if value > 0 else default

        per = number("per", 50)
        return cls(
            sort=one("sort"),
            desc=one("desc") in ("1", "true"),
            q=one("q"),
            where=one("where"),
            page=number("page", 1),
            per=per if per in PAGE_SIZES else 50,
            config=one("config") in ("1", "true"),
        )

    def params(self) -> dict[str, Any]:
        """Back to query parameters; defaults are left out of links."""
        return {
            "sort": self.sort,
            "desc": self.desc,
            "q": self.q,
            "where": self.where,
            "page": self.page if self.page > 1 else None,
            "per": self.per if self.per != 50 else None,
            "config": self.config,
        }


def _literal(raw: str) -> float | bool:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    return float(raw)


def unknown_metric(name: str, known: Sequence[str]) -> str:
    """What a person reads for a metric the run does not have: the closest names, then all."""
    close = get_close_matches(name, known, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    listed = ", ".join(known[:40]) + (f", … ({len(known)} in all)" if len(known) > 40 else "")
    return f"unknown metric {name!r}{hint} known: {listed or 'none'}"


def parse_where(
    where: str, known: Sequence[str] | None = None
) -> tuple[list[tuple[str, str, float | bool]], str | None]:
    """Conditions of a ``where`` parameter, and an error message for the first bad one (a
    condition that cannot be read, or a metric not among ``known`` when given)."""
    conditions: list[tuple[str, str, float | bool]] = []
    for part in filter(None, (p.strip() for p in where.split(","))):
        match = _WHERE.match(part)
        try:
            if match is None:
                raise ValueError
            condition = (match[1], match[2], _literal(match[3]))
        except ValueError:
            return conditions, f"cannot read condition {part!r}: write metric<0.5 or metric=true"
        if known is not None and condition[0] not in known:
            return conditions, unknown_metric(condition[0], known)
        conditions.append(condition)
    return conditions, None


def _keep(sample: Sample, needle: str, conditions: Sequence[tuple[str, str, float | bool]]) -> bool:
    if needle and needle not in sample.sample_id.lower() and needle not in sample.preview.lower():
        return False
    for path, op, value in conditions:
        leaf = sample.leaves.get(path)
        if leaf is None or not _OPS[op](leaf, value):  # int vs float compares exactly
            return False
    return True


def _sort_key(column: str) -> Callable[[Sample], tuple[int, Any]]:
    if column == "sample_id":
        return lambda s: (0, s.sample_id)

    def key(s: Sample) -> tuple[int, Any]:
        value = s.leaves.get(column)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return (1, 0.0)  # missing and NaN last, whichever way the column is sorted
        return (0, value)  # never float(): an int past the double range overflows it

    return key


def _summary(path: str, stats: Mapping[str, Any]) -> dict[str, Any]:
    boolean = "pass_rate" in stats and "mean" not in stats
    headline = fmt_rate(stats.get("pass_rate")) if boolean else fmt(stats.get("mean"))
    if boolean and is_config(path) and stats["pass_rate"] in (0, 1):
        headline = fmt(bool(stats["pass_rate"]))  # a setting, not a rate: strict_mode = false
    low, high = interval(stats)
    value = stats.get("pass_rate") if boolean else stats.get("mean")
    shown = None if is_config(path) or not isinstance(value, int | float) else float(value)
    exact = stats.get("quantiles_exact", True)
    return {
        "metric": path,
        "kind": "boolean" if boolean else "number",
        "headline": headline,
        "pm": plus_minus(shown, low, high, rate=boolean),
        "ci": "" if shown is None or low is None else f"95 % CI {fmt(low)} – {fmt(high)}",
        "count": fmt(stats.get("count")),
        "p50": ("" if exact or "p50" not in stats else "≈") + fmt(stats.get("p50")),
        "p50_note": ""
        if exact
        else f"sketch: within {100 * stats.get('relative_accuracy', 0.01):g} % relative",
        "min": fmt(stats.get("min")),
        "max": fmt(stats.get("max")),
        # The pass rate once: a boolean's headline already is it.
        "pass_rate": fmt_rate(stats["pass_rate"])
        if "pass_rate" in stats and not is_config(path) and not boolean
        else "",
        "main": is_main(path),
        "non_finite": stats.get("non_finite", 0),
    }


MAIN_CHARTS = 8
"""Histograms shown open; the rest are folded under a <details>."""


def _rows(scores: Sequence[str], stats: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Metric rows, main first; a score's own success leaf is its row's pass rate column (the
    pass rate shown once), not a row of its own."""
    paired = success_of(scores)
    rows = []
    for path in scores:
        if path in paired.values():
            continue
        row = _summary(path, stats.get(path, {}))
        if path in paired:
            passes = stats.get(paired[path], {})
            rate = passes.get("pass_rate")
            low, high = interval(passes)
            row["pass_rate"] = fmt_rate(rate) + plus_minus(rate, low, high, rate=True)
            row["pass_leaf"] = paired[path]
        rows.append(row)
    return rows


class Table(Protocol):
    """What the run page reads of a run: ``SampleTable`` (a run read whole) or
    ``_run_columns.ColumnTable`` (a large run, from its score columns, a page at a time)."""

    @property
    def run(self) -> Mapping[str, Any]: ...
    @property
    def columns(self) -> Sequence[str]: ...
    @property
    def stats(self) -> Mapping[str, Mapping[str, Any]]: ...
    @property
    def histograms(self) -> Mapping[str, Mapping[str, Any]]: ...
    @property
    def total(self) -> int: ...
    @property
    def filterable(self) -> Sequence[str]: ...
    def select(
        self,
        needle: str,
        conditions: Sequence[tuple[str, str, float | bool]],
        sort: str,
        desc: bool,
    ) -> Sequence[Sample]: ...


def run_view(
    table: Table,
    query: RunQuery,
    links: TraceLinks,
    base: str,
    *,
    pager: bool = True,
) -> dict[str, Any]:
    """Run header, metric summaries with histograms, and one page of the sample table.

    ``base`` is the page's own path (links keep the query state); ``pager=False`` (the
    self-contained report) shows only the first page and no links back to a server.
    """
    conditions, error = parse_where(query.where, table.filterable)
    kept = table.select(query.q.lower(), conditions, query.sort, query.desc)
    pages = max(1, math.ceil(len(kept) / query.per))
    page = min(query.page, pages)
    shown = kept[(page - 1) * query.per : page * query.per]
    state = query.params()
    scores = [c for c in table.columns if not is_config(c)]
    config = [c for c in table.columns if is_config(c)]
    columns = table.columns if query.config else scores
    paired = success_of(scores)
    charted = [c for c in scores if c not in paired.values()]  # a pass rate is in its row

    def sort_link(column: str) -> str | None:
        if not pager:
            return None
        desc = query.sort == column and not query.desc
        return href(base, state, sort=column, desc=desc, page=None)

    return {
        "run": table.run,
        "nested_metadata": [
            k for k, v in table.run["metadata"].items() if isinstance(v, Mapping | list)
        ],
        "metrics": _rows(scores, table.stats),
        "interval_note": INTERVAL_NOTE,
        "config": [_summary(c, table.stats.get(c, {})) for c in config],
        "charts": [
            {
                "id": f"dist-{i}",
                "title": c,
                "short": short_name(c, charted),
                "type": "bars",
                "x": table.histograms[c]["x"],
                "xlabels": table.histograms[c]["labels"],
                "bin": table.histograms[c]["width"],
                "series": [{"label": "samples", "values": table.histograms[c]["y"]}],
            }
            for i, c in enumerate(charted)
        ],
        "main_charts": min(MAIN_CHARTS, sum(is_main(c) for c in charted) or len(charted)),
        "columns": [
            {
                "name": c,
                "short": short_name(c, columns),
                "config": is_config(c),
                "href": sort_link(c),
                "sorted": ("desc" if query.desc else "asc") if query.sort == c else "",
            }
            for c in columns
        ],
        "config_toggle": href(base, state, config=not query.config) if pager and config else None,
        "id_column": {
            "href": sort_link("sample_id"),
            "sorted": ("desc" if query.desc else "asc") if query.sort == "sample_id" else "",
        },
        "rows": [
            {
                "index": s.index,
                "sample_id": s.sample_id,
                "preview": s.preview,
                "href": sample_path(str(table.run["run_id"]), s.sample_id) if pager else None,
                "cells": [fmt(s.leaves.get(c)) for c in columns],
                "traces": trace_links(links, s.trace_id),
            }
            for s in shown
        ],
        "query": state,
        "error": error,
        "total": table.total,
        "matched": len(kept),
        "page": page,
        "pages": pages,
        "first": (page - 1) * query.per + 1 if shown else 0,
        "last": (page - 1) * query.per + len(shown),
        "prev": href(base, state, page=page - 1 if page > 2 else None)
        if pager and page > 1
        else None,
        "next": href(base, state, page=page + 1) if pager and page < pages else None,
        "page_sizes": [
            {"size": n, "href": href(base, state, per=n if n != 50 else None, page=None)}
            for n in PAGE_SIZES
        ]
        if pager
        else [],
        "per": query.per,
        "pager": pager,
    }
