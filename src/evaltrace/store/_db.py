"""The SQLite layout of the embedded store, and the one way to open it.

``spans`` holds every exported span as OTLP-like rows (attributes, events and links as JSON),
so the store is a span store in its own right. Result spans also fill ``run_id``/``seq``
(indexed) and the ``runs`` table, whose cached ``summary`` is valid while ``summary_count``
equals ``num_results``: history reads cost per run, not per result.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic", "connect"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id TEXT NOT NULL,
    span_id TEXT NOT NULL,
    parent_span_id TEXT,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_ns INTEGER NOT NULL,
    end_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    attributes TEXT NOT NULL,
    events TEXT NOT NULL,
    links TEXT NOT NULL,
    resource TEXT NOT NULL,
    run_id TEXT,
    seq INTEGER,
    record TEXT,
    PRIMARY KEY (trace_id, span_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS spans_by_run ON spans (run_id, start_ns, seq) WHERE run_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    project_name TEXT NOT NULL,
    dataset_name TEXT NOT NULL,
    started_ns INTEGER NOT NULL,
    ended_ns INTEGER NOT NULL,
    num_results INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    summary TEXT,
    summary_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_start ON runs (project_name, started_ns);
"""


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating if needed) a store; WAL lets readers and the exporter thread overlap."""
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.executescript(SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(spans)")}
    if "record" not in columns:  # stores written before 0.1.0's record column
        conn.execute("ALTER TABLE spans ADD COLUMN record TEXT")
    return conn


@contextmanager
def atomic(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One transaction: everything inside commits together or not at all."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
