"""A run's scores as columns: one float64 array per metric, aligned on the run's results.

Compare needs every result's scores and sample id, not its text: a 1,000,000-result run read
back whole costs ~98 s and 6.7 GB; its scores as columns are 8 bytes a value. ``RunScores``
is what ``QueryAdapter.run_scores`` returns (the store keeps it as packed blocks,
``store/_score_columns``; other adapters build it from their results with ``from_results``).
``ColumnBuilder`` turns rows of ``score_list`` pairs into columns; ``pack``/``unpack`` are the
stored block format. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ._scores import Direction, Numeric, _found, matches_any

__all__ = [
    "ColumnBuilder",
    "RunScores",
    "ScoreColumn",
    "concat",
    "declared_directions",
    "from_results",
    "pack",
    "unpack",
]

BOOLEAN: Final = "b"
INTEGER: Final = "i"
NUMBER: Final = "f"
"""A column's kind: every value a boolean (a pass rate), every value an int, or anything else."""


def _kind_of(value: Numeric) -> str:
    kind = type(value)
    return BOOLEAN if kind is bool else INTEGER if kind is int else NUMBER


def merge_kind(a: str, b: str) -> str:
    """The kind of a column holding values of both kinds."""
    return a if a == b else NUMBER


def as_double(value: Numeric) -> float:
    """A score as a float; an int past the double range as ±inf (it moves, but is no
    statistic)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


@dataclass(frozen=True, slots=True)
class ScoreColumn:
    """One metric over a run's results (rows in logging order)."""

    values: npt.NDArray[np.float64]
    """The score as a float per result, NaN where the result has none (or a NaN)."""
    present: npt.NDArray[np.bool_]
    """Whether each result carries the metric at all (a NaN score counts as carried)."""
    kind: str = NUMBER
    """``b``: every value a boolean; ``i``: every value an int; ``f``: otherwise."""
    direction: Direction | None = None
    """The direction the first result carrying it declares (``higher_is_better``, a pass
    boolean); None when none does (``lower_is_better`` globs then decide)."""

    def value(self, row: int) -> Numeric:
        """Row ``row``'s score as it was logged (its bool or int back)."""
        v = float(self.values[row])
        if self.kind == BOOLEAN:
            return bool(v)
        if self.kind == INTEGER and math.isfinite(v):
            return int(v)
        return v


@dataclass(frozen=True, slots=True)
class RunScores:
    """A run's scores as columns: row ``i`` of every column is the run's ``i``-th result."""

    run_id: str
    sample_ids: list[str]
    columns: dict[str, ScoreColumn]
    clusters: list[Any] | None = None
    """Each result's cluster key (``--cluster``), when asked for."""
    row_ids: npt.NDArray[np.int64] | None = None
    """Where each result is kept (the embedded store's rowids); None from other adapters."""

    def __len__(self) -> int:
        return len(self.sample_ids)

    def select(self, metrics: Sequence[str] | None) -> RunScores:
        """Only the metrics matching the globs (all for None)."""
        if metrics is None:
            return self
        kept = {k: c for k, c in self.columns.items() if matches_any(k, metrics)}
        return RunScores(self.run_id, self.sample_ids, kept, self.clusters, self.row_ids)


@dataclass
class ColumnBuilder:
    """Appends results' ``score_list`` pairs and hands back columns (one Python list per
    metric while building: ~8 bytes a value once built)."""

    sample_ids: list[str] = field(default_factory=list)
    row_ids: list[int] = field(default_factory=list)
    _values: dict[str, list[float]] = field(default_factory=dict)
    _rows: dict[str, list[int]] = field(default_factory=dict)
    _kinds: dict[str, str] = field(default_factory=dict)
    directions: dict[str, Direction | None] = field(default_factory=dict)

    def add(
        self, sample_id: str, scores: Iterable[Sequence[Any]], row_id: int | None = None
    ) -> None:
        """One result: its sample id, its ``[[path, value], ...]`` and where it is kept."""
        row = len(self.sample_ids)
        self.sample_ids.append(sample_id)
        if row_id is not None:
            self.row_ids.append(row_id)
        for path, value in scores:
            values = self._values.get(path)
            if values is None:
                values = self._values[path] = []
                self._rows[path] = []
                self._kinds[path] = _kind_of(value)
            elif self._kinds[path] != NUMBER:
                self._kinds[path] = merge_kind(self._kinds[path], _kind_of(value))
            values.append(as_double(value))
            self._rows[path].append(row)

    def missing_directions(self) -> set[str]:
        """Metrics whose direction no result has been asked for yet."""
        return self._values.keys() - self.directions.keys()

    def build(self, run_id: str, clusters: list[Any] | None = None) -> RunScores:
        """The columns of every row added."""
        n = len(self.sample_ids)
        columns: dict[str, ScoreColumn] = {}
        for path, values in self._values.items():
            rows = np.asarray(self._rows[path], dtype=np.int64)
            full = np.full(n, np.nan)
            full[rows] = values
            present = np.zeros(n, dtype=np.bool_)
            present[rows] = True
            columns[path] = ScoreColumn(full, present, self._kinds[path], self.directions.get(path))
        kept = None
        if len(self.row_ids) == n:  # every row said where it is kept (none: 0 rows)
            kept = np.asarray(self.row_ids, dtype=np.int64)
        return RunScores(run_id, self.sample_ids, columns, clusters, kept)


def declared_directions(result: Any) -> dict[str, Direction | None]:
    """The direction each score of one evaluation result declares (None: undeclared, so
    ``lower_is_better`` globs decide), by the same walk ``score_paths`` takes."""
    return {path: way for path, _, way in _found(result)}


def from_results(
    results: Sequence[Mapping[str, Any]],
    cluster_of: Callable[[Mapping[str, Any], int], Any] | None = None,
) -> RunScores:
    """The columns of ``get_run_results`` rows (the default ``run_scores``): each result's
    numeric scores, directions as its first result carrying a score declares them.
    ``cluster_of(result, row)``: each row's cluster key, when given."""
    builder = ColumnBuilder()
    clusters: list[Any] | None = [] if cluster_of is not None else None
    for row, result in enumerate(results):
        found = _found(result["evaluation_result"])
        builder.add(str(result["sample_id"]), [(p, v) for p, v, _ in found if type(v) is not str])
        if builder.missing_directions():
            for path, _, way in found:
                builder.directions.setdefault(path, way)
        if cluster_of is not None and clusters is not None:
            clusters.append(cluster_of(result, row))
    run_id = str(results[0]["run_id"]) if results else ""
    return builder.build(run_id, clusters)


def concat(run_id: str, blocks: Sequence[RunScores]) -> RunScores:
    """Blocks of one run's rows, in order, as one ``RunScores`` (a metric's direction and
    kind as its first block carrying it has them, kinds merged). One copy per column: a block
    without the metric adds NaN, absent."""
    paths: dict[str, tuple[str, Direction | None]] = {}
    for block in blocks:
        for path, column in block.columns.items():
            known = paths.get(path)
            if known is None:
                paths[path] = (column.kind, column.direction)
            elif known[0] != column.kind:
                paths[path] = (merge_kind(known[0], column.kind), known[1])
    columns: dict[str, ScoreColumn] = {}
    for path, (kind, direction) in paths.items():
        values: list[npt.NDArray[np.float64]] = []
        present: list[npt.NDArray[np.bool_]] = []
        for block in blocks:
            part = block.columns.get(path)
            if part is None:
                values.append(np.full(len(block), np.nan))
                present.append(np.zeros(len(block), dtype=np.bool_))
            else:
                values.append(part.values)
                present.append(part.present)
        joined = np.concatenate(values), np.concatenate(present)
        columns[path] = ScoreColumn(*joined, kind, direction)
    sample_ids = list(chain.from_iterable(block.sample_ids for block in blocks))
    rows = None
    if all(block.row_ids is not None for block in blocks):
        rows = np.concatenate([block.row_ids for block in blocks if block.row_ids is not None])
    return RunScores(run_id, sample_ids, columns, None, rows)


_F64: Final = np.dtype("<f8")


def pack(scores: RunScores) -> tuple[list[list[Any]], bytes]:
    """A block's columns as ``[[path, kind, direction], ...]`` and one blob: per column its
    little-endian float64 values, then its presence bits (``np.packbits``)."""
    header: list[list[Any]] = []
    parts: list[bytes] = []
    for path, column in scores.columns.items():
        header.append([path, column.kind, column.direction])
        parts.append(column.values.astype(_F64).tobytes())
        parts.append(np.packbits(column.present).tobytes())
    return header, b"".join(parts)


def unpack(
    run_id: str,
    sample_ids: list[str],
    header: Sequence[Sequence[Any]],
    blob: bytes,
    row_ids: bytes | None = None,
) -> RunScores:
    """A block back from ``pack`` (``row_ids``: its rows' rowids as little-endian int64)."""
    n = len(sample_ids)
    bits = (n + 7) // 8
    columns: dict[str, ScoreColumn] = {}
    at = 0
    for path, kind, direction in header:
        values = np.frombuffer(blob, dtype=_F64, count=n, offset=at)
        at += 8 * n
        present = np.unpackbits(np.frombuffer(blob, dtype=np.uint8, count=bits, offset=at))[:n]
        at += bits
        columns[path] = ScoreColumn(values, present.astype(np.bool_), kind, direction)
    rows = None if row_ids is None else np.frombuffer(row_ids, dtype="<i8").astype(np.int64)
    return RunScores(run_id, sample_ids, columns, None, rows)
