"""Run summaries derived from the store's rows: what a run's summary span says.

The store is the one source of truth: a run-summary span sent from a store is its
``run_metrics`` row (folded up to the run's last result row first) and its ``runs`` row, read
in one transaction. So a summary's content is a function of its ``seq`` (the last result row
it covers: a ``run_metrics`` row is written once per ``folded_upto``), any tracker on the store
or ``evaltrace sync`` can derive it again after a crash, and it reads exactly as the store's
own history does. ``run_summaries`` records which runs want summaries (their results are
forwarded) and up to which row a delivered summary covers.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Mapping

from ..schema import SummaryRecord
from . import _segments

__all__ = [
    "WANT",
    "derive",
    "mark_closed",
    "mark_sent",
    "pending_runs",
    "store_id",
    "unclosed_runs",
]

WANT = "INSERT OR IGNORE INTO run_summaries (run_id) VALUES (?)"
"""A run whose results are forwarded wants its summaries forwarded too."""


def store_id(conn: sqlite3.Connection) -> str:
    """The store's own id (made once, kept in ``evaltrace_meta``): every tracker on one store
    is one summary writer, whose summaries cover everything the store holds of a run."""
    conn.execute(
        "INSERT OR IGNORE INTO evaltrace_meta (key, value) VALUES ('store_id', ?)",
        (uuid.uuid4().hex,),
    )
    (value,) = conn.execute("SELECT value FROM evaltrace_meta WHERE key = 'store_id'").fetchone()
    return str(value)


def derive(
    conn: sqlite3.Connection, run_ids: Iterable[str], writer: str, *, closed: bool = False
) -> list[tuple[SummaryRecord, str, str | None]]:
    """Each run's summary, the resource its results were sent with and the capture mode of
    its first call (which the run row's metadata is), read inside the caller's transaction
    right after it folded the runs; runs without results are left out."""
    out: list[tuple[SummaryRecord, str, str | None]] = []
    for run_id in run_ids:
        row = conn.execute(
            "SELECT r.project_name, r.dataset_name, r.started_ns, r.ended_ns, r.num_results, "
            "r.metadata, m.aggregates, m.folded_upto, "
            "(SELECT x.call_id FROM results x WHERE x.run_id = r.run_id AND x.id >= "
            " (SELECT min(g.start_id) FROM run_segments g WHERE g.run_id = r.run_id) "
            " ORDER BY x.id LIMIT 1) "
            "FROM runs r JOIN run_metrics m ON m.run_id = r.run_id WHERE r.run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            continue
        project, dataset, started, ended, count, metadata, aggregates, upto, call_id = row
        first = conn.execute(
            "SELECT s.attributes, c.capture FROM calls c JOIN resources s ON s.id = c.resource_id "
            "WHERE c.id = ?",
            (call_id,),
        ).fetchone()
        resource, capture = first if first is not None else (None, None)
        out.append(
            (
                SummaryRecord(
                    run_id=run_id,
                    project_name=project,
                    dataset_name=dataset,
                    writer=writer,
                    seq=upto,
                    num_results=count,
                    started_ns=started,
                    ended_ns=ended,
                    metadata_json=metadata,
                    aggregates_json=aggregates,
                    closed=closed,
                ),
                resource or "{}",
                capture,
            )
        )
    return out


_PENDING = f"""
SELECT run_id FROM run_summaries s WHERE EXISTS (
    SELECT 1 FROM run_segments g CROSS JOIN results x ON x.id >= max(g.start_id, s.sent_upto + 1)
        AND x.id < {_segments.end_of("g")} AND +x.run_id = s.run_id
    WHERE g.run_id = s.run_id
        AND g.start_id >= {_segments.from_segment("s.run_id", "s.sent_upto")})
"""


def pending_runs(conn: sqlite3.Connection) -> list[str]:
    """Runs that want summaries and hold results no delivered summary covers (a tracker that
    died before sending, or before its collector acknowledged)."""
    rows = conn.execute(_PENDING).fetchall()
    return [run_id for (run_id,) in rows]


def mark_sent(conn: sqlite3.Connection, sent: Mapping[str, int]) -> None:
    """The collector acknowledged these summaries (run id -> seq)."""
    conn.executemany(
        "UPDATE run_summaries SET sent_upto = max(sent_upto, ?) WHERE run_id = ?",
        [(seq, run_id) for run_id, seq in sent.items()],
    )


def unclosed_runs(conn: sqlite3.Connection) -> tuple[list[str], int]:
    """Runs that want summaries and hold results after ``closed_upto`` (the last result row
    a delivered ``evaltrace sync`` closed), and the store's last result row: what a sync
    sends closed summaries of. Kept in ``evaltrace_meta``, so the layout is unchanged; the
    first sync of a store reads every result's run once."""
    row = conn.execute("SELECT value FROM evaltrace_meta WHERE key = 'closed_upto'").fetchone()
    upto = int(row[0]) if row is not None else 0
    (last,) = conn.execute("SELECT coalesce(max(id), 0) FROM results").fetchone()
    runs = conn.execute(
        "SELECT run_id FROM run_summaries WHERE run_id IN "
        "(SELECT DISTINCT run_id FROM results WHERE id > ?)",
        (upto,),
    ).fetchall()
    return [run_id for (run_id,) in runs], int(last)


def mark_closed(conn: sqlite3.Connection, upto: int) -> None:
    """A sync's closed summaries of every run up to result row ``upto`` were delivered."""
    conn.execute(
        "INSERT INTO evaltrace_meta (key, value) VALUES ('closed_upto', ?) "
        "ON CONFLICT (key) DO UPDATE SET value = max(CAST(value AS INTEGER), excluded.value)",
        (str(upto),),
    )
