"""A run's results found by rowid ranges (``run_segments``), not by an index on ``run_id``.

Results are appended in commit order, and a run's calls mostly follow each other, so a run's
rows are a few long stretches of consecutive rowids. ``run_segments`` holds the first rowid of
each stretch and its run; rows from one segment's ``start_id`` up to the next segment's belong
to that run. A writer adds a segment only when the row before its call's first row belongs to
another run (``MARK``): the commit of a ``log()`` call then writes one B-tree page fewer than
an index on ``(run_id, id)`` would rewrite at every commit.

Readers still check each row's ``run_id`` (a row is only ever attributed to its own run). Rows
are deleted only from a spool, whose rowids SQLite may then hand out again: ``FORGET_STALE``
drops the segments past the last row, so that a reused rowid is marked afresh.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

__all__ = ["FORGET_STALE", "GAP", "LAST", "MARK", "end_of", "from_segment", "ranges", "select"]

LAST: Final = 9223372036854775807
"""The largest rowid: the end of the last segment."""


def end_of(alias: str) -> str:
    """SQL for the rowid just past segment ``alias``: the next segment's start."""
    return (
        f"coalesce((SELECT min(n.start_id) FROM run_segments n WHERE n.start_id > "
        f"{alias}.start_id), {LAST})"
    )


def from_segment(run: str, after: str) -> str:
    """SQL for the start of run ``run``'s segment holding rowid ``after`` + 1 (0 when none):
    the run's later segments are the only ones with rows past ``after``, so a read of what
    was committed since a folding costs those, not every segment of a long interleaved run."""
    return (
        f"coalesce((SELECT max(h.start_id) FROM run_segments h WHERE h.run_id = {run} "
        f"AND h.start_id <= {after} + 1), 0)"
    )


MARK: Final = """
INSERT OR REPLACE INTO run_segments (start_id, run_id) SELECT :first, :run
WHERE (SELECT run_id FROM results WHERE id < :first ORDER BY id DESC LIMIT 1) IS NOT :run
"""
"""A segment starting at the call's first row ``:first`` for ``:run``, unless the row before is
of that run already (run in the writer's transaction, after the call's rows are inserted)."""

FORGET_STALE: Final = (
    "DELETE FROM run_segments WHERE start_id > (SELECT coalesce(max(id), 0) FROM results)"
)

_RANGES = f"""
SELECT max(s.start_id, :after + 1), {end_of("s")} FROM run_segments s
WHERE s.run_id = :run AND s.start_id >= {from_segment(":run", ":after")} ORDER BY s.start_id
"""


GAP: Final = 32
"""Rows of other runs a read steps over rather than start another query: each query filters
by ``run_id`` anyway, and skipping a row costs a fraction of a query."""


def ranges(conn: sqlite3.Connection, run_id: str, after: int) -> list[tuple[int, int]]:
    """Half-open rowid ranges ``[lo, hi)`` holding the run's results past rowid ``after``, in
    order (the last one open-ended when the run's segment is the store's last). Ranges less
    than ``GAP`` rows apart are one: the rows between, of other runs, the query skips."""
    out: list[tuple[int, int]] = []
    for lo, hi in conn.execute(_RANGES, {"run": run_id, "after": after}):
        if lo >= hi:
            continue
        if out and lo - out[-1][1] < GAP:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def select(conn: sqlite3.Connection, columns: str, run_id: str, after: int) -> list[Any]:
    """``columns`` of the run's results past rowid ``after``, in rowid order."""
    out: list[Any] = []
    sql = f"SELECT {columns} FROM results WHERE run_id = ? AND id >= ? AND id < ? ORDER BY id"
    for lo, hi in ranges(conn, run_id, after):
        out += conn.execute(sql, (run_id, lo, hi)).fetchall()
    return out
