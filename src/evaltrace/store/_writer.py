"""The commit point: one transaction per log call; the run folding and the summary ledger.

A log call returns only after ``StoreWriter.commit`` did: its results, its batch roots, its
run's row and (when the tracker forwards over OTLP) its outbox entries (``_outbox.enqueue``)
commit together or not at all. The outbox's own methods (lease, acknowledge, retry, bound)
are ``_outbox.Outbox``, reached as ``writer.outbox``.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
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
from . import _reviews, _score_columns, _segments, _summary_ledger
from ._checkpoint import WAKE_PAGES, Checkpointer
from ._ddl import (
    UPGRADE_FROM_2,
    UPGRADE_FROM_3,
    UPGRADE_FROM_4,
    UPGRADE_FROM_5,
    VERSION,
    atomic,
    connect_writer,
    store_version,
)
from ._holder import add_holder_column
from ._kind import SPOOL, STORE, check_kind
from ._outbox import Outbox, enqueue
from ._records import BatchRoot, CallRecord, ResultRow, ReviewRow

__all__ = ["StoreWriter"]

_log = logging.getLogger("evaltrace")

_INSERT_CALL = """
INSERT INTO calls (run_id, project_name, dataset_name, metadata, context, link_trace_id,
    link_span_id, batch_id, batch_size, resource_id, capture, provenance)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
"""
_INSERT_RESULT = """
INSERT INTO results (call_id, run_id, trace_id, span_id, parent_span_id, start_ns, end_ns, seq,
    row, sample_id, result, data, link_trace_id, link_span_id, scores, fingerprint)
VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
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
_HAS_ROOT = "SELECT 1 FROM batch_roots WHERE trace_id = ? AND span_id = ?"
COMPACT_EVERY: Final = 256
"""Commits between two foldings of the results' scores into ``run_metrics`` (and at close)."""


def _blob(value: int, size: int) -> bytes:
    return value.to_bytes(size, "big")


_SPREAD_KEY: Final = "aggregates_with_spread"
"""``evaltrace_meta`` key: every run's aggregate has ``m2`` and the value map (refolded once)."""
_ENTRY_WITH_SPREAD: Final = 11
"""Fields of an encoded aggregate entry since ``m2`` and the value map were kept (9 before)."""


class StoreWriter:
    """The tracker's connection to its store (or spool): commits, folding, run summaries."""

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
        self._tail: tuple[str, int] | None = None
        """The run and rowid of the last result this writer committed: a call whose first row
        follows it directly continues its segment (``_segments``) without looking."""
        if version != VERSION:
            self._upgrade()
        try:
            with self._lock, atomic(self._conn) as conn:
                check_kind(conn, path, STORE if keep_delivered else SPOOL)
                add_holder_column(conn)
                if keep_delivered:
                    conn.execute(_score_columns.CREATE)
                self._refold_without_spread(conn)
                if keep_delivered:  # reviews are a store's, never a spool's
                    _reviews.create(conn)
        except BaseException:
            self._conn.close()
            raise
        self._checkpointer = Checkpointer(path) if path != ":memory:" else None
        self.outbox = Outbox(
            path, self._conn, self._lock, keep_delivered=keep_delivered, destination=destination
        )
        """The outbox of this store (or spool), on this writer's connection."""
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
        return self.commit_parts(call, [(results, roots)], forward=forward, leased=leased)

    def commit_parts(
        self,
        call: CallRecord,
        parts: Iterable[tuple[Sequence[ResultRow], Sequence[BatchRoot]]],
        *,
        forward: bool,
        leased: bool = True,
    ) -> dict[int, int]:
        """``commit`` of a call handed over in parts (a large batch planned a few thousand
        rows at a time, each part whole traces): every part in the one transaction, so the
        call is still stored whole or not at all, while only one part is in memory. An error
        raised by the iterator (a bad row of a later part) rolls back every part."""
        outbox: dict[int, int] = {}
        run_id = call.run_id
        count = written = last = 0
        try:
            with self._lock, atomic(self._conn) as conn:
                call_id, values = self._call_row(conn, call)
                tail = self._tail
                for results, roots in parts:
                    part_last, part_outbox = self._insert(
                        conn, call, call_id, results, roots, forward, leased, tail
                    )
                    if results:
                        last, tail = part_last, (run_id, part_last)
                    outbox.update(part_outbox)
                    count += len(results)
                    written += sum(len(r.result_json) + len(r.data_json) for r in results)
            if count:
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
                    f"{self.path}: could not commit {call.batch_size or count or 1} results "
                    f"({exc}); nothing of the call was stored"
                ) from exc
            raise
        self._touched.add(call.run_id)
        self._commits += 1
        if self._checkpointer is not None:
            # ~2 pages a commit (the table's and the file header's), plus the rows' bytes
            self._unchecked += 2 + written // 4096
            if self._unchecked >= WAKE_PAGES:
                self._unchecked = 0
                self._checkpointer.wake()
        if self._commits % COMPACT_EVERY == 0:
            self.compact()
        return outbox

    def commit_imported(
        self, calls: Iterable[tuple[CallRecord, Sequence[ResultRow], Sequence[BatchRoot]]]
    ) -> tuple[int, int]:
        """Store calls read from a file (``evaltrace import``) in ONE transaction, all or
        nothing (an error raised by ``calls`` as it is read rolls everything back), skipping
        every span the store (or the file, earlier) holds already: a second import adds
        nothing. Not forwarded: the file's spans were sent where they came from.
        Returns (results added, results already held)."""
        added = held = 0
        runs: set[str] = set()
        known: set[bytes] = set()
        try:
            with self._lock, atomic(self._conn) as conn:
                for call, results, roots in calls:
                    if call.run_id not in runs:  # the run's spans held before this import
                        runs.add(call.run_id)
                        known.update(
                            bytes(t) + bytes(s)
                            for t, s in _segments.select(conn, "trace_id, span_id", call.run_id, 0)
                        )
                    fresh = []
                    for r in results:
                        key = _blob(r.trace_id, 16) + _blob(r.span_id, 8)
                        if key in known:
                            held += 1
                        else:
                            known.add(key)
                            fresh.append(r)
                    new_roots = []
                    for b in roots:
                        ids = (_blob(b.trace_id, 16), _blob(b.span_id, 8))
                        if (
                            ids[0] + ids[1] not in known
                            and not conn.execute(_HAS_ROOT, ids).fetchone()
                        ):
                            known.add(ids[0] + ids[1])
                            new_roots.append(b)
                    if fresh or new_roots:
                        call_id, _ = self._call_row(conn, call)
                        self._insert(conn, call, call_id, fresh, new_roots, False, False, None)
                        added += len(fresh)
                self._fold(conn, runs, count=True)
                if self.keep_delivered:
                    _score_columns.extend(conn, runs)
        except BaseException as exc:  # rolled back (``atomic``): nothing of the file is kept
            self._resources.clear()
            if isinstance(exc, sqlite3.Error):
                raise StoreWriteError(
                    f"{self.path}: could not import ({exc}); nothing was stored"
                ) from exc
            raise
        self._tail = None
        return added, held

    def _call_row(
        self, conn: sqlite3.Connection, call: CallRecord
    ) -> tuple[int | None, tuple[object, ...]]:
        """The call's row id (inserted, or the last call's when it is the same) and its values
        (what ``_last_call`` caches), in the caller's transaction."""
        link_trace, link_span = call.link if call.link else (None, None)
        values = (
            call.run_id,
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
            call.provenance,
        )
        cached = self._last_call
        if cached is not None and cached[0] == values:
            return cached[1], values
        return conn.execute(_INSERT_CALL, values).lastrowid, values

    def _insert(
        self,
        conn: sqlite3.Connection,
        call: CallRecord,
        call_id: int | None,
        results: Sequence[ResultRow],
        roots: Sequence[BatchRoot],
        forward: bool,
        leased: bool,
        tail: tuple[str, int] | None,
    ) -> tuple[int, dict[int, int]]:
        """One part of a call, in the caller's transaction (``tail``: the run and rowid of the
        last result committed before it); returns its last result's rowid (0 when it has
        none) and its outbox entries."""
        run_id = call.run_id
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
                    r.fingerprint,
                )
                for r in results
            ],
        )
        last = first_row = 0
        if results:  # before the roots: the results' rowids
            (last,) = conn.execute("SELECT last_insert_rowid()").fetchone()
            first_row = last - len(results) + 1
            # In a spool another process may delete rows and SQLite reuse their ids:
            # there, look every time. A later part follows its earlier one directly.
            if tail != (run_id, first_row - 1) or not self.keep_delivered:
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
                (run_id, call.project_name, call.dataset_name, first, first, call.metadata_json),
            )
        outbox: dict[int, int] = {}
        if forward:
            outbox = enqueue(
                conn, call_id or 0, first_row, results, roots, leased, self.destination or ""
            )
            if results and self.keep_delivered and run_id not in self._wanted:
                conn.execute(_summary_ledger.WANT, (run_id,))
        return last, outbox

    def review_target(self, run_id: str, sample_id: str) -> _reviews.ReviewTarget | None:
        """The result a review of ``sample_id`` in ``run_id`` is about, if the store holds it."""
        with self._lock:
            return _reviews.find_result(self._conn, run_id, sample_id)

    def commit_review(self, review: ReviewRow, *, forward: bool) -> ReviewRow:
        """Store one review (with ``forward``, its outbox entry, due now) in one transaction,
        or raise ``StoreWriteError`` having stored nothing; returns it with its ``seq``."""
        try:
            with self._lock, atomic(self._conn) as conn:
                return _reviews.insert(
                    conn, review, forward=forward, destination=self.destination or ""
                )
        except sqlite3.Error as exc:
            raise StoreWriteError(
                f"{self.path}: could not commit the review of {review.sample_id!r} ({exc}); "
                "nothing was stored"
            ) from exc

    def _upgrade(self) -> None:
        """Upgrade a version 2, 3, 4 or 5 store in one transaction: the layout, then (version 2)
        every run's scores are folded (v2 runs rows already count every result, so only
        ``folded_upto`` moves; v3 rows count as of their folding, as v4 rows do)."""
        with self._lock, atomic(self._conn) as conn:
            version = store_version(conn, self.path)
            if version == VERSION:  # another writer was first
                return
            earlier = (*(UPGRADE_FROM_2 if version == 2 else ()), *UPGRADE_FROM_3)
            for statement in (
                *(earlier if version < 4 else ()),
                *(UPGRADE_FROM_4 if version < 5 else ()),
                *UPGRADE_FROM_5,
            ):
                conn.execute(statement)
            if version == 2:
                runs = [r for (r,) in conn.execute("SELECT run_id FROM runs")]
                self._fold(conn, runs, count=False)
        _log.info("evaltrace: upgraded the store %s to version %d", self.path, VERSION)

    @classmethod
    def _refold_without_spread(cls, conn: sqlite3.Connection) -> None:
        """Once per store: refold the runs whose aggregates were stored before ``m2`` and the
        exact value map were kept (their history had no interval and sketched quantiles), from
        their results up to the same ``folded_upto``, so counts stay as they were."""
        if conn.execute(f"SELECT 1 FROM evaltrace_meta WHERE key = '{_SPREAD_KEY}'").fetchone():
            return
        stale = [
            (run_id, upto)
            for run_id, text, upto in conn.execute(
                "SELECT run_id, aggregates, folded_upto FROM run_metrics"
            )
            if any(len(entry) < _ENTRY_WITH_SPREAD for entry in loads(text))
        ]
        for run_id, upto in stale:
            rows = [r for r in _segments.select(conn, "id, scores", run_id, 0) if r[0] <= upto]
            merged = aggregate_lists(loads(r[1]) for r in rows)
            conn.execute(
                "UPDATE run_metrics SET aggregates = ? WHERE run_id = ?",
                (dumps(encode_aggregates(merged), "aggregates", None), run_id),
            )
        conn.execute(f"INSERT OR IGNORE INTO evaltrace_meta VALUES ('{_SPREAD_KEY}', '1')")
        if stale:
            _log.info("evaltrace: refolded %d runs' aggregates for their intervals", len(stale))

    def compact(self) -> None:
        """Fold the scores of the results committed since each touched run's last folding into
        its one ``run_metrics`` row, in one transaction (any writer may fold any run; readers
        add what is not folded yet, so a writer that dies before folding loses nothing)."""
        runs, self._touched = self._touched, set()
        try:
            with self._lock, atomic(self._conn) as conn:
                self._fold(conn, runs, count=True)
                if self.keep_delivered:  # a spool deletes delivered rows: no columns there
                    _score_columns.extend(conn, runs)
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

    # -- run summaries (see _summary_ledger) ------------------------------------------------------

    def store_id(self) -> str:
        """The store's id: the writer id of the summaries sent from it."""
        with self._lock, atomic(self._conn) as conn:
            return _summary_ledger.store_id(conn)

    def summaries(
        self, run_ids: Iterable[str], writer: str, *, closed: bool = False
    ) -> list[tuple[SummaryRecord, str, str | None]]:
        """Fold these runs, then derive their summaries (with the resource their results were
        sent with and the capture mode of the run's first call), in one transaction."""
        runs = list(run_ids)
        with self._lock, atomic(self._conn) as conn:
            self._fold(conn, runs, count=True)
            return _summary_ledger.derive(conn, runs, writer, closed=closed)

    def pending_summaries(self) -> list[str]:
        """Runs whose latest results no delivered summary covers."""
        with self._lock:
            return _summary_ledger.pending_runs(self._conn)

    def summaries_sent(self, sent: dict[str, int]) -> None:
        """The collector acknowledged these summaries (run id -> seq)."""
        if sent:
            with self._lock, atomic(self._conn) as conn:
                _summary_ledger.mark_sent(conn, sent)

    def unclosed_runs(self) -> tuple[list[str], int]:
        """Runs with results no delivered ``sync`` closed, and the store's last result row."""
        with self._lock:
            return _summary_ledger.unclosed_runs(self._conn)

    def runs_closed(self, upto: int) -> None:
        """A sync's closed summaries up to result row ``upto`` were delivered."""
        with self._lock, atomic(self._conn) as conn:
            _summary_ledger.mark_closed(conn, upto)

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
