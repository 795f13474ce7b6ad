"""Whether a file is a store or a spool: a spool deletes what it delivered, so a spool's
writer must never open a store (``evaltrace sync --spool`` on a store deleted its results).

The kind is kept in ``evaltrace_meta`` (key ``kind``), written when a file is new; older files
have none and are told by their rows: a store keeps results no outbox entry names any more
(delivered) and marks runs for summaries, a spool holds only what is pending.
"""

from __future__ import annotations

import sqlite3
from typing import Final

from .._exceptions import ConfigurationError

__all__ = ["SPOOL", "STORE", "check_kind"]

STORE: Final = "store"
SPOOL: Final = "spool"

_DELIVERED_RESULT = """
SELECT 1 FROM results r WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.trace_id = r.trace_id
    AND r.id BETWEEN o.first_result AND o.last_result) LIMIT 1
"""


def _legacy_kind(conn: sqlite3.Connection) -> str | None:
    """A file of an earlier release, told by its rows; None when it may be either."""
    if conn.execute("SELECT 1 FROM run_summaries LIMIT 1").fetchone():
        return STORE
    if conn.execute(_DELIVERED_RESULT).fetchone():
        return STORE
    return None


def check_kind(conn: sqlite3.Connection, path: str, want: str) -> None:
    """Refuse a store for a spool's writer (nothing touched); mark a new file with ``want``.
    Runs in the caller's transaction."""
    row = conn.execute("SELECT value FROM evaltrace_meta WHERE key = 'kind'").fetchone()
    kind: str | None = row[0] if row else None
    fresh = kind is None and not conn.execute("SELECT 1 FROM calls LIMIT 1").fetchone()
    if kind is None and not fresh and want == SPOOL:
        kind = _legacy_kind(conn)
    if want == SPOOL and kind == STORE:
        raise ConfigurationError(
            f"{path} is an evaltrace store, not a spool: a spool deletes what it delivered, so "
            "its results would be lost; it was left untouched (send a store's outbox without "
            "--spool / spool=)"
        )
    if row is None and (fresh or want == SPOOL):
        conn.execute("INSERT OR IGNORE INTO evaltrace_meta VALUES ('kind', ?)", (want,))
