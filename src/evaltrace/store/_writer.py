"""The commit point: one transaction per log call, and the outbox of traces to forward.

A log call returns only after ``StoreWriter.commit`` did: its results, its batch roots, its
run's row and (when the tracker forwards over OTLP) its outbox entries commit together or not
at all. The outbox methods lease, acknowledge, retry, expire and trim entries; several
processes may forward one store (a lease keeps them from sending the same trace at once; a
lease that runs out is re-sent: delivery is at-least-once).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Final

from .._codec import dumps, loads
from .._exceptions import StoreWriteError
from ..schema import SummaryRecord
from ..schema._aggregate import (
    MetricAggregate,
    aggregate_lists,
    encode_aggregates,
    merge_encoded,
)
from . import _segments, _summaries
from ._checkpoint import WAKE_PAGES, Checkpointer
from ._ddl import (
    UPGRADE_FROM_2,
    UPGRADE_FROM_3,
    UPGRADE_FROM_4,
    VERSION,
    atomic,
    connect_writer,
    store_version,
)
from ._holder import add_holder_column, holder, take_over
from ._kind import SPOOL, STORE, check_kind
from ._records import BatchRoot, CallRecord, ResultRow, StoredTrace

__all__ = ["LEASE_NS", "StoreWriter"]

_log = logging.getLogger("evaltrace")

LEASE_NS: Final = 60 * 10**9
"""How long a forwarder owns the outbox entries it is sending: past it, another may re-send
(at once when the holder's process is known to be gone: ``_holder``)."""
TAKE_OVER_EVERY_NS: Final = 5 * 10**9
"""How often a writer looks for leases of processes that are gone (at its first claim, then
at most this often)."""

_INSERT_CALL = """
INSERT INTO calls (run_id, project_name, dataset_name, metadata, context, link_trace_id,
    link_span_id, batch_id, batch_size, resource_id, capture) VALUES (?,?,?,?,?,?,?,?,?,?,?)
"""
_INSERT_RESULT = """
INSERT INTO results (call_id, run_id, trace_id, span_id, parent_span_id, start_ns, end_ns, seq,
    row, sample_id, result, data, link_trace_id, link_span_id, scores)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
"""
_INSERT_ROOT = """
INSERT INTO batch_roots (trace_id, span_id, call_id, chunk_start, chunk_size, start_ns, end_ns)
VALUES (?,?,?,?,?,?,?)
"""
# A run's row is written when a writer first meets the run, then only when its results are
# folded (``compact``): rewriting it at every commit cost one more 4 kB WAL frame per call
# (~16 us of a log() call, measured). Readers add the results committed since the folding.
_NEW_RUN = """
INSERT INTO runs (run_id, project_name, dataset_name, started_ns, ended_ns, num_results, metadata)
VALUES (?,?,?,?,?,0,?) ON CONFLICT (run_id) DO NOTHING
"""
_FOLD_RUN = """
UPDATE runs SET num_results = num_results + ?, started_ns = min(started_ns, ?),
    ended_ns = max(ended_ns, ?)
WHERE run_id = ?
"""
COMPACT_EVERY: Final = 256
"""Commits between two foldings of the results' scores into ``run_metrics`` (and at close)."""
_INSERT_OUTBOX = """
INSERT INTO outbox (trace_id, call_id, spans, enqueued_ns, not_before_ns, first_result,
    last_result, destination, holder) VALUES (?,?,?,?,?,?,?,?,?)
"""
_MINE = "(:destination IS NULL OR destination IN (:destination, ''))"
"""Entries for this writer's collector (and those of versions that named none); every entry
for a writer of no destination (``evaltrace sync``)."""
_CLAIM = f"""
UPDATE outbox SET not_before_ns = :lease, attempts = attempts + 1, holder = :holder
WHERE id IN (SELECT id FROM outbox WHERE not_before_ns <= :now AND {_MINE}
    ORDER BY id LIMIT :limit)
RETURNING id, trace_id, call_id, first_result, last_result
"""


def _blob(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


class StoreWriter:
    """The tracker's connection to its store (or spool): commits and the outbox."""

    def __init__(
        self, path: str, *, keep_delivered: bool = True, destination: str | None = None
    ) -> None:
        self.path = path
        self.keep_delivered = keep_delivered
        """False for a spool: delivered traces are deleted, the file holds only what is due."""
        self.destination = destination
        """The collector this writer's outbox entries are for (``_config.destination_key``):
        it claims and counts only those (and unnamed ones); None: every entry."""
        self._conn, version = connect_writer(path)
        self._lock = threading.Lock()
        self._resources: dict[str, int] = {}
        self._commits = 0
        self._unchecked = 0
        """Pages committed (estimated) since the checkpointer was last woken."""
        self._touched: set[str] = set()
        self._runs: set[str] = set()
        """Runs this writer has made sure have a row."""
        self._wanted: set[str] = set()
        """Runs known to want run-summary spans (``run_summaries``): registered once each."""
        self._looked_for_gone = -TAKE_OVER_EVERY_NS
        self._tail: tuple[str, int] | None = None
        """The run and rowid of the last result this writer committed: a call whose first row
        follows it directly continues its segment (``_segments``) without looking."""
        if version != VERSION:
            self._upgrade()
        try:
            with self._lock, atomic(self._conn) as conn:
                check_kind(conn, path, STORE if keep_delivered else SPOOL)
                add_holder_column(conn)
        except BaseException:
            self._conn.close()
            raise
        self._checkpointer = Checkpointer(path) if path != ":memory:" else None
        # Consecutive log() calls of one run usually share everything a calls row holds; they
        # then share the row: one 4 kB WAL frame less per log() commit (5.8 -> 4.8, measured
        # with wal_autocheckpoint=0), and less for readers to look up. Only in a store: a
        # spool's close deletes calls whose results were delivered, which another process
        # sharing the spool could do under a cached id.
        self._last_call: tuple[tuple[object, ...], int] | None = None

    def _resource_id(self, conn: sqlite3.Connection, attributes: str) -> int:
        known = self._resources.get(attributes)
        if known is None:
            conn.execute("INSERT OR IGNORE INTO resources (attributes) VALUES (?)", (attributes,))
            (known,) = conn.execute(
                "SELECT id FROM resources WHERE attributes = ?", (attributes,)
            ).fetchone()
            self._resources[attributes] = known
        return known

    def commit(
        self,
        call: CallRecord,
        results: Sequence[ResultRow],
        roots: Sequence[BatchRoot],
        *,
        forward: bool,
        leased: bool = True,
    ) -> dict[int, int]:
        """Store one log call whole, or raise ``StoreWriteError`` having stored nothing.

        With ``forward``, each trace also gets an outbox entry, leased to this process when
        ``leased`` (it sends them from memory), else due at once; returns trace id -> entry id.
        """
        outbox: dict[int, int] = {}
        link_trace, link_span = call.link if call.link else (None, None)
        run_id = call.run_id
        try:
            with self._lock, atomic(self._conn) as conn:
                values = (
                    run_id,
                    call.project_name,
                    call.dataset_name,
                    call.metadata_json,
                    call.context_json,
                    link_trace,
                    link_span,
                    call.batch_id,
                    call.batch_size,
                    self._resource_id(conn, call.resource_json),
                    call.capture,
                )
                cached = self._last_call
                if cached is not None and cached[0] == values:
                    call_id: int | None = cached[1]
                else:
                    call_id = conn.execute(_INSERT_CALL, values).lastrowid
                conn.executemany(
                    _INSERT_RESULT,
                    [
                        (
                            call_id,
                            run_id,
                            r.trace_id.to_bytes(16, "big"),
                            r.span_id.to_bytes(8, "big"),
                            None if r.parent_span_id is None else _blob(r.parent_span_id, 8),
                            r.start_ns,
                            r.end_ns,
                            r.seq,
                            r.row,
                            r.sample_id,
                            r.result_json,
                            r.data_json,
                            r.link[0] if r.link else None,
                            r.link[1] if r.link else None,
                            r.scores_json,
                        )
                        for r in results
                    ],
                )
                last = first_row = 0
                if results:  # before the roots: the results' rowids
                    (last,) = conn.execute("SELECT last_insert_rowid()").fetchone()
                    first_row = last - len(results) + 1
                    # In a spool another process may delete rows and SQLite reuse their ids:
                    # there, look every time.
                    if self._tail != (run_id, first_row - 1) or not self.keep_delivered:
                        conn.execute(_segments.MARK, {"first": first_row, "run": run_id})
                if roots:
                    conn.executemany(
                        _INSERT_ROOT,
                        [
                            (
                                _blob(b.trace_id, 16),
                                _blob(b.span_id, 8),
                                call_id,
                                b.chunk_start,
                                b.chunk_size,
                                b.start_ns,
                                b.end_ns,
                            )
                            for b in roots
                        ],
                    )
                if results and run_id not in self._runs:
                    first = min(r.start_ns for r in results)
                    conn.execute(
                        _NEW_RUN,
                        (
                            run_id,
                            call.project_name,
                            call.dataset_name,
                            first,
                            first,
                            call.metadata_json,
                        ),
                    )
                if forward:
                    outbox = self._enqueue(
                        conn,
                        call_id or 0,
                        first_row,
                        results,
                        roots,
                        leased,
                        self.destination or "",
                    )
                    if results and self.keep_delivered and run_id not in self._wanted:
                        conn.execute(_summaries.WANT, (run_id,))
            if results:
                self._runs.add(run_id)
                self._tail = (run_id, last)
                if forward and self.keep_delivered:
                    self._wanted.add(run_id)
            if self.keep_delivered and call.batch_id is None and call_id is not None:
                self._last_call = (values, call_id)  # committed: safe to refer to
        except BaseException as exc:  # Ctrl-C too: rolled back (``atomic``), the lock released
            self._resources.clear()  # an id this transaction inserted is gone with it
            if isinstance(exc, sqlite3.Error):
                raise StoreWriteError(
                    f"{self.path}: could not commit {len(results)} results ({exc}); nothing of "
                    "the call was stored"
                ) from exc
            raise
        self._touched.add(call.run_id)
        self._commits += 1
        if self._checkpointer is not None:
            # ~2 pages a commit (the table's and the file header's), plus the rows' bytes
            self._unchecked += (
                2 + sum(len(r.result_json) + len(r.data_json) for r in results) // 4096
            )
            if self._unchecked >= WAKE_PAGES:
                self._unchecked = 0
                self._checkpointer.wake()
        if self._commits % COMPACT_EVERY == 0:
            self.compact()
        return outbox

    @staticmethod
    def _enqueue(
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

    def _upgrade(self) -> None:
        """Upgrade a version 2, 3 or 4 store in one transaction: the layout, then (version 2)
        every run's scores are folded (v2 runs rows already count every result, so only
        ``folded_upto`` moves; v3 rows count as of their folding, as v4 rows do)."""
        with self._lock, atomic(self._conn) as conn:
            version = store_version(conn, self.path)
            if version == VERSION:  # another writer was first
                return
            earlier = (*(UPGRADE_FROM_2 if version == 2 else ()), *UPGRADE_FROM_3)
            for statement in (*(earlier if version < 4 else ()), *UPGRADE_FROM_4):
                conn.execute(statement)
            if version == 2:
                runs = [r for (r,) in conn.execute("SELECT run_id FROM runs")]
                self._fold(conn, runs, count=False)
        _log.info("evaltrace: upgraded the store %s to version %d", self.path, VERSION)

    def compact(self) -> None:
        """Fold the scores of the results committed since each touched run's last folding into
        its one ``run_metrics`` row, in one transaction (any writer may fold any run; readers
        add what is not folded yet, so a writer that dies before folding loses nothing)."""
        runs, self._touched = self._touched, set()
        try:
            with self._lock, atomic(self._conn) as conn:
                self._fold(conn, runs, count=True)
        except sqlite3.Error as exc:  # nothing is lost: readers add the unfolded results
            self._touched |= runs
            _log.warning("evaltrace: folding run aggregates in %s failed: %s", self.path, exc)

    @staticmethod
    def _fold(conn: sqlite3.Connection, runs: Iterable[str], *, count: bool) -> None:
        """Fold each run's results past ``folded_upto`` into its ``run_metrics`` row and, with
        ``count``, into its ``runs`` row (count, first and last start)."""
        for run_id in runs:
            row = conn.execute(
                "SELECT aggregates, folded_upto FROM run_metrics WHERE run_id = ?", (run_id,)
            ).fetchone()
            merged: dict[str, MetricAggregate] = {}
            upto = 0
            if row is not None:
                merge_encoded(merged, loads(row[0]))
                upto = row[1]
            fresh = _segments.select(conn, "id, scores, start_ns", run_id, upto)
            if not fresh:
                continue
            for path, agg in aggregate_lists(loads(f[1]) for f in fresh).items():
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
            if count:
                starts = [f[2] for f in fresh]
                conn.execute(_FOLD_RUN, (len(fresh), min(starts), max(starts), run_id))

    # -- run summaries (see _summaries) ------------------------------------------------------

    def store_id(self) -> str:
        """The store's id: the writer id of the summaries sent from it."""
        with self._lock, atomic(self._conn) as conn:
            return _summaries.store_id(conn)

    def summaries(
        self, run_ids: Iterable[str], writer: str
    ) -> list[tuple[SummaryRecord, str, str | None]]:
        """Fold these runs, then derive their summaries (with the resource their results were
        sent with and the capture mode of the run's first call), in one transaction."""
        runs = list(run_ids)
        with self._lock, atomic(self._conn) as conn:
            self._fold(conn, runs, count=True)
            return _summaries.derive(conn, runs, writer)

    def pending_summaries(self) -> list[str]:
        """Runs whose latest results no delivered summary covers."""
        with self._lock:
            return _summaries.pending_runs(self._conn)

    def summaries_sent(self, sent: dict[str, int]) -> None:
        """The collector acknowledged these summaries (run id -> seq)."""
        if sent:
            with self._lock, atomic(self._conn) as conn:
                _summaries.mark_sent(conn, sent)

    # -- the outbox ------------------------------------------------------------------------

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
            call = calls.get(call_id)
            if call is None:
                row = conn.execute(
                    "SELECT c.run_id, c.project_name, c.dataset_name, c.metadata, c.context, "
                    "c.link_trace_id, c.link_span_id, c.batch_id, c.batch_size, r.attributes, "
                    "c.capture "
                    "FROM calls c JOIN resources r ON r.id = c.resource_id WHERE c.id = ?",
                    (call_id,),
                ).fetchone()
                if row is None:
                    continue
                link = (row[5], row[6]) if row[5] and row[6] else None
                call = CallRecord(
                    row[0], row[1], row[2], row[3], row[4], link, row[7], row[8], row[9], row[10]
                )
                calls[call_id] = call
            trace = StoredTrace(outbox_id, int.from_bytes(trace_blob, "big"), call)
            for r in conn.execute(
                "SELECT span_id, parent_span_id, start_ns, end_ns, seq, row, sample_id, result, "
                "data, link_trace_id, link_span_id, scores FROM results WHERE id BETWEEN ? AND ? "
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
                f"SELECT count(*), total(spans) FROM outbox WHERE {_MINE}",
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

    def close(self) -> None:
        """Fold the run aggregates, then close the connection (a spool also forgets calls
        whose traces are all delivered)."""
        if self._checkpointer is not None:
            self._checkpointer.close()
        self.compact()
        with self._lock:
            if not self.keep_delivered:
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute(
                        "DELETE FROM calls WHERE id NOT IN (SELECT call_id FROM results) "
                        "AND id NOT IN (SELECT call_id FROM batch_roots)"
                    )
            self._conn.close()
