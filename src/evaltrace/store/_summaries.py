"""Run summaries derived from the store's rows: folding a run, and what its summary span says.

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

from .._codec import dumps, loads
from .._history import MetricAggregate, aggregate_lists, encode_aggregates, merge_encoded
from ..schema import SummaryRecord

__all__ = ["WANT", "derive", "fold_run", "mark_sent", "pending_runs", "store_id"]

WANT = "INSERT OR IGNORE INTO run_summaries (run_id) VALUES (?)"
"""A run whose results are forwarded wants its summaries forwarded too."""


def fold_run(conn: sqlite3.Connection, run_id: str) -> None:
    """Fold the scores of the run's results committed since its last folding into its one
    ``run_metrics`` row (inside the caller's transaction)."""
    row = conn.execute(
        "SELECT aggregates, folded_upto FROM run_metrics WHERE run_id = ?", (run_id,)
    ).fetchone()
    merged: dict[str, MetricAggregate] = {}
    upto = 0
    if row is not None:
        merge_encoded(merged, loads(row[0]))
        upto = row[1]
    fresh = conn.execute(
        "SELECT id, scores FROM results WHERE run_id = ? AND id > ? ORDER BY id", (run_id, upto)
    ).fetchall()
    if not fresh:
        return
    for path, agg in aggregate_lists(loads(s) for _, s in fresh).items():
        if path in merged:
            merged[path].merge(agg)
        else:
            merged[path] = agg
    conn.execute(
        "INSERT INTO run_metrics (run_id, aggregates, folded_upto) VALUES (?,?,?) "
        "ON CONFLICT (run_id) DO UPDATE SET aggregates = excluded.aggregates, "
        "folded_upto = excluded.folded_upto",
        (run_id, dumps(encode_aggregates(merged), "aggregates", None), fresh[-1][0]),
    )


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
    conn: sqlite3.Connection, run_ids: Iterable[str], writer: str
) -> list[tuple[SummaryRecord, str]]:
    """Fold each run, then read its summary and the resource its results were sent with
    (inside the caller's write transaction); runs without results are left out."""
    out: list[tuple[SummaryRecord, str]] = []
    for run_id in run_ids:
        fold_run(conn, run_id)
        row = conn.execute(
            "SELECT r.project_name, r.dataset_name, r.started_ns, r.ended_ns, r.num_results, "
            "r.metadata, m.aggregates, m.folded_upto, "
            "(SELECT s.attributes FROM results x JOIN calls c ON c.id = x.call_id "
            " JOIN resources s ON s.id = c.resource_id WHERE x.run_id = r.run_id "
            " ORDER BY x.id LIMIT 1) "
            "FROM runs r JOIN run_metrics m ON m.run_id = r.run_id WHERE r.run_id = ?",
            (run_id,),
        ).fetchone()
        if row is None:
            continue
        project, dataset, started, ended, count, metadata, aggregates, upto, resource = row
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
                ),
                resource or "{}",
            )
        )
    return out


def pending_runs(conn: sqlite3.Connection) -> list[str]:
    """Runs that want summaries and hold results no delivered summary covers (a tracker that
    died before sending, or before its collector acknowledged)."""
    rows = conn.execute(
        "SELECT run_id FROM run_summaries s WHERE "
        "(SELECT max(id) FROM results WHERE run_id = s.run_id) > s.sent_upto"
    ).fetchall()
    return [run_id for (run_id,) in rows]


def mark_sent(conn: sqlite3.Connection, sent: Mapping[str, int]) -> None:
    """The collector acknowledged these summaries (run id -> seq)."""
    conn.executemany(
        "UPDATE run_summaries SET sent_upto = max(sent_upto, ?) WHERE run_id = ?",
        [(seq, run_id) for run_id, seq in sent.items()],
    )
