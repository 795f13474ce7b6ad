"""Each run's scores kept as columns (``score_columns``): what compare reads instead of results.

A row holds one block of ``BLOCK`` consecutive results of one run: their sample ids and
rowids (a sample's results are then fetched by rowid, without a scan), and per
metric the values as packed float64 with presence bits (``schema._columns.pack``). The writer
adds the full blocks past a run's last one when it folds the run (``extend``, in the folding's
transaction), so a run written before this table existed is backfilled the first time a
writer folds it, once. Readers take the blocks and read the few results past the last block
(fewer than ``BLOCK`` plus what was committed since the folding) from ``results.scores``;
a store without the table (an older layout, read-only) is read from ``results.scores`` whole.
Created ``IF NOT EXISTS`` by the writer: not part of the store's versioned layout.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

import numpy as np

from .._codec import dumps, loads
from ..schema._columns import ColumnBuilder, RunScores, concat, declared_directions, pack, unpack
from . import _segments

__all__ = ["BLOCK", "CREATE", "ROW_COLUMNS", "Row", "extend", "read"]

BLOCK: Final = 4096
"""Results a block holds: a fold writes only full blocks, so a ``log()`` per result still
writes a block per 4,096 results, not one per folding."""

CREATE: Final = """
CREATE TABLE IF NOT EXISTS score_columns (
    run_id TEXT NOT NULL,
    first_id INTEGER NOT NULL,
    last_id INTEGER NOT NULL,
    sample_ids TEXT NOT NULL,
    row_ids BLOB NOT NULL,
    columns TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (run_id, first_id)
)"""

ROW_COLUMNS: Final = "id, sample_id, scores, trace_id, span_id"

Row = tuple[int, str, str, bytes, bytes]
"""A result row as a block is built from: rowid, sample id, scores JSON, trace and span id."""

Query = Callable[[str, tuple[Any, ...]], list[Any]]
"""Runs one statement and fetches its rows (a reader's takes its lock for that query only,
so a long read never holds the connection between two of them)."""

_BLOCKS_A_QUERY: Final = 16
"""Blocks fetched by one query (~0.5 MB of a five-metric run)."""


def exists(query: Query) -> bool:
    """Whether the store has the table (a read-only store of an older evaltrace may not)."""
    return bool(
        query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'score_columns'", ())
    )


def covered(conn: sqlite3.Connection, run_id: str) -> int:
    """The last result rowid the run's blocks cover (0: none)."""
    (last,) = conn.execute(
        "SELECT coalesce(max(last_id), 0) FROM score_columns WHERE run_id = ?", (run_id,)
    ).fetchone()
    return int(last)


def build(query: Query, run_id: str, rows: Iterable[Row]) -> RunScores:
    """Columns of result rows (a span stored twice is counted once), each metric's direction
    as the first row carrying it declares it (that row's result is read for it, usually the
    first row's alone)."""
    builder = ColumnBuilder()
    first_with: dict[str, int] = {}
    seen: set[bytes] = set()
    for row_id, sample_id, scores, trace_id, span_id in rows:
        key = trace_id + span_id
        if key in seen:
            continue
        seen.add(key)
        pairs = loads(scores)
        builder.add(sample_id, pairs, row_id)
        for path, _ in pairs:
            first_with.setdefault(path, row_id)
    for row_id in sorted(set(first_with.values())):
        if not builder.missing_directions():
            break
        [(text,)] = query("SELECT result FROM results WHERE id = ?", (row_id,))
        for path, way in declared_directions(loads(text)).items():
            builder.directions.setdefault(path, way)
    return builder.build(run_id)


def extend(conn: sqlite3.Connection, runs: Iterable[str]) -> None:
    """Add each run's full blocks past its last one (in the caller's transaction)."""

    def query(sql: str, params: tuple[Any, ...]) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    for run_id in runs:
        rows: list[Row] = _segments.select(conn, ROW_COLUMNS, run_id, covered(conn, run_id))
        for at in range(0, len(rows) - BLOCK + 1, BLOCK):
            block = rows[at : at + BLOCK]
            scores = build(query, run_id, block)
            header, blob = pack(scores)
            conn.execute(
                "INSERT INTO score_columns (run_id, first_id, last_id, sample_ids, row_ids, "
                "columns, data) VALUES (?,?,?,?,?,?,?)",
                (
                    run_id,
                    block[0][0],
                    block[-1][0],
                    dumps(scores.sample_ids, "sample_ids", None),
                    np.asarray(scores.row_ids, dtype="<i8").tobytes(),
                    dumps(header, "columns", None),
                    blob,
                ),
            )


def blocks(query: Query, run_id: str, values: bool = True) -> Iterator[tuple[int, RunScores]]:
    """The run's stored blocks in order, each with the last rowid it covers (``values``
    False: their sample ids and rowids only, no column)."""
    after = -1
    data = "columns, data" if values else "'[]', x''"
    while True:
        page = query(
            f"SELECT first_id, last_id, sample_ids, row_ids, {data} FROM score_columns "
            "WHERE run_id = ? AND first_id > ? ORDER BY first_id LIMIT ?",
            (run_id, after, _BLOCKS_A_QUERY),
        )
        for first_id, last_id, sample_ids, rows, header, blob in page:
            after = first_id
            yield last_id, unpack(run_id, loads(sample_ids), loads(header), blob, rows)
        if len(page) < _BLOCKS_A_QUERY:
            return


def read(
    query: Query, run_id: str, rows_after: Callable[[int], list[Row]], values: bool = True
) -> RunScores:
    """The run's scores: its blocks, then the rows past them (``rows_after(rowid)``: the
    reader's own way to find a run's rows, by segments or, before version 4, by index);
    ``values`` False: the rows' sample ids and rowids only (finding a sample)."""
    parts: list[RunScores] = []
    upto = 0
    if exists(query):
        for last_id, block in blocks(query, run_id, values):
            parts.append(block)
            upto = last_id
    rest = build(query, run_id, rows_after(upto))
    return concat(run_id, [*parts, rest]) if parts else rest
