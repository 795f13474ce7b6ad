"""Stores as earlier evaltrace versions left them on disk, made from one this version wrote."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def _rewrite(store: Path, *statements: str) -> None:
    """Run ``statements``, then checkpoint: the database file alone holds the old layout."""
    conn = sqlite3.connect(store, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def as_version_5_layout(store: Path) -> None:
    """The version 5 layout: results without fingerprints, calls without provenance."""
    _rewrite(
        store,
        "UPDATE evaltrace_meta SET value = '5' WHERE key = 'version'",
        "ALTER TABLE results DROP COLUMN fingerprint",
        "ALTER TABLE calls DROP COLUMN provenance",
    )


def as_version_4_layout(store: Path) -> None:
    """The version 4 layout: calls without the capture mode they were logged under."""
    as_version_5_layout(store)
    _rewrite(
        store,
        "UPDATE evaltrace_meta SET value = '4' WHERE key = 'version'",
        "ALTER TABLE calls DROP COLUMN capture",
    )


def as_version_3_layout(store: Path) -> None:
    """The version 3 layout: the version, the ``(run_id, id)`` index, no run segments."""
    as_version_4_layout(store)
    _rewrite(
        store,
        "UPDATE evaltrace_meta SET value = '3' WHERE key = 'version'",
        "CREATE INDEX results_by_run ON results (run_id, id)",
        "DROP TABLE run_segments",
        "ALTER TABLE outbox DROP COLUMN destination",
    )


def as_version_2_layout(store: Path) -> None:
    """The version 2 layout: version 3's, with the ``(trace_id, span_id)`` index and no rowid
    ranges in the outbox."""
    as_version_3_layout(store)
    _rewrite(
        store,
        "UPDATE evaltrace_meta SET value = '2' WHERE key = 'version'",
        "CREATE UNIQUE INDEX results_by_span ON results (trace_id, span_id)",
        "ALTER TABLE outbox DROP COLUMN first_result",
        "ALTER TABLE outbox DROP COLUMN last_result",
    )
