"""Stores as earlier evaltrace versions left them on disk, made from one this version wrote."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def as_version_3_layout(store: Path) -> None:
    """The version 3 layout: the version, the ``(run_id, id)`` index, no run segments
    (checkpointed, so the database file alone holds it)."""
    conn = sqlite3.connect(store, isolation_level=None)
    try:
        conn.execute("UPDATE evaltrace_meta SET value = '3' WHERE key = 'version'")
        conn.execute("CREATE INDEX results_by_run ON results (run_id, id)")
        conn.execute("DROP TABLE run_segments")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def as_version_2_layout(store: Path) -> None:
    """The version 2 layout: version 3's, with the ``(trace_id, span_id)`` index and no rowid
    ranges in the outbox."""
    as_version_3_layout(store)
    conn = sqlite3.connect(store, isolation_level=None)
    try:
        conn.execute("UPDATE evaltrace_meta SET value = '2' WHERE key = 'version'")
        conn.execute("CREATE UNIQUE INDEX results_by_span ON results (trace_id, span_id)")
        conn.execute("ALTER TABLE outbox DROP COLUMN first_result")
        conn.execute("ALTER TABLE outbox DROP COLUMN last_result")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
