"""Reviews in the store: a person's verdicts on results, with their history.

One row per review (``reviews``), never updated: a sample's latest review stands and the
earlier ones are its history. The table is created ``IF NOT EXISTS`` by a writer opening a
store (not by a layout version: stores of this layout without it simply have no reviews, and
readers say so). A review forwarded over OTLP commits with its outbox entry, in one
transaction, as a log call does: the entry names no call (``call_id`` 0) and no results, and
the review names the entry (``outbox_id``), so the forwarder (``_outbox``) loads it back and
sends its span like any other. Evaltrace versions before reviews skip such an entry (no call
0); it stays until the outbox's age bound drops it.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Final, NamedTuple

from .._types import ReviewRecord
from ..schema._decode import iso
from . import _segments
from ._records import ReviewRow

__all__ = ["ReviewTarget", "create", "find_result", "insert", "load", "read", "record"]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    sample_id TEXT NOT NULL,
    result_trace_id BLOB NOT NULL,
    result_span_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('pass', 'fail')),
    note TEXT,
    reviewer TEXT,
    created_ns INTEGER NOT NULL,
    project_name TEXT NOT NULL,
    resource TEXT NOT NULL,
    capture TEXT NOT NULL,
    outbox_id INTEGER
);
CREATE INDEX IF NOT EXISTS reviews_by_run ON reviews (run_id, id);
CREATE INDEX IF NOT EXISTS reviews_by_outbox ON reviews (outbox_id) WHERE outbox_id IS NOT NULL;
"""
_COLUMNS: Final = (
    "id, run_id, sample_id, result_trace_id, result_span_id, span_id, verdict, note, reviewer, "
    "created_ns, project_name, resource, capture"
)
_INSERT_OUTBOX: Final = """
INSERT INTO outbox (trace_id, call_id, spans, enqueued_ns, not_before_ns, first_result,
    last_result, destination, holder) VALUES (?, 0, 1, ?, ?, 0, -1, ?, '')
"""


class ReviewTarget(NamedTuple):
    """The result a review is about, as the store holds it."""

    trace_id: int
    span_id: int
    project_name: str
    resource_json: str
    capture: str | None


def create(conn: sqlite3.Connection) -> None:
    """The reviews table, if the store has none yet (in the caller's transaction)."""
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def _has_table(conn: sqlite3.Connection) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'reviews'"
        ).fetchone()
        is not None
    )


def find_result(conn: sqlite3.Connection, run_id: str, sample_id: str) -> ReviewTarget | None:
    """The run's first result of ``sample_id`` (the one its sample page shows), or None."""
    sql = (
        "SELECT r.trace_id, r.span_id, c.project_name, s.attributes, c.capture FROM results r "
        "JOIN calls c ON c.id = r.call_id JOIN resources s ON s.id = c.resource_id "
        "WHERE r.run_id = ? AND r.sample_id = ? AND r.id >= ? AND r.id < ? ORDER BY r.id LIMIT 1"
    )
    for lo, hi in _segments.ranges(conn, run_id, 0):
        row = conn.execute(sql, (run_id, sample_id, lo, hi)).fetchone()
        if row is not None:
            return ReviewTarget(
                int.from_bytes(row[0], "big"), int.from_bytes(row[1], "big"), *row[2:]
            )
    return None


def insert(
    conn: sqlite3.Connection, review: ReviewRow, *, forward: bool, destination: str
) -> ReviewRow:
    """Store ``review`` (its ``seq`` is given here) and, with ``forward``, its outbox entry,
    due now, in the caller's transaction."""
    outbox_id = None
    if forward:
        now = time.time_ns()
        outbox_id = conn.execute(
            _INSERT_OUTBOX,
            (review.result_trace_id.to_bytes(16, "big"), now, now, destination),
        ).lastrowid
    seq = conn.execute(
        f"INSERT INTO reviews ({_COLUMNS.removeprefix('id, ')}, outbox_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            review.run_id,
            review.sample_id,
            review.result_trace_id.to_bytes(16, "big"),
            review.result_span_id.to_bytes(8, "big"),
            review.span_id.to_bytes(8, "big"),
            review.verdict,
            review.note,
            review.reviewer,
            review.created_ns,
            review.project_name,
            review.resource_json,
            review.capture,
            outbox_id,
        ),
    ).lastrowid
    review.seq = int(seq or 0)
    return review


def _row(values: tuple[object, ...]) -> ReviewRow:
    (seq, run_id, sample_id, trace, span, own, verdict, note, reviewer, created, project) = values[
        :11
    ]
    return ReviewRow(
        int(seq),  # type: ignore[call-overload]
        str(run_id),
        str(sample_id),
        int.from_bytes(trace, "big"),  # type: ignore[arg-type]
        int.from_bytes(span, "big"),  # type: ignore[arg-type]
        int.from_bytes(own, "big"),  # type: ignore[arg-type]
        str(verdict),
        note if isinstance(note, str) else None,
        reviewer if isinstance(reviewer, str) else None,
        int(created),  # type: ignore[call-overload]
        str(project),
        str(values[11]),
        str(values[12]),
    )


def load(conn: sqlite3.Connection, outbox_id: int) -> ReviewRow | None:
    """The review of an outbox entry (the newest naming it: an id is reused only once the
    entry of an earlier review was acknowledged and deleted), or None."""
    if not _has_table(conn):
        return None
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM reviews WHERE outbox_id = ? ORDER BY id DESC LIMIT 1",
        (outbox_id,),
    ).fetchone()
    return None if row is None else _row(row)


def read(conn: sqlite3.Connection, run_id: str) -> list[ReviewRow]:
    """Every review of the run, oldest first; none in a store that has no reviews table."""
    if not _has_table(conn):
        return []
    return [
        _row(row)
        for row in conn.execute(
            f"SELECT {_COLUMNS} FROM reviews WHERE run_id = ? ORDER BY id", (run_id,)
        )
    ]


def record(review: ReviewRow) -> ReviewRecord:
    """A stored review as ``get_reviews`` returns it."""
    return ReviewRecord(
        run_id=review.run_id,
        sample_id=review.sample_id,
        verdict=review.verdict,
        note=review.note,
        reviewer=review.reviewer,
        created_at=iso(review.created_ns),
        seq=review.seq,
        trace_id=f"{review.result_trace_id:032x}",
        span_id=f"{review.result_span_id:016x}",
        review_span_id=f"{review.span_id:016x}",
    )
