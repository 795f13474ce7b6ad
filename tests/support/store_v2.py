"""A store as evaltrace's version 2 left it on disk, made from one this version wrote."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def as_version_2_layout(store: Path) -> None:
    """The version 2 layout: the version, the ``(trace_id, span_id)`` index, no rowid ranges
    in the outbox (checkpointed, so the database file alone holds it)."""
    conn = sqlite3.connect(store, isolation_level=None)
    try:
        conn.execute("UPDATE evaltrace_meta SET value = '2' WHERE key = 'version'")
        conn.execute("CREATE UNIQUE INDEX results_by_span ON results (trace_id, span_id)")
        conn.execute("ALTER TABLE outbox DROP COLUMN first_result")
        conn.execute("ALTER TABLE outbox DROP COLUMN last_result")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
