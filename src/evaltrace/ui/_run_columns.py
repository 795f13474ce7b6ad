"""The run page of a large run: its score columns filtered, sorted and cut with numpy, and only
the page's results read (by rowid in the embedded store).

``SampleTable`` reads a run whole: a 1,000,000-result run's page took 24.9 s and the server
6.2 GB. ``ColumnTable`` reads the run's score columns (~0.3 s and ~150 MB a million results),
its statistics from the store's folded aggregates, and the 50 results a page shows: the same
page in under a second (``scale.run_page``), nothing kept between requests. What it does not
do at that size: config leaves (``threshold``) are shown for the page's rows but are not columns
to filter or sort by. ``q=`` finds its rows through SQL (``text_candidates``), then matches
the sample id and label exactly, as on any run: 4.4 s for an id, 14.7 s for a word a quarter
of a million results hold (an index of the text would be the next step).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import numpy.typing as npt

from ..query import RunScores, ScoreColumn
from ..schema._encode import metric_leaves
from ._metrics import is_config, order_metrics
from ._run import BINS, Sample, run_header
from ._sample import sample_label

__all__ = ["LARGE_RUN", "ColumnTable"]

LARGE_RUN = 20_000
"""Results from which a run's page is built from its columns (below, the whole run is read
and cached: every search and column works as on any run)."""

Fetch = Callable[[Sequence[int]], Sequence[Mapping[str, Any]]]
"""The run's results at positions (``QueryAdapter.results_at``)."""
Search = Callable[[str], Sequence[tuple[int, str, Any]]]
"""(position, sample id, data) of the rows that may hold a text (``text_candidates``)."""

_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<=": np.less_equal,
    ">=": np.greater_equal,
    "!=": np.not_equal,
    "==": np.equal,
    "=": np.equal,
    "<": np.less,
    ">": np.greater,
}


def _histogram(column: ScoreColumn) -> dict[str, Any]:
    """``_run._histogram`` of a column (the same bins), with numpy."""
    values = column.values[column.present]
    if column.kind == "b":
        ones = int(np.count_nonzero(values == 1.0))
        counts = [values.size - ones, ones]
        return {"labels": ["false", "true"], "x": [0, 1], "y": counts, "width": 1}
    finite = values[np.isfinite(values)]
    if not finite.size:
        return {"labels": None, "x": [], "y": [], "width": 1}
    low, high = float(finite.min()), float(finite.max())
    bins = BINS if high > low else 1
    half = 1.0 if math.isfinite(high - low) else 0.5
    low_s, width_s = low * half, (high * half - low * half) / bins or 1.0
    at = np.minimum(((finite * half - low_s) / width_s).astype(np.int64), bins - 1)
    counts = np.bincount(at, minlength=bins).tolist()
    centers = [(low_s + width_s * (i + 0.5)) / half for i in range(bins)] if bins > 1 else [low]
    return {"labels": None, "x": centers, "y": counts, "width": width_s / half}


class _Rows(Sequence[Sample]):
    """Matching rows by position; a slice reads only its own results."""

    def __init__(self, positions: npt.NDArray[np.int64], table: ColumnTable) -> None:
        self._positions, self._table = positions, table

    def __len__(self) -> int:
        return int(self._positions.size)

    @overload
    def __getitem__(self, i: int) -> Sample: ...
    @overload
    def __getitem__(self, i: slice) -> list[Sample]: ...
    def __getitem__(self, i: int | slice) -> Sample | list[Sample]:
        if isinstance(i, slice):
            return self._table.samples_at(self._positions[i].tolist())
        return self._table.samples_at([int(self._positions[i])])[0]


@dataclass(frozen=True, slots=True)
class ColumnTable:
    """A run's page from its score columns (see the module)."""

    run: Mapping[str, Any]
    scores: RunScores
    columns: Sequence[str]
    stats: Mapping[str, Mapping[str, Any]]
    histograms: Mapping[str, Mapping[str, Any]]
    fetch: Fetch
    search: Search

    @classmethod
    def build(
        cls,
        scores: RunScores,
        stats: Mapping[str, Mapping[str, Any]],
        fetch: Fetch,
        search: Search,
    ) -> ColumnTable:
        """From the run's columns (non-empty), its statistics, and how to read its results
        and find the rows holding a text."""
        ends = fetch([0, len(scores) - 1])
        first, last = ends[0], ends[-1]
        config = [p for p in metric_leaves(first["evaluation_result"]) if is_config(p)]
        run = run_header(first, last)
        return cls(
            run=run,
            scores=scores,
            columns=order_metrics([*scores.columns, *config]),
            stats=stats,
            histograms={p: _histogram(c) for p, c in scores.columns.items() if not is_config(p)},
            fetch=fetch,
            search=search,
        )

    @property
    def total(self) -> int:
        """Results of the run."""
        return len(self.scores)

    @property
    def filterable(self) -> Sequence[str]:
        """The score columns: ``where=`` and ``sort=`` take these."""
        return [c for c in self.columns if c in self.scores.columns]

    def select(
        self,
        needle: str,
        conditions: Sequence[tuple[str, str, float | bool]],
        sort: str,
        desc: bool,
    ) -> Sequence[Sample]:
        """The rows whose sample id holds ``needle`` and that meet every condition, in the
        order asked (missing and NaN last either way), as ``SampleTable.select``."""
        n = len(self.scores)
        keep = np.ones(n, dtype=np.bool_)
        ids: npt.NDArray[np.str_] | None = None
        if needle:  # in the sample id or the label, as SampleTable; SQL finds the candidates
            found = [
                i
                for i, sid, data in self.search(needle)
                if needle in sid.lower() or needle in sample_label(data).lower()
            ]
            hit = np.zeros(n, dtype=np.bool_)
            hit[np.asarray(found, dtype=np.int64)] = True
            keep &= hit
        for path, op, value in conditions:
            column = self.scores.columns[path]
            with np.errstate(invalid="ignore"):
                keep &= column.present & _COMPARE[op](column.values, float(value))
        positions = np.flatnonzero(keep)
        if sort == "sample_id":
            ids = ids if ids is not None else np.asarray(self.scores.sample_ids)
            _, rank = np.unique(ids[positions], return_inverse=True)
            # ties (a sample's trials) keep logging order either way, as a stable sort does
            positions = positions[np.lexsort((positions, -rank if desc else rank))]
        elif sort in self.scores.columns:
            column = self.scores.columns[sort]
            values = column.values[positions]
            there = column.present[positions] & ~np.isnan(values)
            ranked, rest = positions[there], positions[~there]
            key = values[there]
            order = np.argsort(-key if desc else key, kind="stable")
            positions = np.concatenate([ranked[order], rest])
        return _Rows(positions, self)

    def samples_at(self, positions: Sequence[int]) -> list[Sample]:
        """The rows at these positions, their results read."""
        results = self.fetch(positions)
        return [
            Sample(
                i,
                str(r["sample_id"]),
                sample_label(r.get("data")),
                str(r["trace_id"]),
                metric_leaves(r["evaluation_result"]),
            )
            for i, r in zip(positions, results, strict=False)
        ]
