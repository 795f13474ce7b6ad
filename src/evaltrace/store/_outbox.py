"""The outbox: committed traces waiting for the collector's acknowledgement.

The forwarder leases due entries (``claim``), acknowledges or retries them, and bounds the
backlog (``drop_overflow``); several processes may forward one store (a lease keeps them from
sending the same trace at once; a lease that runs out is re-sent: delivery is at-least-once).
Entries are written in the commit's own transaction (``enqueue``, called by ``_writer``); the
``Outbox`` shares the writer's connection and lock.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Final

from . import _reviews, _segments
from ._ddl import atomic
from ._holder import holder, take_over
from ._records import BatchRoot, CallRecord, ResultRow, ReviewRow, StoredTrace

__all__ = ["LEASE_NS", "Outbox", "enqueue"]

LEASE_NS: Final = 60 * 10**9
"""How long a forwarder owns the outbox entries it is sending: past it, another may re-send
(at once when the holder's process is known to be gone: ``_holder``)."""
TAKE_OVER_EVERY_NS: Final = 5 * 10**9
"""How often a writer looks for leases of processes that are gone (at its first claim, then
at most this often)."""

_INSERT_OUTBOX = """
INSERT INTO outbox (trace_id, call_id, spans, enqueued_ns, not_before_ns, first_result,
    last_result, destination, holder) VALUES (?,?,?,?,?,?,?,?,?)
"""
_FOR_THIS_COLLECTOR = "(:destination IS NULL OR destination IN (:destination, ''))"
"""Entries for this writer's collector (and those of versions that named none); every entry
for a writer of no destination (``evaltrace sync``)."""
_CLAIM = f"""
UPDATE outbox SET not_before_ns = :lease, attempts = attempts + 1, holder = :holder
WHERE id IN (SELECT id FROM outbox WHERE not_before_ns <= :now AND {_FOR_THIS_COLLECTOR}
    ORDER BY id LIMIT :limit)
RETURNING id, trace_id, call_id, first_result, last_result
"""


def _blob(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


def enqueue(
    conn: sqlite3.Connection,
    call_id: int,
    first_id: int,
    results: Sequence[ResultRow],
    roots: Sequence[BatchRoot],
    leased: bool,
    destination: str,
) -> dict[int, int]:
    """One outbox entry per trace of the call, naming its results' rowid range (they were
    just inserted in order in this transaction: consecutive, from ``first_id``); returns
    trace id -> entry id."""
    now = time.time_ns()
    due = now + LEASE_NS if leased else now
    ranges: dict[int, list[int]] = {}
    for i, r in enumerate(results):
        known = ranges.get(r.trace_id)
        if known is None:
            ranges[r.trace_id] = [first_id + i, first_id + i, 1]
        else:
            known[1] = first_id + i
            known[2] += 1
    for b in roots:
        ranges.setdefault(b.trace_id, [0, -1, 0])[2] += 1
    out: dict[int, int] = {}
    for trace_id, (lo, hi, spans) in ranges.items():
        out[trace_id] = conn.execute(
            _INSERT_OUTBOX,
            (_blob(trace_id, 16), call_id, spans, now, due, lo, hi, destination, holder()),
        ).lastrowid  # type: ignore[assignment]
    return out


class Outbox:
    """One store's (or spool's) outbox, for one collector (``destination``)."""

    def __init__(
        self,
        path: str,
        conn: sqlite3.Connection,
        lock: threading.Lock,
        *,
        keep_delivered: bool,
        destination: str | None,
    ) -> None:
        self.path = path
        """The store or spool file (named in warnings about what stays pending)."""
        self._conn = conn
        self._lock = lock
        self.keep_delivered = keep_delivered
        """False for a spool: delivered traces are deleted, the file holds only what is due."""
        self.destination = destination
        """The collector this outbox's entries are for (``_config.destination_key``): it claims
        and counts only those (and unnamed ones); None: every entry."""
        self._looked_for_gone = -TAKE_OVER_EVERY_NS

    def claim(self, limit: int, now_ns: int | None = None) -> list[StoredTrace]:
        """Lease up to ``limit`` due outbox entries and load their traces."""
        now = time.time_ns() if now_ns is None else now_ns
        with self._lock, atomic(self._conn) as conn:
            self._take_over(conn, now)
            claimed = conn.execute(
                _CLAIM,
                {
                    "lease": now + LEASE_NS,
                    "now": now,
                    "limit": limit,
                    "destination": self.destination,
                    "holder": holder(),
                },
            ).fetchall()
            return self._load(conn, claimed)

    def _take_over(self, conn: sqlite3.Connection, now: int) -> None:
        """Make the entries leased by processes that are gone due now (``_holder``); looked
        at once every ``TAKE_OVER_EVERY`` at most."""
        if now - self._looked_for_gone < TAKE_OVER_EVERY_NS:
            return
        self._looked_for_gone = now
        take_over(conn, now)

    def _load(
        self, conn: sqlite3.Connection, claimed: Iterable[tuple[int, bytes, int, int, int]]
    ) -> list[StoredTrace]:
        calls: dict[int, CallRecord] = {}
        traces: list[StoredTrace] = []
        for outbox_id, trace_blob, call_id, first_result, last_result in claimed:
            if call_id == 0:  # no call: a review's entry (``_reviews``)
                review = _reviews.load(conn, outbox_id)
                if review is not None:
                    traces.append(self._review_trace(outbox_id, review))
                    continue
            call = calls.get(call_id)
            if call is None:
                row = conn.execute(
                    "SELECT c.run_id, c.project_name, c.dataset_name, c.metadata, c.context, "
                    "c.link_trace_id, c.link_span_id, c.batch_id, c.batch_size, r.attributes, "
                    "c.capture, c.provenance "
                    "FROM calls c JOIN resources r ON r.id = c.resource_id WHERE c.id = ?",
                    (call_id,),
                ).fetchone()
                if row is None:
                    continue
                link = (row[5], row[6]) if row[5] and row[6] else None
                call = CallRecord(
                    row[0],
                    row[1],
                    row[2],
                    row[3],
                    row[4],
                    link,
                    row[7],
                    row[8],
                    row[9],
                    row[10],
                    row[11],
                )
                calls[call_id] = call
            trace = StoredTrace(outbox_id, int.from_bytes(trace_blob, "big"), call)
            for r in conn.execute(
                "SELECT span_id, parent_span_id, start_ns, end_ns, seq, row, sample_id, result, "
                "data, link_trace_id, link_span_id, scores, fingerprint FROM results "
                "WHERE id BETWEEN ? AND ? "
                "AND trace_id = ? ORDER BY id",
                (first_result, last_result, trace_blob),
            ):
                trace.results.append(
                    ResultRow(
                        trace.trace_id,
                        int.from_bytes(r[0], "big"),
                        None if r[1] is None else int.from_bytes(r[1], "big"),
                        r[2],
                        r[3],
                        r[4],
                        r[5],
                        r[6],
                        r[7],
                        r[8],
                        (r[9], r[10]) if r[9] and r[10] else None,
                        r[11],
                        r[12],
                    )
                )
            root = conn.execute(
                "SELECT span_id, chunk_start, chunk_size, start_ns, end_ns FROM batch_roots "
                "WHERE trace_id = ?",
                (trace_blob,),
            ).fetchone()
            if root is not None:
                trace.root = BatchRoot(trace.trace_id, int.from_bytes(root[0], "big"), *root[1:])
            traces.append(trace)
        return traces

    @staticmethod
    def _review_trace(outbox_id: int, review: ReviewRow) -> StoredTrace:
        """A review's entry as a trace of one span: the call holds what its span shares."""
        call = CallRecord(
            review.run_id,
            review.project_name,
            "",
            "{}",
            "{}",
            None,
            None,
            None,
            review.resource_json,
            review.capture,
        )
        return StoredTrace(outbox_id, review.result_trace_id, call, review=review)

    def outbox_ids(self, trace_ids: Iterable[int]) -> dict[int, int]:
        """Outbox entry ids of these traces (those still pending)."""
        blobs = [_blob(t, 16) for t in trace_ids]
        out: dict[int, int] = {}
        with self._lock:
            for start in range(0, len(blobs), 500):
                chunk = blobs[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for outbox_id, blob in self._conn.execute(
                    f"SELECT id, trace_id FROM outbox WHERE trace_id IN ({marks})", chunk
                ):
                    out[int.from_bytes(blob, "big")] = outbox_id
        return out

    def acknowledge(self, outbox_ids: Sequence[int]) -> None:
        """The collector accepted these traces: drop them from the outbox (and, in a spool,
        drop the traces themselves)."""
        if not outbox_ids:
            return
        with self._lock, atomic(self._conn) as conn:
            for start in range(0, len(outbox_ids), 500):
                chunk = list(outbox_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                if not self.keep_delivered:
                    self._forget(conn, f"id IN ({marks})", chunk)
                conn.execute(f"DELETE FROM outbox WHERE id IN ({marks})", chunk)

    def make_all_due(self) -> None:
        """Every entry due now, leases included (``evaltrace sync`` was asked to send now; a
        process still sending one of them makes it a duplicate, which readers drop)."""
        with self._lock, atomic(self._conn) as conn:
            conn.execute("UPDATE outbox SET not_before_ns = 0")

    def retry_later(self, outbox_ids: Sequence[int], not_before_ns: int) -> None:
        """A send failed: these entries are due again at ``not_before_ns``."""
        with self._lock, atomic(self._conn) as conn:
            conn.executemany(
                "UPDATE outbox SET not_before_ns = ? WHERE id = ?",
                [(not_before_ns, i) for i in outbox_ids],
            )

    def drop_overflow(self, max_spans: int, max_age_ns: int) -> dict[str, int]:
        """Bound the backlog: drop entries older than ``max_age_ns``, then the oldest ones past
        ``max_spans`` pending spans. Returns spans dropped per reason."""
        dropped = {"outbox_expired": 0, "outbox_full": 0}
        now = time.time_ns()
        with self._lock, atomic(self._conn) as conn:
            (expired,) = conn.execute(
                "SELECT total(spans) FROM outbox WHERE enqueued_ns < ?", (now - max_age_ns,)
            ).fetchone()
            if expired:
                self._drop(conn, "enqueued_ns < ?", (now - max_age_ns,))
                dropped["outbox_expired"] = int(expired)
            (pending,) = conn.execute("SELECT total(spans) FROM outbox").fetchone()
            if pending > max_spans:
                excess, cut = int(pending) - max_spans, 0
                ids = []
                for outbox_id, spans in conn.execute("SELECT id, spans FROM outbox ORDER BY id"):
                    if cut >= excess:
                        break
                    ids.append(outbox_id)
                    cut += spans
                for start in range(0, len(ids), 500):
                    chunk = ids[start : start + 500]
                    self._drop(conn, f"id IN ({','.join('?' * len(chunk))})", chunk)
                dropped["outbox_full"] = cut
        return dropped

    def _drop(self, conn: sqlite3.Connection, where: str, params: Sequence[object]) -> None:
        if not self.keep_delivered:  # a spool's dropped traces are gone: say so, then drop
            self._forget(conn, where, params)
        conn.execute(f"DELETE FROM outbox WHERE {where}", params)

    @staticmethod
    def _forget(conn: sqlite3.Connection, where: str, params: Sequence[object]) -> None:
        """Delete the traces of the outbox entries matching ``where`` (results by the rowid
        range each entry names, roots by trace id)."""
        entries = conn.execute(
            f"SELECT trace_id, first_result, last_result FROM outbox WHERE {where}", params
        ).fetchall()
        conn.executemany(
            "DELETE FROM results WHERE id BETWEEN ? AND ? AND trace_id = ?",
            [(lo, hi, blob) for blob, lo, hi in entries],
        )
        conn.executemany(
            "DELETE FROM batch_roots WHERE trace_id = ?", [(blob,) for blob, _, _ in entries]
        )
        conn.execute(_segments.FORGET_STALE)

    def pending(self, blocking: bool = True) -> tuple[int, int] | None:
        """Outbox entries (traces) for this writer's collector and the spans they hold; None
        when ``blocking`` is False and the connection is busy (a signal handler must not wait
        on a lock)."""
        if not self._lock.acquire(blocking):
            return None
        try:
            count, spans = self._conn.execute(
                f"SELECT count(*), total(spans) FROM outbox WHERE {_FOR_THIS_COLLECTOR}",
                {"destination": self.destination},
            ).fetchone()
        finally:
            self._lock.release()
        return int(count), int(spans)

    def pending_elsewhere(self) -> int:
        """Spans in the outbox for other collectors than this writer's (another tracker's
        backlog: ``evaltrace sync --endpoint`` sends them)."""
        if self.destination is None:
            return 0
        with self._lock:
            (spans,) = self._conn.execute(
                "SELECT total(spans) FROM outbox WHERE destination NOT IN (?, '')",
                (self.destination,),
            ).fetchone()
        return int(spans)
